//! idbridge's own "unified" faces: one REST/JSON face ([`json`], served under `/idbridge/v1/`)
//! and one SOAP 1.1 face ([`soap`], served at `/idbridge/soap`), both backend-neutral.
//!
//! The native faces speak each backend's dialect; these speak the normalised
//! [`Session`](idbridge_session::Session) directly, so a client needs to learn one vocabulary
//! whichever backend holds the session. Both bindings render the same fields in the same order
//! and decode the same [`LoginRequest`]; the machine-readable contracts are
//! [`json::openapi`] (OpenAPI 3.1) and [`soap::wsdl`] (WSDL 1.1).
//!
//! Like the rest of the crate this is pure: the caller passes the current time, and renderers
//! never include the backend session id (a secret) or the backend's `extra` attributes.

mod login;

pub mod json;
pub mod soap;

pub use login::{Challenge, LoginRequest};

use idbridge_session::{AuthMethod, Backend, SubjectKind, UnixTime};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// RFC 3339 in UTC to the second, which is also a valid `xsd:dateTime`.
const INSTANT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: XSD has no year 0 and RFC 3339 no year 10000.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

/// Formats an instant as `2026-11-23T10:00:00Z`.
///
/// Instants outside years 0001–9999 are clamped: a renderer has no error to return, and no real
/// session time is out there.
pub(crate) fn instant(t: UnixTime) -> String {
    let secs = t.as_secs().clamp(MIN_SECS, MAX_SECS);
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|dt| dt.format(INSTANT).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Seconds as a signed 64-bit count (`xsd:long`, and what every JSON client can hold);
/// saturates, since a `Duration` can exceed it.
pub(crate) fn seconds(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

pub(crate) fn backend_name(b: Backend) -> &'static str {
    b.as_str()
}

pub(crate) fn kind_name(k: SubjectKind) -> &'static str {
    match k {
        SubjectKind::User => "user",
        SubjectKind::OrgOwner => "org_owner",
        SubjectKind::OrgAdmin => "org_admin",
    }
}

/// The LDAP link name is deliberately not shown: it names internal infrastructure.
pub(crate) fn auth_method_name(m: &AuthMethod) -> &'static str {
    match m {
        AuthMethod::Password => "password",
        AuthMethod::Ldap { .. } => "ldap",
        AuthMethod::Certificate => "certificate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_utc_seconds_and_clamped() {
        assert_eq!(instant(UnixTime(1_795_428_000)), "2026-11-23T10:00:00Z");
        assert_eq!(instant(UnixTime(0)), "1970-01-01T00:00:00Z");
        assert_eq!(instant(UnixTime(i64::MIN)), "0001-01-01T00:00:00Z");
        assert_eq!(instant(UnixTime(i64::MAX)), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn seconds_saturate() {
        assert_eq!(seconds(7_200), 7_200);
        assert_eq!(seconds(u64::MAX), i64::MAX);
    }
}
