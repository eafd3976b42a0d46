//! EnOS Log In: request checks, the account lookup, and the failed-login lockout.
//!
//! Order of checks: body shape (30400) → LDAP link (30404) → lockout of account or client IP
//! (30429) → principal and password (30400, counted as a failure for both) → disabled (30511) →
//! password expired (30410) → a new session. Only wrong principal/password count as failures, and a
//! success clears nothing: the window simply has to pass.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use serde_json::Value;

use super::state::EnosState;
use super::{Failure, Payload};

/// Failures (per account and per client IP) that lock logins out (assumed), by default.
const MAX_FAILURES: usize = 5;
/// How long a failure counts (assumed: 15 minutes).
const WINDOW_SECS: u64 = 15 * 60;
/// `expireInterval` bounds and default, seconds (documented: newer docs clamp to this range).
const MIN_EXPIRE: u64 = 900;
const MAX_EXPIRE: u64 = 864_000;
const DEFAULT_EXPIRE: u64 = 7200;
/// The failure table is swept of stale keys when it grows past this many.
const SWEEP_ABOVE: usize = 1024;

/// Recent failed logins, by account key and by client-IP key.
#[derive(Debug)]
pub(crate) struct Lockout {
    failures: HashMap<String, VecDeque<u64>>,
    max_failures: usize,
}

impl Default for Lockout {
    fn default() -> Self {
        Self::new(MAX_FAILURES)
    }
}

/// The parts of a Log In body the simulator uses.
#[derive(Debug, PartialEq, Eq)]
struct LoginRequest {
    auth_type: u8,
    link_name: Option<String>,
    principal: String,
    credentials: String,
    client_ip: Option<String>,
    expires: u64,
}

// === impl EnosState ===

impl EnosState {
    /// `login`: see the module docs for the order of checks.
    pub(crate) fn login(&self, body: &[u8], peer: IpAddr) -> Result<Payload, Failure> {
        let req = LoginRequest::parse(body).ok_or(Failure::BadCredentials)?;
        if let Some(link) = &req.link_name
            && self.directory.ldap_link(link).is_none()
        {
            return Err(Failure::LinkNotFound);
        }
        let now = self.clock.now_secs();
        let keys = [
            format!(
                "account:{}:{}:{}",
                req.auth_type,
                req.link_name.as_deref().unwrap_or(""),
                req.principal
            ),
            format!(
                "ip:{}",
                req.client_ip.clone().unwrap_or_else(|| peer.to_string())
            ),
        ];
        let mut lockout = self.lockout.lock().unwrap_or_else(|e| e.into_inner());
        if lockout.is_locked(&keys, now) {
            return Err(Failure::TooManyFailures);
        }
        let account = (self.directory)
            .account_index(req.auth_type, req.link_name.as_deref(), &req.principal)
            .and_then(|i| Some((i, self.directory.accounts.get(i)?)))
            .filter(|(_, a)| a.credentials == req.credentials);
        let Some((index, account)) = account else {
            lockout.record_failure(&keys, now);
            return Err(Failure::BadCredentials);
        };
        drop(lockout);
        if account.state != 0 {
            return Err(Failure::Disabled);
        }
        if account.password_expired {
            return Err(Failure::PasswordExpired);
        }
        tracing::info!(auth_type = req.auth_type, "enos login");
        Ok(self.create_session(index, req.expires))
    }
}

// === impl LoginRequest ===

impl LoginRequest {
    /// `None` for anything that is not a Log In body with the mandatory fields: `authType` (0 or
    /// 1), `principal`, `credentials`, and for LDAP a non-empty `linkName`. The vendor sample sends
    /// `"linkName": ""` with authType 0, so an empty link means "none" there.
    fn parse(body: &[u8]) -> Option<Self> {
        let body: Value = serde_json::from_slice(body).ok()?;
        let text = |key: &str| match body.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let auth_type = u8::try_from(body.get("authType")?.as_u64()?).ok()?;
        let link_name = match auth_type {
            0 => None,
            1 => Some(text("linkName")?),
            _ => return None,
        };
        let expires = match body.get("expireInterval") {
            None | Some(Value::Null) => DEFAULT_EXPIRE,
            Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
                (Some(secs), _) => secs.clamp(MIN_EXPIRE, MAX_EXPIRE),
                (None, Some(_negative)) => MIN_EXPIRE,
                (None, None) => return None,
            },
            Some(_) => return None,
        };
        Some(Self {
            auth_type,
            link_name,
            principal: text("principal")?,
            credentials: match body.get("credentials")? {
                Value::String(s) => s.clone(),
                _ => return None,
            },
            client_ip: text("clientIp"),
            expires,
        })
    }
}

