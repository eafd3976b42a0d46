//! The Net iD Portal faces: Login, GetLoginStatus and Logout over REST/JSON and over SOAP 1.1.
//!
//! Both bindings carry the same messages, so one type serves both and only decoding and encoding
//! look at the binding. A session that is not live is answered as the portal answers it
//! (`IsLoggedIn` False, `Status` InvalidSession, on HTTP 200); a failing backend is
//! 502/503/504/429 with a non-Success `Status` (REST), or an `s:Server` Fault on HTTP 500 (SOAP
//! 1.1 §6.2) whose `detail` carries the gateway's error code (`backend_timeout`, …).

use std::sync::Arc;

use bytes::Bytes;
use idbridge_protocol::netid::soap::{Method, SoapAction};
use idbridge_protocol::netid::{
    self as codec, LoginStatus, LoginStep, LogoutRequest, LogoutResponse, Status, StatusCode,
    StatusRequest, rest, soap,
};
use idbridge_protocol::{DecodeError, Limits};
use idbridge_session::{Backend, Session, UnixTime};

use super::{
    Answer, Dispatched, Face, Intent, Login, Methods, Op, Request, RouteDecl, RouteInput, Select,
    TOKEN_HEADER, account_key,
};
use crate::error::{GatewayError, Rejection};
use crate::memo::Memo;
use crate::reply::Reply;

pub use idbridge_protocol::netid::rest::{
    LOGIN_PATH as LOGIN, LOGIN_STATUS_PATH as STATUS, LOGOUT_PATH as LOGOUT,
};
/// Everything under it belongs to Net iD's REST binding: what is not intercepted is proxied.
pub const REST_PREFIX: &str = "/api/";

/// Which of the portal's two bindings a face speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Rest,
    Soap,
}

/// A Net iD face of one Net iD backend (its logins go there).
#[derive(Debug)]
pub struct NetidFace {
    backend: Backend,
    binding: Binding,
    soap_path: String,
    memo: Memo,
}

// === impl NetidFace ===

impl NetidFace {
    pub fn rest(backend: Backend) -> Self {
        Self {
            backend,
            binding: Binding::Rest,
            soap_path: String::new(),
            memo: Memo::default(),
        }
    }

    pub fn soap(backend: Backend, soap_path: &str) -> Self {
        Self {
            backend,
            binding: Binding::Soap,
            soap_path: soap_path.to_owned(),
            memo: Memo::default(),
        }
    }

    /// Keeps each session's logged-in GetLoginStatus answer in `memo`, all but `Count` and
    /// `IdleExpiration`, which each call fills in ([`codec::status_template`]).
    pub fn with_memo(self, memo: Memo) -> Self {
        Self { memo, ..self }
    }

    /// The GetLoginStatus answer for a session the gateway holds: the portal's not-logged-in
    /// answer once it is expired or idle, else its kept parts with this call's two values.
    fn session_status(&self, session: &Arc<Session>, count: u64, now: UnixTime) -> Reply {
        let idle = session.idle_remaining(now);
        if session.is_expired(now) || idle.is_zero() {
            return self.login_status(&codec::not_logged_in(count));
        }
        let binding = self.binding;
        let render = || {
            let parts = codec::status_template(session, now, |s| encode_status(binding, s))?;
            Some(parts.into_iter().map(Bytes::from).collect())
        };
        match self.memo.get_or_render(session, render) {
            Some(parts) => Reply::new(
                200,
                content_type(binding),
                codec::fill_status(&parts, count, idle.as_secs()),
            ),
            None => self.login_status(&codec::login_status_from_session(session, count, now)),
        }
    }

    fn decode_status(&self, req: &Request, limits: &Limits) -> Result<StatusRequest, DecodeError> {
        match self.binding {
            Binding::Soap => {
                soap::parse_request(&req.body, limits).and_then(|r| soap::decode_status_request(&r))
            }
            Binding::Rest => rest::decode_status_request(&req.body, limits),
        }
    }

