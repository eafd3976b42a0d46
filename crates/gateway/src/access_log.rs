//! The access log: one line per request, built straight into bytes and written in batches.
//!
//! Through `tracing`, an access line cost a fifth of a proxied request: eleven fields through the
//! JSON field visitor, a `Vec` per line and a channel send per line (benches/RESULTS.md). Here the
//! line is written by hand into a shared buffer, and a thread drains the buffer every
//! [`DRAIN_EVERY`] (sooner past [`DRAIN_AT`] bytes) in one write. The shape is the one `tracing`
//! wrote (the same keys, `"target":"idbridge::access"`), so log pipelines see no change.
//!
//! The `idbridge` command installs it ([`install`]) beside its `tracing` subscriber, writing into
//! the same writer so whole lines never interleave; where it is not installed (a library user,
//! the tests' in-process gateways) lines go through `tracing` as before. Either way the
//! configured filter decides (`idbridge::access` at `info`: `log.level = "warn"` turns it off).
//!
//! Nothing is lost: when the writer falls [`MAX_PENDING`] bytes behind, request threads wait for
//! it rather than drop lines. Only `log.access_sample` above 1 leaves lines out (it keeps one
//! `ok` line in that many, at random), and never one whose outcome is not `ok`.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a line may wait in the buffer.
pub const DRAIN_EVERY: Duration = Duration::from_millis(20);
/// A buffer this full is drained at once.
pub const DRAIN_AT: usize = 32 * 1024;
/// A buffer this full makes request threads wait for the writer.
pub const MAX_PENDING: usize = 4 * 1024 * 1024;

/// One request, as its access line tells it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub face: &'a str,
    pub backend: &'a str,
    pub operation: &'a str,
    pub outcome: &'a str,
    pub cache: Option<&'a str>,
    pub status: u16,
    pub latency_ms: f64,
    pub error: Option<&'a str>,
}

/// The two line formats of `log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Json,
    Text,
}

/// Writes the timestamp of a line (`2026-12-02T08:32:11.123456Z`).
pub type Stamp = fn(&mut String);

static SINK: OnceLock<Arc<Sink>> = OnceLock::new();

struct Sink {
    pending: Mutex<Pending>,
    /// Wakes the drain thread early (a full buffer, shutdown).
    wake: Condvar,
    /// Wakes request threads waiting for room.
    drained: Condvar,
    style: Style,
    stamp: Stamp,
    /// One `ok` line in this many is written.
    sample: u32,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    stop: bool,
}

/// Stops the drain thread and writes out what is pending, when dropped.
pub struct Guard {
    sink: Arc<Sink>,
    thread: Option<JoinHandle<()>>,
}

/// Installs the access log for this process, writing into `writer`. `None` if one is installed
/// already (the first stays).
pub fn install(
    writer: Box<dyn Write + Send>,
    style: Style,
    stamp: Stamp,
    sample: u64,
) -> Option<Guard> {
    let sink = Arc::new(Sink {
        pending: Mutex::new(Pending {
            buf: Vec::with_capacity(DRAIN_AT * 2),
            stop: false,
        }),
        wake: Condvar::new(),
        drained: Condvar::new(),
        style,
        stamp,
        sample: u32::try_from(sample.max(1)).unwrap_or(u32::MAX),
    });
    SINK.set(sink.clone()).ok()?;
    let drainer = sink.clone();
    let thread = std::thread::Builder::new()
        .name("idbridge-access".into())
        .spawn(move || drainer.drain(writer))
        .ok()?;
    Some(Guard {
        sink,
        thread: Some(thread),
    })
}

/// Logs `entry`, if the filter lets `idbridge::access` through at `info`.
pub fn record(entry: &Entry<'_>) {
    if !tracing::enabled!(target: "idbridge::access", tracing::Level::INFO) {
        return;
    }
    match SINK.get() {
        Some(sink) => sink.push(entry),
        None => tracing::info!(
            target: "idbridge::access",
            request_id = entry.request_id,
            method = entry.method,
            path = entry.path,
            face = entry.face,
            backend = entry.backend,
            operation = entry.operation,
            outcome = entry.outcome,
            cache = entry.cache,
            status = entry.status,
            latency_ms = entry.latency_ms,
            error = entry.error,
        ),
    }
}

