//! A logged-in GetLoginStatus answer rendered once per session, with its two per-call values left
//! open: `Count` (the caller's, echoed) and `IdleExpiration` (seconds left, which the clock moves).
//! Everything else in the answer is a function of the session alone, so a gateway that answers
//! the same session many times renders it once and then only splices two numbers in.
//!
//! The holes are found by rendering with two marker numbers and splitting the bytes where they
//! are. A marker is a twenty-digit number no real count or idle time reaches; should the session's
//! own data contain one, there is no template and the caller renders each answer whole.

use idbridge_session::{Session, UnixTime};

use super::LoginStatus;
use super::mapping::login_status_from_session;

/// Written where `Count` goes; near `u64::MAX`, which no client counts up to.
const COUNT_MARK: u64 = 18_446_744_073_709_551_557;
/// Written where `IdleExpiration` goes: 584 billion years.
const IDLE_MARK: u64 = 18_446_744_073_709_551_533;

/// The answer's bytes before `Count`'s value, between it and `IdleExpiration`'s, and after.
pub type StatusParts = [Vec<u8>; 3];

/// `session`'s logged-in GetLoginStatus answer as `encode` writes it, split around the two
/// per-call values; `None` for a session that is not logged in at `now` (its answer is the short
/// not-logged-in one) or whose data holds a marker.
pub fn status_template(
    session: &Session,
    now: UnixTime,
    encode: impl FnOnce(&LoginStatus) -> Vec<u8>,
) -> Option<StatusParts> {
    let mut status = login_status_from_session(session, COUNT_MARK, now);
    if status.is_logged_in != Some(true) {
        return None;
    }
    status.idle_expiration = Some(IDLE_MARK);
    let body = encode(&status);
    let count = COUNT_MARK.to_string();
    let idle = IDLE_MARK.to_string();
    let at_count = find_once(&body, count.as_bytes())?;
    let at_idle = find_once(&body, idle.as_bytes())?;
    if at_idle < at_count + count.len() {
        return None;
    }
    Some([
        body[..at_count].to_vec(),
        body[at_count + count.len()..at_idle].to_vec(),
        body[at_idle + idle.len()..].to_vec(),
    ])
}

/// The answer for one call: `parts` (from [`status_template`]) with `count` and `idle_secs`.
pub fn fill_status(parts: &[impl AsRef<[u8]>], count: u64, idle_secs: u64) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.as_ref().len()).sum();
    let mut out = Vec::with_capacity(len + 40);
    for (i, part) in parts.iter().enumerate() {
        match i {
            1 => out.extend_from_slice(count.to_string().as_bytes()),
            2 => out.extend_from_slice(idle_secs.to_string().as_bytes()),
            _ => {}
        }
        out.extend_from_slice(part.as_ref());
    }
    out
}

/// Where `needle` starts in `haystack`, if it occurs exactly once.
fn find_once(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let mut found = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::netid::{rest, session_from_login_status, soap};
    use idbridge_session::SessionId;

    const SAMPLE: &[u8] = include_bytes!("../../tests/data/netid-getloginstatus-response.json");
    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn session() -> Session {
        let status = rest::decode_login_status(SAMPLE, &Limits::default()).unwrap();
        session_from_login_status(&status, SessionId::new("c2Vzc2lvbi1pZA=="), NOW).unwrap()
    }

    #[test]
    fn a_filled_template_is_the_answer_rendered_whole() {
        let session = session();
        let later = UnixTime::from_secs(NOW.as_secs() + 7);
        for (encode, name) in [
            (
                rest::encode_login_status as fn(&LoginStatus) -> Vec<u8>,
                "rest",
            ),
            (
                |s: &LoginStatus| soap::encode_login_status(s).into_bytes(),
                "soap",
            ),
        ] {
            let parts = status_template(&session, NOW, encode).unwrap();
            for (count, now) in [(0, NOW), (41, later), (u64::from(u32::MAX), later)] {
                let whole = encode(&login_status_from_session(&session, count, now));
                let idle = session.idle_remaining(now).as_secs();
                assert_eq!(fill_status(&parts, count, idle), whole, "{name} {count}");
            }
        }
    }

    #[test]
    fn no_template_for_a_session_that_is_not_logged_in_or_holds_a_marker() {
        let session = session();
        let after = UnixTime::from_secs(session.expires_at.as_secs() + 1);
        assert!(status_template(&session, after, rest::encode_login_status).is_none());
        let mut marked = session.clone();
        marked.subject.name = format!("{IDLE_MARK}");
        assert!(status_template(&marked, NOW, rest::encode_login_status).is_none());
        marked.subject.name = format!("{COUNT_MARK}");
        assert!(status_template(&marked, NOW, rest::encode_login_status).is_none());
    }
}