    fn decode_logout(&self, req: &Request, limits: &Limits) -> Result<LogoutRequest, DecodeError> {
        match self.binding {
            Binding::Soap => {
                soap::parse_request(&req.body, limits).and_then(|r| soap::decode_logout_request(&r))
            }
            Binding::Rest => rest::decode_logout_request(&req.body, limits),
        }
    }

    fn login_status(&self, status: &LoginStatus) -> Reply {
        Reply::new(
            200,
            content_type(self.binding),
            encode_status(self.binding, status),
        )
    }

    fn logout_response(&self, resp: &LogoutResponse) -> Reply {
        match self.binding {
            Binding::Soap => {
                Reply::new(200, soap::CONTENT_TYPE, soap::encode_logout_response(resp))
            }
            Binding::Rest => {
                Reply::new(200, rest::CONTENT_TYPE, rest::encode_logout_response(resp))
            }
        }
    }

    /// A failure the portal would not answer with a `Status` of the message itself. `status` is
    /// the REST binding's; SOAP carries every fault on 500 but for the few statuses a client acts
    /// on at the HTTP level (405 with `Allow`, 408, 413, 431).
    fn failure(
        &self,
        status: u16,
        code: StatusCode,
        client_fault: bool,
        e: &GatewayError,
    ) -> Reply {
        let message = e.public_message();
        match self.binding {
            Binding::Soap => {
                let faultcode = if client_fault { "s:Client" } else { "s:Server" };
                let status = match status {
                    405 | 408 | 413 | 431 => status,
                    _ => 500,
                };
                Reply::new(
                    status,
                    soap::CONTENT_TYPE,
                    soap::encode_fault(faultcode, &message, Some(e.code())),
                )
            }
            Binding::Rest => Reply::new(
                status,
                rest::CONTENT_TYPE,
                rest::encode_status(&Status::new(code, message.as_ref())),
            ),
        }
    }
}

fn content_type(binding: Binding) -> &'static str {
    match binding {
        Binding::Soap => soap::CONTENT_TYPE,
        Binding::Rest => rest::CONTENT_TYPE,
    }
}

fn encode_status(binding: Binding, status: &LoginStatus) -> Vec<u8> {
    match binding {
        Binding::Soap => soap::encode_login_status(status).into_bytes(),
        Binding::Rest => rest::encode_login_status(status),
    }
}

/// The client's `Count`, echoed in every answer about its call.
fn count_of(intent: Option<&Intent>) -> u64 {
    match intent {
        Some(Intent::Status { count, .. } | Intent::Logout { count, .. }) => count.unwrap_or(0),
        _ => 0,
    }
}

fn non_empty(id: &idbridge_session::SessionId) -> Option<String> {
    (!id.is_empty()).then(|| id.expose().to_owned())
}