thread_local! {
    /// The line being built on this thread; its capacity is kept from line to line.
    static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl Sink {
    fn push(&self, entry: &Entry<'_>) {
        if self.sample > 1 && entry.outcome == "ok" && !rand::random_ratio(1, self.sample) {
            return;
        }
        LINE.with_borrow_mut(|line| {
            line.clear();
            match self.style {
                Style::Json => json_line(line, self.stamp, entry),
                Style::Text => text_line(line, self.stamp, entry),
            }
            let mut pending = self.lock();
            while pending.buf.len() >= MAX_PENDING && !pending.stop {
                pending = self
                    .drained
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.buf.extend_from_slice(line.as_bytes());
            if pending.buf.len() >= DRAIN_AT {
                self.wake.notify_one();
            }
        });
    }

    /// The drain thread: every [`DRAIN_EVERY`], or sooner when woken, writes what is pending in
    /// one write; the spare buffer is swapped in so neither side allocates.
    fn drain(&self, mut writer: Box<dyn Write + Send>) {
        let mut spare = Vec::with_capacity(DRAIN_AT * 2);
        loop {
            let stop = {
                let mut pending = self.lock();
                if pending.buf.len() < DRAIN_AT && !pending.stop {
                    pending = self
                        .wake
                        .wait_timeout(pending, DRAIN_EVERY)
                        .map_or_else(|e| e.into_inner().0, |(g, _)| g);
                }
                std::mem::swap(&mut pending.buf, &mut spare);
                pending.stop
            };
            self.drained.notify_all();
            if !spare.is_empty() {
                // A log that cannot be written has nowhere to say so; the lines are dropped
                // rather than retried for ever.
                let _ = writer.write_all(&spare).and_then(|()| writer.flush());
                spare.clear();
                if spare.capacity() > MAX_PENDING {
                    spare.shrink_to(DRAIN_AT * 2);
                }
            }
            if stop && self.lock().buf.is_empty() {
                return;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("access_log::Guard")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.sink.lock().stop = true;
        self.sink.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The JSON line `tracing-subscriber` wrote (`json().flatten_event(true)`).
fn json_line(line: &mut String, stamp: Stamp, e: &Entry<'_>) {
    line.push_str("{\"timestamp\":\"");
    stamp(line);
    line.push_str("\",\"level\":\"INFO\"");
    json_str(line, "request_id", e.request_id);
    json_str(line, "method", e.method);
    json_str(line, "path", e.path);
    json_str(line, "face", e.face);
    json_str(line, "backend", e.backend);
    json_str(line, "operation", e.operation);
    json_str(line, "outcome", e.outcome);
    if let Some(cache) = e.cache {
        json_str(line, "cache", cache);
    }
    let _ = write!(line, ",\"status\":{},\"latency_ms\":", e.status);
    latency(line, e.latency_ms);
    if let Some(error) = e.error {
        json_str(line, "error", error);
    }
    line.push_str(",\"target\":\"idbridge::access\"}\n");
}

/// The text line `tracing-subscriber`'s default format wrote.
fn text_line(line: &mut String, stamp: Stamp, e: &Entry<'_>) {
    stamp(line);
    let _ = write!(
        line,
        "  INFO idbridge::access: request_id={} method={} path={:?} face={:?} backend={:?} \
         operation={:?} outcome={:?}",
        e.request_id, e.method, e.path, e.face, e.backend, e.operation, e.outcome
    );
    if let Some(cache) = e.cache {
        let _ = write!(line, " cache={cache:?}");
    }
    let _ = write!(line, " status={} latency_ms=", e.status);
    latency(line, e.latency_ms);
    if let Some(error) = e.error {
        let _ = write!(line, " error={error:?}");
    }
    line.push('\n');
}

/// Milliseconds to the microsecond (finer would be noise), as integers: `1.235`, `0.042`.
fn latency(line: &mut String, ms: f64) {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let micros = (ms * 1000.0).round().max(0.0) as u64;
    let _ = write!(line, "{}.{:03}", micros / 1000, micros % 1000);
}

/// `,"key":"value"`, the value escaped as JSON (RFC 8259 §7) without an allocation.
fn json_str(line: &mut String, key: &str, value: &str) {
    line.push_str(",\"");
    line.push_str(key);
    line.push_str("\":\"");
    let mut plain = 0;
    for (i, b) in value.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        line.push_str(&value[plain..i]);
        if escape.is_empty() {
            let _ = write!(line, "\\u{b:04x}");
        } else {
            line.push_str(escape);
        }
        plain = i + 1;
    }
    line.push_str(&value[plain..]);
    line.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(s: &mut String) {
        s.push_str("2026-12-02T08:32:11.123456Z");
    }

    fn entry() -> Entry<'static> {
        Entry {
            request_id: "r-1",
            method: "POST",
            path: "/a\"b",
            face: "enos",
            backend: "enos",
            operation: "status",
            outcome: "ok",
            cache: Some("hit"),
            status: 200,
            latency_ms: 1.234_567,
            error: None,
        }
    }

    #[test]
    fn json_lines_are_json_with_tracings_keys_in_its_order() {
        let mut line = String::new();
        json_line(&mut line, stamp, &entry());
        assert!(line.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "timestamp",
                "level",
                "request_id",
                "method",
                "path",
                "face",
                "backend",
                "operation",
                "outcome",
                "cache",
                "status",
                "latency_ms",
                "target"
            ]
        );
        assert_eq!(v["path"], "/a\"b");
        let mut odd = String::new();
        json_str(&mut odd, "k", "a\\b\n\u{1}é\"");
        let back: serde_json::Value = serde_json::from_str(&format!("{{{}}}", &odd[1..])).unwrap();
        assert_eq!(back["k"], "a\\b\n\u{1}é\"");
        assert_eq!(v["latency_ms"], 1.235);
        assert_eq!(v["target"], "idbridge::access");
    }

    #[test]
    fn text_lines_read_like_tracings() {
        let mut line = String::new();
        let mut e = entry();
        e.error = Some("ConnectRefused");
        text_line(&mut line, stamp, &e);
        assert_eq!(
            line,
            "2026-12-02T08:32:11.123456Z  INFO idbridge::access: request_id=r-1 method=POST \
             path=\"/a\\\"b\" face=\"enos\" backend=\"enos\" operation=\"status\" outcome=\"ok\" \
             cache=\"hit\" status=200 latency_ms=1.235 error=\"ConnectRefused\"\n"
        );
    }
}
