//! The EnOS IAM face: Log In, Get Session Information, logout.

use idbridge_protocol::enos::{self as codec, EnosReply, LoginRequest};
use idbridge_session::{Backend, Session, UnixTime};

use std::sync::Arc;

use super::{Outcome, Request, fetch, fetch_error, finish_login, forward, logout_session, lookup};
use crate::error::Rejection;
use crate::metrics::login_outcome_enos;
use crate::respond::{self, ENOS_JSON, Kind, Reply};
use crate::route::{Face, Op};
use crate::state::State;

pub async fn handle(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    match req.op {
        Op::Login => login(state, req, now, outcome).await,
        Op::Status => {
            let Some(id) = bearer(req) else {
                return respond::rejected(Face::Enos, Op::Status, Rejection::Invalid, 0);
            };
            match lookup(state, id, 0, now, outcome).await {
                Ok(session) if crate::tokens::looks_like_jwt(id) => {
                    // A token holder never learns the backend session id: `session.id` echoes
                    // the token, which the gateway accepts wherever an id goes.
                    let mut shown = Session::clone(&session);
                    shown.id = idbridge_session::SessionId::new(id);
                    Reply::json(200, ENOS_JSON, &codec::session_info_response(&shown, now))
                }
                Ok(session) => {
                    Reply::json(200, ENOS_JSON, &codec::session_info_response(&session, now))
                }
                Err(e) => fetch_error(Face::Enos, Op::Status, &e, 0),
            }
        }
        // Forward-auth belongs to the unified face; the router never sends it here.
        Op::Auth => respond::bad_request(Face::Enos, "not an operation of this face"),
        Op::Logout => {
            let Some(id) = bearer(req) else {
                return respond::rejected(Face::Enos, Op::Logout, Rejection::Invalid, 0);
            };
            match logout_session(state, id, 0, outcome).await {
                Ok(()) => Reply::json(200, ENOS_JSON, &codec::logout_response()),
                Err(e) => fetch_error(Face::Enos, Op::Logout, &e, 0),
            }
        }
    }
}

/// Forwards the login untouched and returns the backend's answer byte for byte; a successful one
/// is normalised and cached on the way, so session/info is answered from the cache.
async fn login(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    outcome.backend = Some(Backend::ENOS);
    if let Err(e) = LoginRequest::decode(&req.body, &state.client_limits) {
        return respond::bad_request(Face::Enos, &e.to_string());
    }
    let raw = match forward(state, Backend::ENOS, req).await {
        Ok(raw) => raw,
        Err(e) => {
            state
                .metrics
                .logins
                .with_label_values(&["enos", "error"])
                .inc();
            return respond::upstream_error(Face::Enos, &e);
        }
    };
    let answer = if raw.status == 200 {
        codec::decode_response(&raw.body, &state.upstream_limits).ok()
    } else {
        None
    };
    let mut cached = None;
    let (login_outcome, kind) = match answer {
        Some(EnosReply::Success(payload)) => {
            match payload
                .get("session")
                .map(|s| codec::session_from_enos(s, now))
            {
                Some(Ok(session)) => cached = cache_after_login(state, session, now).await,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "EnOS login answer has an unusable session")
                }
                None => tracing::warn!("EnOS login answer has no session"),
            }
            ("success", Kind::Ok)
        }
        Some(EnosReply::Failure { code, .. }) => {
            (login_outcome_enos(Some(code.code())), Kind::Rejected)
        }
        None => {
            tracing::warn!(status = raw.status, "EnOS login answer not understood");
            ("error", Kind::Ok)
        }
    };
    finish_login(
        state,
        Backend::ENOS,
        raw,
        (login_outcome, kind),
        cached,
        now,
    )
}

/// The Log In answer lacks three user fields that session/info carries (`password_state`,
/// `password_strength`, `password_expire_time`; `password_state` 1 means "must change password"),
/// so the gateway asks session/info once and caches that. If the backend cannot answer, the
/// session from the login answer is cached instead: a partial answer beats a needless miss.
pub(super) async fn cache_after_login(
    state: &State,
    from_login: Session,
    now: UnixTime,
) -> Option<Arc<Session>> {
    let id = from_login.id.expose().to_owned();
    let session = match fetch::session(state, Backend::ENOS, &id, 0, now).await {
        Ok(full) => full,
        Err(e) => {
            tracing::warn!(error = %e, "session/info after EnOS login failed; caching the login answer");
            from_login
        }
    };
    state.cache.insert(session, now).await
}

fn bearer(req: &Request) -> Option<&str> {
    req.authorization
        .as_deref()
        .and_then(codec::parse_authorization)
}
