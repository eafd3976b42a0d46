//! The EnOS IAM face: Log In, Get Session Information, logout, as an EnOS client sends them.
//!
//! Errors keep the EnOS form: the flat envelope with its code. A session that is not live is a
//! business error on HTTP 200 (30401 / 30404), as EnOS answers it; a failing backend is
//! 502/503/504/429 with the envelope, so no client can read it as "logged out".

use std::sync::Arc;

use bytes::Bytes;
use idbridge_protocol::Limits;
use idbridge_protocol::enos::{self as codec, CONTENT_TYPE, EnosCode, LoginRequest};
use idbridge_session::{Backend, Session, UnixTime};

use super::{
    Answer, Face, Intent, Login, Methods, Op, Request, RouteDecl, TOKEN_HEADER, account_key,
};
use crate::error::{GatewayError, LoginOutcome, Rejection};
use crate::memo::Memo;
use crate::reply::Reply;

pub const LOGIN: &str = "/enos-iam-service/v2.0/login";
pub const SESSION_INFO: &str = "/enos-iam-service/v2.0/session/info";
/// Everything under it belongs to EnOS: what the gateway does not intercept is proxied.
pub const PREFIX: &str = "/enos-iam-service/";

/// The EnOS face of one EnOS backend (its logins go there).
#[derive(Debug)]
pub struct EnosFace {
    backend: Backend,
    logout_path: String,
    memo: Memo,
}

// === impl EnosFace ===

impl EnosFace {
    pub fn new(backend: Backend, logout_path: &str) -> Self {
        Self {
            backend,
            logout_path: logout_path.to_owned(),
            memo: Memo::default(),
        }
    }

    /// Keeps each session's session/info answer in `memo`: nothing in it changes while the
    /// session is cached (`expires` is the lifetime, not a countdown).
    pub fn with_memo(self, memo: Memo) -> Self {
        Self { memo, ..self }
    }

    fn session_info(&self, session: &Arc<Session>, now: UnixTime) -> Reply {
        let render = || {
            let body = codec::to_vec(&codec::session_info_response(session, now));
            Some(vec![Bytes::from(body)])
        };
        let body = self
            .memo
            .get_or_render(session, render)
            .and_then(|parts| parts.first().cloned())
            .unwrap_or_default();
        Reply::new(200, CONTENT_TYPE, body)
    }
}

