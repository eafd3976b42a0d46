//! Net iD's login time: `2023-02-22 07:14:03 UTC` on output; that or ISO 8601 on input.

use idbridge_session::UnixTime;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::DecodeError;

const LOGIN_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range a four-digit year can write.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_799;

/// Formats an instant as the portal writes `DateTime`: `2023-02-22 07:14:03 UTC`.
///
/// Instants outside years 0000–9999 are clamped to that range: a rendering function on the
/// request path has no error to return, and no real login time is out there.
pub fn format_login_time(t: UnixTime) -> String {
    let secs = t.as_secs().clamp(MIN_SECS, MAX_SECS);
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|dt| dt.format(LOGIN_TIME).ok())
        .map(|s| s + " UTC")
        .unwrap_or_else(|| "1970-01-01 00:00:00 UTC".to_owned())
}

/// Parses the portal's `DateTime` (`2023-02-22 07:14:03 UTC`), RFC 3339, or ISO 8601; a time
/// without an offset is taken as UTC, which is what the portal documents for the field.
pub fn parse_login_time(text: &str) -> Result<UnixTime, DecodeError> {
    let text = text.trim();
    let plain = text.strip_suffix(" UTC").unwrap_or(text);
    let utc = PrimitiveDateTime::parse(plain, LOGIN_TIME)
        .map(PrimitiveDateTime::assume_utc)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .or_else(|_| PrimitiveDateTime::parse(text, &Iso8601::DEFAULT).map(|p| p.assume_utc()));
    utc.map(|dt| UnixTime(dt.unix_timestamp())).map_err(|_| {
        DecodeError::invalid("DateTime", "expected `YYYY-MM-DD hh:mm:ss UTC` or ISO 8601")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: i64 = 1_677_050_043; // 2023-02-22 07:14:03 UTC

    #[test]
    fn formats_like_the_vendor_sample() {
        assert_eq!(
            format_login_time(UnixTime(SAMPLE)),
            "2023-02-22 07:14:03 UTC"
        );
        assert_eq!(format_login_time(UnixTime(0)), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn extreme_instants_clamp_instead_of_failing() {
        assert_eq!(
            format_login_time(UnixTime(i64::MAX)),
            "9999-12-31 23:59:59 UTC"
        );
        assert_eq!(
            format_login_time(UnixTime(i64::MIN)),
            "0000-01-01 00:00:00 UTC"
        );
    }

    #[test]
    fn parses_the_portal_form_and_iso_8601() {
        for text in [
            "2023-02-22 07:14:03 UTC",
            "2023-02-22 07:14:03",
            "2023-02-22T07:14:03Z",
            "2023-02-22T08:14:03+01:00",
            "2023-02-22T07:14:03.000Z",
            "2023-02-22T07:14:03",
            " 2023-02-22 07:14:03 UTC ",
        ] {
            assert_eq!(parse_login_time(text), Ok(UnixTime(SAMPLE)), "{text}");
        }
    }

    #[test]
    fn rejects_garbage_without_echoing_it() {
        for text in [
            "",
            "yesterday",
            "2023-02-30 07:14:03 UTC",
            "2023-02-22 25:00:00 UTC",
        ] {
            let err = parse_login_time(text).unwrap_err();
            assert!(matches!(
                err,
                DecodeError::InvalidField {
                    field: "DateTime",
                    ..
                }
            ));
        }
        assert!(
            !parse_login_time("secret-ish")
                .unwrap_err()
                .to_string()
                .contains("secret")
        );
    }

    #[test]
    fn format_then_parse_is_identity() {
        for secs in [0, SAMPLE, 1_562_849_746, MAX_SECS] {
            let t = UnixTime(secs);
            assert_eq!(parse_login_time(&format_login_time(t)), Ok(t));
        }
    }
}
