//! EnOS sessions: the store, the `Authorization` rules, and the session-holding operations
//! (`session/info`, `logout`, `organization/info`). Login lives in `login.rs`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use axum::http::HeaderValue;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use super::login::Lockout;
use super::{Failure, Payload};
use crate::Clock;
use crate::directory::EnosDirectory;

/// Sessions are swept of expired ones when a login finds more than this many.
const SWEEP_ABOVE: usize = 1024;
const SESSION_ID_PREFIX: &str = "IAM_S_";
const SESSION_ID_RANDOM_LEN: usize = 128;

/// The EnOS simulator's state.
#[derive(Debug)]
pub(crate) struct EnosState {
    pub(super) directory: EnosDirectory,
    pub(super) clock: Clock,
    sessions: Mutex<HashMap<String, Session>>,
    pub(super) lockout: Mutex<Lockout>,
}

#[derive(Debug, Clone)]
pub(super) struct Session {
    /// Index into the directory's accounts.
    pub(super) account: usize,
    pub(super) create_time: u64,
    pub(super) refresh_time: u64,
    /// Lifetime in seconds, counted from `refresh_time`.
    pub(super) expires: u64,
    /// Logged out: the id is remembered until it would have expired, so that it is refused as
    /// "not valid" (30401, a revoked token) rather than "not found" (30404, never issued).
    pub(super) logged_out: bool,
}

// === impl EnosState ===

impl EnosState {
    pub(crate) fn new(directory: EnosDirectory, clock: Clock, lockout_failures: usize) -> Self {
        Self {
            directory,
            clock,
            sessions: Mutex::new(HashMap::new()),
            lockout: Mutex::new(Lockout::new(lockout_failures)),
        }
    }

    /// Stores a new session and answers the Log In payload for it.
    pub(super) fn create_session(&self, account: usize, expires: u64) -> Payload {
        let now = self.clock.now_secs();
        let id = new_session_id();
        let session = Session {
            account,
            create_time: now,
            refresh_time: now,
            expires,
            logged_out: false,
        };
        let json = self.session_json(&id, &session, false);
        let mut sessions = self.lock();
        if sessions.len() > SWEEP_ABOVE {
            sessions.retain(|_, s| !is_expired(s, now));
        }
        sessions.insert(id, session);
        vec![("session", json), ("captcha", Value::from(""))]
    }

    /// `session/info`: refreshes the session and answers it.
    pub(crate) fn session_info(&self, auth: Option<&HeaderValue>) -> Result<Payload, Failure> {
        let id = bearer(auth).ok_or(Failure::InvalidToken)?;
        let now = self.clock.now_secs();
        let mut sessions = self.lock();
        let session = live(&mut sessions, id, now)?;
        session.refresh_time = now;
        let session = session.clone();
        drop(sessions);
        Ok(vec![("session", self.session_json(id, &session, true))])
    }

    /// `logout`: ends the session.
    pub(crate) fn logout(&self, auth: Option<&HeaderValue>) -> Result<Payload, Failure> {
        let id = bearer(auth).ok_or(Failure::InvalidToken)?;
        let mut sessions = self.lock();
        live(&mut sessions, id, self.clock.now_secs())?.logged_out = true;
        Ok(Vec::new())
    }

    /// `organization/info`: needs a live session (not refreshed); body `{"id": orgId}`.
    pub(crate) fn organization_info(
        &self,
        auth: Option<&HeaderValue>,
        body: &[u8],
    ) -> Result<Payload, Failure> {
        let id = bearer(auth).ok_or(Failure::InvalidToken)?;
        live(&mut self.lock(), id, self.clock.now_secs())?;
        let request: Value = serde_json::from_slice(body).map_err(|_| Failure::BadRequest)?;
        let org_id = request
            .get("id")
            .and_then(Value::as_str)
            .ok_or(Failure::BadRequest)?;
        let org = self
            .directory
            .organization(org_id)
            .ok_or(Failure::OrganizationNotFound)?;
        Ok(vec![(
            "organization",
            json!({
                "id": org.id,
                "name": org.name,
                "domain": org.domain,
                "description": org.description,
            }),
        )])
    }