// === impl Lockout ===

impl Lockout {
    pub(crate) fn new(max_failures: usize) -> Self {
        Self {
            failures: HashMap::new(),
            max_failures,
        }
    }

    /// Whether any of `keys` has `max_failures` failures within the window.
    fn is_locked(&mut self, keys: &[String], now: u64) -> bool {
        let max = self.max_failures;
        keys.iter().any(|key| {
            self.failures.get_mut(key).is_some_and(|times| {
                prune(times, now);
                times.len() >= max
            })
        })
    }

    fn record_failure(&mut self, keys: &[String], now: u64) {
        if self.failures.len() > SWEEP_ABOVE {
            self.failures.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
        }
        for key in keys {
            let times = self.failures.entry(key.clone()).or_default();
            prune(times, now);
            times.push_back(now);
            // Only the newest `max_failures` can lock: older ones need not be kept.
            if times.len() > self.max_failures {
                times.pop_front();
            }
        }
    }
}

/// Drops failures older than the window (oldest first, so stop at the first recent one).
fn prune(times: &mut VecDeque<u64>, now: u64) {
    while times
        .front()
        .is_some_and(|&t| now.saturating_sub(t) >= WINDOW_SECS)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Option<LoginRequest> {
        LoginRequest::parse(body.as_bytes())
    }

    #[test]
    fn parses_the_vendor_sample_shape() {
        let req = parse(
            r#"{"authType":0,"linkName":"","credentials":"pw","principal":"me","keyId":"k",
                "captcha":"c","clientIp":"1.1.1.1","expireInterval":3600}"#,
        )
        .unwrap();
        assert_eq!(
            req,
            LoginRequest {
                auth_type: 0,
                link_name: None,
                principal: "me".into(),
                credentials: "pw".into(),
                client_ip: Some("1.1.1.1".into()),
                expires: 3600,
            }
        );
    }

    #[test]
    fn clamps_and_defaults_the_expire_interval() {
        let with = |v: &str| {
            parse(&format!(
                r#"{{"authType":0,"principal":"a","credentials":"b","expireInterval":{v}}}"#
            ))
            .map(|r| r.expires)
        };
        assert_eq!(with("null"), Some(DEFAULT_EXPIRE));
        assert_eq!(with("1"), Some(MIN_EXPIRE));
        assert_eq!(with("-5"), Some(MIN_EXPIRE));
        assert_eq!(with("99999999999"), Some(MAX_EXPIRE));
        assert_eq!(with("1000"), Some(1000));
        assert_eq!(with("1.5"), None);
        assert_eq!(with("\"3600\""), None);
    }

    #[test]
    fn refuses_malformed_bodies() {
        for body in [
            "",
            "[]",
            r#"{"principal":"a","credentials":"b"}"#,
            r#"{"authType":2,"principal":"a","credentials":"b"}"#,
            r#"{"authType":"0","principal":"a","credentials":"b"}"#,
            r#"{"authType":0,"credentials":"b"}"#,
            r#"{"authType":0,"principal":"a"}"#,
            r#"{"authType":1,"principal":"a","credentials":"b"}"#,
            r#"{"authType":1,"linkName":"","principal":"a","credentials":"b"}"#,
        ] {
            assert_eq!(parse(body), None, "{body}");
        }
    }

    #[test]
    fn lockout_starts_at_five_failures_and_lifts_after_the_window() {
        let mut lockout = Lockout::default();
        let keys = ["account:x".to_owned(), "ip:y".to_owned()];
        for i in 0..MAX_FAILURES as u64 {
            assert!(!lockout.is_locked(&keys, 100 + i));
            lockout.record_failure(&keys, 100 + i);
        }
        assert!(lockout.is_locked(&keys, 104));
        assert!(lockout.is_locked(&["ip:y".to_owned()], 104));
        assert!(!lockout.is_locked(&["ip:z".to_owned()], 104));
        // The oldest failure (t=100) leaves the window at t=100+WINDOW: four remain.
        assert!(lockout.is_locked(&keys, 100 + WINDOW_SECS - 1));
        assert!(!lockout.is_locked(&keys, 100 + WINDOW_SECS));
    }
}