impl Face for EnosFace {
    fn name(&self) -> &'static str {
        "enos"
    }

    fn routes(&self) -> Vec<RouteDecl> {
        vec![
            RouteDecl::op(LOGIN, Methods::Post, Op::Login),
            RouteDecl::op(SESSION_INFO, Methods::Post, Op::Status),
            RouteDecl::op(self.logout_path.clone(), Methods::Post, Op::Logout),
        ]
    }

    fn decode(&self, op: Op, req: &Request, limits: &Limits) -> Result<Intent, GatewayError> {
        let credential = || {
            req.authorization
                .as_deref()
                .and_then(codec::parse_authorization)
                .map(str::to_owned)
        };
        match op {
            Op::Login => {
                // Checked here so that a malformed login never reaches the backend; the body
                // itself goes upstream untouched.
                let login = LoginRequest::decode(&req.body, limits)?;
                Ok(Intent::Login(Login::Native {
                    backend: self.backend,
                    account: Some(account_key("principal", &login.principal)),
                }))
            }
            Op::Status => Ok(Intent::Status {
                credential: credential(),
                count: None,
            }),
            Op::Logout => Ok(Intent::Logout {
                credential: credential(),
                count: None,
            }),
            Op::Authorize => Err(GatewayError::NoRoute),
        }
    }

    fn render(&self, intent: &Intent, answer: Answer, now: UnixTime) -> Reply {
        match answer {
            Answer::Session {
                session,
                token: Some(token),
            } => {
                // A token holder never learns the backend session id: `session.id` echoes the
                // token, the credential it already holds and which the gateway accepts wherever
                // an id goes (the renderer writes only EnOS ids, so it is set here).
                let mut v = codec::session_info_response(&session, now);
                v["session"]["id"] = token.into();
                enos_json(200, &v)
            }
            Answer::Session { session, .. } | Answer::LoggedIn { session, .. } => {
                self.session_info(&session, now)
            }
            Answer::NativeLogin { raw, token, .. } => {
                let reply = Reply::upstream(raw);
                match token {
                    Some(t) => reply.with_header(TOKEN_HEADER, t.token),
                    None => reply,
                }
            }
            Answer::LoggedOut => enos_json(200, &codec::logout_response()),
            Answer::Forwarded(raw) => Reply::upstream(raw),
            // Native logins are the backend's own, answered byte for byte above.
            Answer::Challenge(_) => self.error(
                &GatewayError::Internal("a unified challenge reached a native face"),
                Some(intent),
            ),
        }
    }

    fn error(&self, e: &GatewayError, _intent: Option<&Intent>) -> Reply {
        let (status, code) = match e {
            // Answered as EnOS itself would: a business error on HTTP 200.
            GatewayError::NotLoggedIn(Rejection::NotFound) => (200, EnosCode::NotFound),
            GatewayError::NotLoggedIn(_) => (200, EnosCode::InvalidToken),
            GatewayError::LoginRefused(outcome) => match login_code(*outcome) {
                Some(code) => (200, code),
                None => (e.http_status(), EnosCode::Other(i64::from(e.http_status()))),
            },
            // EnOS answers a body it cannot read as a failed Log In, on HTTP 200.
            GatewayError::BadRequest(_) => (200, EnosCode::BadCredentials),
            // As EnOS answers a locked-out account or address.
            GatewayError::Throttled { .. } => (200, EnosCode::TooManyAttempts),
            GatewayError::TooLarge { .. }
            | GatewayError::HeadersTooLarge { .. }
            | GatewayError::BodyTimeout
            | GatewayError::ReplayedCount
            | GatewayError::Upstream(_)
            | GatewayError::Unconfirmed
            | GatewayError::LogoutIncomplete(_)
            | GatewayError::NoRoute
            | GatewayError::BadPath(_)
            | GatewayError::MethodNotAllowed(_)
            | GatewayError::Internal(_) => {
                (e.http_status(), EnosCode::Other(i64::from(e.http_status())))
            }
        };
        let message = match e {
            GatewayError::NotLoggedIn(_) | GatewayError::LoginRefused(_) => code.message().into(),
            _ => e.public_message(),
        };
        enos_json(status, &codec::failure(code, &message))
    }
}

/// The EnOS code of a refused login, where EnOS has one.
fn login_code(outcome: LoginOutcome) -> Option<EnosCode> {
    match outcome {
        LoginOutcome::BadCredentials => Some(EnosCode::BadCredentials),
        LoginOutcome::Locked => Some(EnosCode::TooManyAttempts),
        LoginOutcome::PasswordExpired => Some(EnosCode::PasswordExpired),
        LoginOutcome::Disabled => Some(EnosCode::Disabled),
        LoginOutcome::UnknownLink => Some(EnosCode::NotFound),
        LoginOutcome::Success
        | LoginOutcome::Challenged
        | LoginOutcome::Refused
        | LoginOutcome::Error => None,
    }
}

/// An EnOS body as EnOS writes it: the samples' key order, Java's float form
/// ([`codec::to_vec`]).
fn enos_json(status: u16, value: &serde_json::Value) -> Reply {
    Reply::new(status, CONTENT_TYPE, codec::to_vec(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UpstreamError;

    fn face() -> EnosFace {
        EnosFace::new(Backend::ENOS, "/enos-iam-service/v2.0/logout")
    }

    fn body(r: &Reply) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn not_logged_in_is_a_business_error_on_200() {
        let r = face().error(&GatewayError::NotLoggedIn(Rejection::NotFound), None);
        assert_eq!((r.status, body(&r)["status"].as_i64()), (200, Some(30404)));
        let r = face().error(&GatewayError::NotLoggedIn(Rejection::Missing), None);
        assert_eq!((r.status, body(&r)["status"].as_i64()), (200, Some(30401)));
    }

    #[test]
    fn a_failing_backend_keeps_its_http_status() {
        let r = face().error(&GatewayError::Upstream(UpstreamError::Timeout), None);
        assert_eq!(r.status, 504);
        assert_eq!(body(&r)["success"], false);
    }

    #[test]
    fn status_takes_bearer_or_bare_ids() {
        let req = Request {
            authorization: Some("Bearer IAM_S_x".into()),
            ..Request::default()
        };
        let i = face().decode(Op::Status, &req, &Limits::default()).unwrap();
        assert_eq!(
            i,
            Intent::Status {
                credential: Some("IAM_S_x".into()),
                count: None
            }
        );
    }
}