    /// The Session struct with exactly the vendor sample's keys. session/info's `user` carries the
    /// account's extra keys too (the session/info sample has four more than the Log In sample).
    fn session_json(&self, id: &str, session: &Session, for_info: bool) -> Value {
        let account = self.directory.accounts.get(session.account);
        let mut user = account.map(|a| a.user.clone()).unwrap_or_default();
        if for_info && let Some(a) = account {
            user.extend(a.session_info_user_extra.clone());
            user = in_info_order(user);
        }
        let org = |pick: fn(&crate::directory::EnosAccount) -> &serde_json::Map<String, Value>| {
            Value::Object(account.map(pick).cloned().unwrap_or_default())
        };
        json!({
            "workingOrganization": org(|a| &a.working_organization),
            "expires": session.expires,
            "createTime": session.create_time,
            "residentOrganization": org(|a| &a.resident_organization),
            "refreshTime": session.refresh_time,
            "id": id,
            "user": Value::Object(user),
        })
    }

    /// Plain data behind the lock; a panic elsewhere leaves it usable (see `Faults::lock`).
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The live session `id`; 30401 once logged out, 30404 when unknown or expired (an expired one is
/// removed on the way).
fn live<'s>(
    sessions: &'s mut HashMap<String, Session>,
    id: &str,
    now: u64,
) -> Result<&'s mut Session, Failure> {
    if sessions.get(id).is_some_and(|s| is_expired(s, now)) {
        sessions.remove(id);
    }
    match sessions.get_mut(id) {
        Some(s) if s.logged_out => Err(Failure::InvalidToken),
        Some(s) => Ok(s),
        None => Err(Failure::SessionNotFound),
    }
}

fn is_expired(session: &Session, now: u64) -> bool {
    now >= session.refresh_time.saturating_add(session.expires)
}

/// The session id an `Authorization` value carries: `Bearer <id>` (scheme case-insensitive) or the
/// bare id. `None` when missing, empty, or not of the session-id form: that is "the bearer token
/// is not valid" (30401), while a well-formed id nobody issued is "not found" (30404).
pub(crate) fn bearer(value: Option<&HeaderValue>) -> Option<&str> {
    let text = value?.to_str().ok()?.trim();
    let id = match text.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => text,
    };
    is_session_id(id).then_some(id)
}

fn is_session_id(id: &str) -> bool {
    id.strip_prefix(SESSION_ID_PREFIX).is_some_and(|rest| {
        rest.len() == SESSION_ID_RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// `IAM_S_` + 128 alphanumerics from the thread-local CSPRNG.
fn new_session_id() -> String {
    let random: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(SESSION_ID_RANDOM_LEN)
        .map(char::from)
        .collect();
    format!("{SESSION_ID_PREFIX}{random}")
}

/// The session/info sample's user keys, in its order (documented); the Log In sample has the
/// same order without the four `guestOrganizations` and `password_*` keys.
const INFO_USER_ORDER: [&str; 25] = [
    "guestOrganizations",
    "createdByUserId",
    "resourceId",
    "phoneVerified",
    "description",
    "type",
    "organizationId",
    "createdAt",
    "emailVerified",
    "phoneVerifiedAt",
    "phone",
    "createTime",
    "emailVerifiedAt",
    "mfaType",
    "password_strength",
    "password_state",
    "password_expire_time",
    "extra",
    "organization",
    "name",
    "phoneArea",
    "id",
    "state",
    "authType",
    "email",
];

/// `user` with the sample's keys in the sample's order, any others after them.
fn in_info_order(mut user: serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    let mut ordered = serde_json::Map::new();
    for key in INFO_USER_ORDER {
        if let Some(value) = user.shift_remove(key) {
            ordered.insert(key.to_owned(), value);
        }
    }
    ordered.extend(user);
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_have_the_documented_form_and_differ() {
        let a = new_session_id();
        let b = new_session_id();
        assert!(is_session_id(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn bearer_accepts_both_forms_and_refuses_malformed_values() {
        let id = new_session_id();
        let header = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(
            bearer(Some(&header(&format!("Bearer {id}")))),
            Some(id.as_str())
        );
        assert_eq!(
            bearer(Some(&header(&format!("bearer  {id} ")))),
            Some(id.as_str())
        );
        assert_eq!(bearer(Some(&header(&id))), Some(id.as_str()));
        for bad in [
            "",
            "Bearer ",
            "Bearer",
            "Basic abc",
            "IAM_S_short",
            &format!("{id}x"),
        ] {
            assert_eq!(bearer(Some(&header(bad))), None, "{bad:?}");
        }
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn sessions_expire_at_refresh_plus_lifetime() {
        let s = Session {
            account: 0,
            create_time: 0,
            refresh_time: 100,
            expires: 900,
            logged_out: false,
        };
        assert!(!is_expired(&s, 999));
        assert!(is_expired(&s, 1000));
    }
}
