//! The timestamp of every log line.
//!
//! The same text as `tracing-subscriber`'s default (RFC 3339, UTC, microseconds:
//! `2026-12-02T08:32:11.123456Z`), but the part up to the second is formatted once per second per
//! thread instead of once per line: formatting the date was 2.4 % of the instructions of a proxied
//! request (callgrind, benches/RESULTS.md), for a string that changes once a second.

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

const SECOND: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogClock;

thread_local! {
    /// The second last formatted on this thread, and its text.
    static FORMATTED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl FormatTime for LogClock {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let mut line = String::with_capacity(32);
        stamp(&mut line);
        w.write_str(&line)
    }
}

/// The timestamp, appended to `line` (the access log's lines take it from here too).
pub fn stamp(line: &mut String) {
    use std::fmt::Write as _;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    FORMATTED.with_borrow_mut(|(second, text)| {
        if *second != now.as_secs() {
            *second = now.as_secs();
            *text = format_second(now.as_secs());
        }
        let _ = write!(line, "{text}.{:06}Z", now.subsec_micros());
    });
}

fn format_second(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(SECOND).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(clock: impl FormatTime) -> String {
        let mut out = String::new();
        clock.format_time(&mut Writer::new(&mut out)).unwrap();
        out
    }

    #[test]
    fn same_text_as_the_default_timer() {
        let ours = render(LogClock);
        let theirs = render(tracing_subscriber::fmt::time::SystemTime);
        assert_eq!(ours.len(), theirs.len(), "{ours} vs {theirs}");
        // The same second (unless the test ran across a second boundary) and the same shape.
        assert_eq!(ours[..17], theirs[..17], "{ours} vs {theirs}");
        assert!(ours.ends_with('Z') && ours.as_bytes()[19] == b'.', "{ours}");
        assert_eq!(format_second(1_795_428_000), "2026-11-23T10:00:00");
    }
}