impl Face for NetidFace {
    fn name(&self) -> &'static str {
        match self.binding {
            Binding::Rest => "netid_rest",
            Binding::Soap => "netid_soap",
        }
    }

    fn routes(&self) -> Vec<RouteDecl> {
        match self.binding {
            Binding::Rest => vec![
                RouteDecl::op(LOGIN, Methods::Post, Op::Login),
                RouteDecl::op(STATUS, Methods::Post, Op::Status),
                RouteDecl::op(LOGOUT, Methods::Post, Op::Logout),
            ],
            // One endpoint for every method: the `SOAPAction` header names the call.
            Binding::Soap => vec![RouteDecl::exact(
                self.soap_path.clone(),
                Methods::Post,
                Select::Dispatch,
            )],
        }
    }

    /// Only the three calls the gateway understands are intercepted (the action is
    /// case-sensitive, as WCF's is); every other portal method is the backend's.
    fn dispatch(&self, req: &RouteInput<'_>) -> Dispatched {
        match req.soap_action.map(SoapAction::parse) {
            Some(Ok(action)) => match action.method() {
                Method::Login => Dispatched::Op(Op::Login),
                Method::GetLoginStatus => Dispatched::Op(Op::Status),
                Method::Logout => Dispatched::Op(Op::Logout),
                _ => Dispatched::Pass,
            },
            _ => Dispatched::Pass,
        }
    }

    fn decode(&self, op: Op, req: &Request, limits: &Limits) -> Result<Intent, GatewayError> {
        match op {
            Op::Login => {
                // Checked so that a malformed login never reaches the portal; the body itself
                // goes upstream untouched.
                let login = match self.binding {
                    Binding::Soap => soap::parse_request(&req.body, limits)
                        .and_then(|r| soap::decode_login_step(&r))?,
                    Binding::Rest => rest::decode_login_step(&req.body, limits)?,
                };
                // Step 2 names only the attempt (a wrong answer ends it at the portal): its
                // failures count against the client's address alone.
                let account = match &login {
                    LoginStep::Begin(begin) => Some(account_key("certificate", &begin.certificate)),
                    LoginStep::Answer(_) => None,
                };
                Ok(Intent::Login(Login::Native {
                    backend: self.backend,
                    account,
                }))
            }
            Op::Status => {
                let sr = self.decode_status(req, limits)?;
                if sr.blob.is_some() {
                    // Encrypted: the gateway cannot read it, so it neither answers nor caches it.
                    return Ok(Intent::Forward {
                        backend: self.backend,
                        revoke: None,
                    });
                }
                Ok(Intent::Status {
                    credential: non_empty(&sr.session_id),
                    count: Some(sr.count),
                })
            }
            Op::Logout => {
                let lr = self.decode_logout(req, limits)?;
                let credential = non_empty(&lr.session_id);
                if lr.blob.is_some() && credential.is_some() {
                    return Ok(Intent::Forward {
                        backend: self.backend,
                        revoke: credential,
                    });
                }
                Ok(Intent::Logout {
                    credential,
                    count: Some(lr.count),
                })
            }
            Op::Authorize => Err(GatewayError::NoRoute),
        }
    }

    fn render(&self, intent: &Intent, answer: Answer, now: UnixTime) -> Reply {
        let count = count_of(Some(intent));
        match answer {
            Answer::Session { session, .. } | Answer::LoggedIn { session, .. } => {
                self.session_status(&session, count, now)
            }
            Answer::NativeLogin { raw, token, .. } => {
                let reply = Reply::upstream(raw);
                match token {
                    Some(t) => reply.with_header(TOKEN_HEADER, t.token),
                    None => reply,
                }
            }
            Answer::LoggedOut => self.logout_response(&LogoutResponse {
                count: Some(count),
                status: Status::success(),
            }),
            Answer::Forwarded(raw) => Reply::upstream(raw),
            // Native logins are the backend's own, answered byte for byte above.
            Answer::Challenge(_) => self.error(
                &GatewayError::Internal("a unified challenge reached a native face"),
                Some(intent),
            ),
        }
    }

    fn error(&self, e: &GatewayError, intent: Option<&Intent>) -> Reply {
        let count = count_of(intent);
        let message = e.public_message();
        match e {
            // No SessionId at all (the vendor's own sample has an empty one): a mandatory input
            // missing, answered as the portal answers bad input, a bare Status on HTTP 200.
            GatewayError::NotLoggedIn(Rejection::Missing) => {
                let status = Status::new(StatusCode::InvalidInput, "SessionId is required");
                match intent {
                    Some(Intent::Logout { .. }) => self.logout_response(&LogoutResponse {
                        count: None,
                        status,
                    }),
                    _ => self.login_status(&LoginStatus {
                        count: None,
                        ..codec::refused(0, status)
                    }),
                }
            }
            // Answered as the portal itself would: a Status on HTTP 200.
            GatewayError::NotLoggedIn(_) => match intent {
                Some(Intent::Logout { .. }) => self.logout_response(&LogoutResponse {
                    count: Some(count),
                    status: Status::new(StatusCode::InvalidSession, "The session is not logged in"),
                }),
                _ => self.login_status(&codec::not_logged_in(count)),
            },
            GatewayError::BadRequest(_) | GatewayError::BadPath(_) => {
                self.failure(400, StatusCode::InvalidInput, true, e)
            }
            GatewayError::TooLarge { .. }
            | GatewayError::HeadersTooLarge { .. }
            | GatewayError::BodyTimeout
            | GatewayError::MethodNotAllowed(_) => {
                self.failure(e.http_status(), StatusCode::InvalidInput, true, e)
            }
            GatewayError::Throttled { .. } => self.failure(429, StatusCode::AccessDenied, false, e),
            // As the portal refuses a repeated or lower `Count`: a Status on HTTP 200.
            GatewayError::ReplayedCount => {
                let status = Status::new(StatusCode::InvalidCount, message.as_ref());
                match intent {
                    Some(Intent::Logout { .. }) => self.logout_response(&LogoutResponse {
                        count: Some(count),
                        status,
                    }),
                    _ => self.login_status(&codec::refused(count, status)),
                }
            }
            GatewayError::LoginRefused(_)
            | GatewayError::Upstream(_)
            | GatewayError::Unconfirmed
            | GatewayError::LogoutIncomplete(_)
            | GatewayError::NoRoute
            | GatewayError::Internal(_) => {
                self.failure(e.http_status(), StatusCode::InternalError, false, e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Rejection, UpstreamError};

    fn soap_face() -> NetidFace {
        NetidFace::soap(Backend::NETID, soap::PATH)
    }

    fn input<'a>(action: Option<&'a str>) -> RouteInput<'a> {
        RouteInput {
            method: "POST",
            path: soap::PATH,
            query: None,
            soap_action: action,
        }
    }

    #[test]
    fn soap_dispatches_on_the_action() {
        let ns = "http://www.pointsharp.com/netid/server/portal/IServiceSoap/";
        let f = soap_face();
        let at = |m: &str| f.dispatch(&input(Some(&format!("\"{ns}{m}\""))));
        assert_eq!(at("Login"), Dispatched::Op(Op::Login));
        assert_eq!(at("GetLoginStatus"), Dispatched::Op(Op::Status));
        assert_eq!(at("Logout"), Dispatched::Op(Op::Logout));
        assert_eq!(at("GetObject"), Dispatched::Pass);
        assert_eq!(at("getloginstatus"), Dispatched::Pass, "case-sensitive");
        assert_eq!(f.dispatch(&input(None)), Dispatched::Pass);
    }

    #[test]
    fn errors_keep_the_count_and_the_binding() {
        let f = NetidFace::rest(Backend::NETID);
        let intent = Intent::Status {
            credential: Some("x".into()),
            count: Some(7),
        };
        let r = f.error(
            &GatewayError::NotLoggedIn(Rejection::NotFound),
            Some(&intent),
        );
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["Count"], "7");
        assert_eq!(v["IsLoggedIn"], "False");
        // SOAP 1.1 §6.2: a fault travels on 500; the gateway's code is in `detail`.
        let r = soap_face().error(&GatewayError::Upstream(UpstreamError::Unreachable), None);
        assert_eq!(r.status, 500);
        let body = String::from_utf8_lossy(&r.body);
        assert!(body.contains("<faultcode>s:Server</faultcode>"), "{body}");
        assert!(
            body.contains("<ib:Code>backend_unavailable</ib:Code>"),
            "{body}"
        );
        let r = soap_face().error(
            &GatewayError::Throttled {
                retry_after_secs: 3,
            },
            None,
        );
        assert_eq!(r.status, 500);
        let r = soap_face().error(&GatewayError::TooLarge { limit: 1 }, None);
        assert_eq!(r.status, 413);
    }
}
