//! The Net iD Portal backend (kind `netid`): Login, GetLoginStatus and Logout upstream.
//!
//! The gateway always asks the portal over REST, whatever its caller spoke. Net iD requires each
//! session's `Count` to increase strictly (PROTOCOLS §2.4) while the gateway answers some calls
//! from its store, so the client's counter and the upstream's drift apart: every upstream call
//! takes its `Count` from the store ([`SessionStore::next_count`]), never a repeated or lower one.
//! When the portal still refuses a count (`InvalidCount`: the store lost the session's counter,
//! after a restart or an eviction, while the portal kept its own), the call is made once more with
//! a count taken from the clock (milliseconds since 1970), above any count counted from 1.
//! Session ids are base64 of 20 random bytes (PROTOCOLS §2.3).
//!
//! Login takes two steps (see `idbridge_protocol::netid::proof`): step 1's answer is a challenge
//! and makes no session; only step 2's success does, and only then does the gateway ask the
//! portal who logged in. Posting a certificate alone never yields a session or a token.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use idbridge_protocol::Limits;
use idbridge_protocol::netid::{
    self as codec, LoginResponse, LoginStatus, LoginStep, LogoutRequest, LogoutResponse,
    StatusCode, StatusRequest, rest, soap,
};
use idbridge_protocol::unified::Challenge;
use idbridge_session::{Backend, Session, SessionId, UnixTime};

use super::{
    BackendKind, BuildContext, Built, IdentityBackend, LoginCall, LoginResult, OptionSpec,
    check_path, forward_as_is, named,
};
use crate::endpoint::{Call, Endpoint, RawReply};
use crate::error::{GatewayError, LoginOutcome, Rejection, UpstreamError};
use crate::face::netid::{LOGIN, LOGOUT, NetidFace, REST_PREFIX, STATUS};
use crate::face::{Face, PathMatch};
use crate::store::SessionStore;

pub const DEFAULT_SOAP_PATH: &str = soap::PATH;

const OPTIONS: &[OptionSpec] = &[OptionSpec {
    key: "soap_path",
    default: DEFAULT_SOAP_PATH,
    meaning: "path of the portal's SOAP 1.1 endpoint",
    check: check_path,
}];

/// The `netid` kind.
#[derive(Debug)]
pub struct NetidKind;

/// One Net iD Portal.
#[derive(Debug)]
pub struct NetidBackend {
    name: Backend,
    endpoint: Arc<Endpoint>,
    soap_path: String,
    limits: Limits,
    store: Arc<dyn SessionStore>,
}

// === impl NetidKind ===

impl BackendKind for NetidKind {
    fn kind(&self) -> &'static str {
        "netid"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn default_url(&self) -> Option<&'static str> {
        Some("http://127.0.0.1:18082")
    }

    fn build(&self, cx: BuildContext<'_>) -> Result<Built, String> {
        let name = cx.config.name;
        let soap_path = cx.config.option("soap_path").to_owned();
        let faces: Vec<Arc<dyn Face>> = vec![
            Arc::new(NetidFace::rest(name).with_memo(cx.memo.for_face())),
            Arc::new(NetidFace::soap(name, &soap_path).with_memo(cx.memo.for_face())),
        ];
        Ok(Built {
            backend: Arc::new(NetidBackend {
                name,
                endpoint: cx.endpoint,
                soap_path: soap_path.clone(),
                limits: cx.upstream_limits,
                store: cx.store,
            }),
            faces,
            proxied: vec![
                (PathMatch::Prefix(REST_PREFIX.into()), 0),
                (PathMatch::Exact(soap_path), 1),
            ],
        })
    }
}

// === impl NetidBackend ===

#[async_trait]
impl IdentityBackend for NetidBackend {
    fn name(&self) -> Backend {
        self.name
    }

    fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    fn recognises(&self, id: &str) -> bool {
        id.len() == 28 && STANDARD.decode(id).is_ok_and(|b| b.len() == 20)
    }

    async fn login(
        &self,
        login: LoginCall<'_>,
        now: UnixTime,
    ) -> Result<LoginResult, GatewayError> {
        // Which step was sent decides what a successful answer means: only step 2 logs in.
        let (raw, answer, step2) = match login {
            LoginCall::Native(req) => {
                let soap_binding = req.path == self.soap_path;
                let step = if soap_binding {
                    soap::parse_request(&req.body, &self.limits)
                        .and_then(|r| soap::decode_login_step(&r))
                } else {
                    rest::decode_login_step(&req.body, &self.limits)
                };
                let step2 = matches!(step, Ok(LoginStep::Answer(_)));
                let raw = forward_as_is(&self.endpoint, "login", req).await?;
                let answer = match (raw.status, soap_binding) {
                    (200, true) => soap::decode_login_response(&raw.body, &self.limits).ok(),
                    (200, false) => rest::decode_login_response(&raw.body, &self.limits).ok(),
                    _ => None,
                };
                (Some(raw), answer, step2)
            }
            LoginCall::Unified { request, .. } => {
                let (body, step2) = match request.to_netid(now) {
                    Some(LoginStep::Begin(begin)) => (rest::encode_login_request(&begin), false),
                    Some(LoginStep::Answer(answer)) => (rest::encode_login_answer(&answer), true),
                    None => {
                        return Err(GatewayError::Internal(
                            "a login for another backend reached Net iD",
                        ));
                    }
                };
                let reply = self.call(LOGIN, "login", body).await?;
                let answer = rest::decode_login_response(&reply.body, &self.limits)
                    .map_err(|e| bad(&e.to_string()))?;
                (None, Some(answer), step2)
            }
        };
        let (outcome, id) = classify(answer.as_ref(), step2);
        if outcome == LoginOutcome::Error {
            tracing::warn!(backend = %self.name, "Net iD login answer not understood");
        }
        if outcome == LoginOutcome::Challenged {
            // Step 1: the portal's session waits for its answer and is nobody's yet.
            let challenge = answer.and_then(|a| {
                Some(Challenge {
                    session_id: a.session_id?.expose().to_owned(),
                    value: a.value?,
                    server_certificate: a.certificate,
                })
            });
            return Ok(LoginResult {
                outcome,
                session: None,
                raw,
                challenge,
            });
        }
        let session = match id {
            Some(id) => {
                // A new session: the portal has seen no `Count` for it yet.
                self.store.reset_count(id.expose()).await;
                match self.fetch(id.expose(), 0, now).await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::warn!(backend = %self.name, error = %e,
                            "Net iD session not known after login");
                        None
                    }
                }
            }
            None => None,
        };
        Ok(LoginResult {
            outcome,
            session,
            raw,
            challenge: None,
        })
    }

    async fn fetch(
        &self,
        id: &str,
        client_count: u64,
        now: UnixTime,
    ) -> Result<Session, GatewayError> {
        // A session the gateway holds no counter for gets one only once the portal confirms it:
        // a made-up id costs no memory.
        let known = self.store.next_known_count(id, client_count).await;
        let mut count = known.unwrap_or(client_count.max(1));
        let mut status = self.status(id, count).await?;
        if status.status.code == StatusCode::InvalidCount {
            count = self.recount(id, known.is_some()).await;
            status = self.status(id, count).await?;
        }
        match status.status.code {
            StatusCode::Success if status.logged_in() => {
                if known.is_none() {
                    self.store.confirm_count(id, count).await;
                }
                codec::session_from_login_status(&status, SessionId::new(id), now)
                    .map(|s| named(s, self.name))
                    .map_err(|e| bad(&e.to_string()).into())
            }
            StatusCode::Success | StatusCode::InvalidSession => {
                Err(GatewayError::NotLoggedIn(Rejection::NotFound))
            }
            other => Err(bad(&format!("GetLoginStatus answered {}", other.as_str())).into()),
        }
    }

    async fn logout(&self, id: &str, client_count: u64) -> Result<(), GatewayError> {
        let known = self.store.next_known_count(id, client_count).await;
        let count = known.unwrap_or(client_count.max(1));
        let mut resp = self.logout_call(id, count).await?;
        if resp.status.code == StatusCode::InvalidCount {
            let count = self.recount(id, known.is_some()).await;
            resp = self.logout_call(id, count).await?;
        }
        self.store.forget_count(id).await;
        match resp.status.code {
            StatusCode::Success => Ok(()),
            StatusCode::InvalidSession => Err(GatewayError::NotLoggedIn(Rejection::NotFound)),
            other => Err(bad(&format!("Logout answered {}", other.as_str())).into()),
        }
    }
}

impl NetidBackend {
    async fn status(&self, id: &str, count: u64) -> Result<LoginStatus, UpstreamError> {
        let req = StatusRequest {
            session_id: SessionId::new(id),
            count,
            blob: None,
        };
        let reply = self
            .call(STATUS, "status", rest::encode_status_request(&req))
            .await?;
        rest::decode_login_status(&reply.body, &self.limits).map_err(|e| bad(&e.to_string()))
    }

    async fn logout_call(&self, id: &str, count: u64) -> Result<LogoutResponse, UpstreamError> {
        let req = LogoutRequest {
            session_id: SessionId::new(id),
            count,
            blob: None,
        };
        let reply = self
            .call(LOGOUT, "logout", rest::encode_logout_request(&req))
            .await?;
        rest::decode_logout_response(&reply.body, &self.limits).map_err(|e| bad(&e.to_string()))
    }

    /// The count after the portal refused one: from the clock, so above whatever the portal saw.
    /// Kept in the store only for a session it already holds a counter for.
    async fn recount(&self, id: &str, known: bool) -> u64 {
        tracing::info!(backend = %self.name,
            "the portal has seen a higher Count than the store remembers; counting on from the clock");
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        if known {
            self.store.next_count(id, clock).await
        } else {
            clock
        }
    }

    async fn call(
        &self,
        path: &str,
        op: &'static str,
        body: Vec<u8>,
    ) -> Result<RawReply, UpstreamError> {
        let call = Call {
            op,
            path,
            headers: vec![("content-type", rest::CONTENT_TYPE.to_owned())],
            body: Bytes::from(body),
        };
        let reply = self.endpoint.post(call).await?;
        if reply.status != 200 {
            return Err(UpstreamError::Status(reply.status));
        }
        Ok(reply)
    }
}

/// A Login answer to step 1 or, with `step2`, to step 2, classified once: the outcome, and the
/// new session's id when it logged in.
///
/// Step 1's success is a challenge, never a session, and must carry `Value` (the sealed nonce)
/// to be one. Step 2's success is the login. Step 2 for a session that waits for no answer
/// (unknown, late, already answered) is `InvalidSession`: a failed login like a wrong answer
/// (`AccessDenied`), and counted as one.
fn classify(answer: Option<&LoginResponse>, step2: bool) -> (LoginOutcome, Option<SessionId>) {
    match answer {
        Some(LoginResponse {
            session_id: Some(id),
            value,
            status,
            ..
        }) if status.is_success() => match (step2, value) {
            (true, _) => (LoginOutcome::Success, Some(id.clone())),
            (false, Some(_)) => (LoginOutcome::Challenged, None),
            (false, None) => (LoginOutcome::Error, None),
        },
        Some(resp) => match resp.status.code {
            StatusCode::AccessDenied | StatusCode::InvalidSession => {
                (LoginOutcome::BadCredentials, None)
            }
            StatusCode::InvalidInput => (LoginOutcome::Refused, None),
            _ => (LoginOutcome::Error, None),
        },
        None => (LoginOutcome::Error, None),
    }
}

fn bad(detail: &str) -> UpstreamError {
    UpstreamError::BadResponse(detail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_protocol::netid::Status;

    #[test]
    fn login_answers_are_classified_once() {
        let answer = |code, id: Option<&str>| LoginResponse {
            session_id: id.map(SessionId::new),
            certificate: None,
            value: None,
            status: Status::new(code, ""),
        };
        assert_eq!(
            classify(Some(&answer(StatusCode::Success, Some("s"))), true).0,
            LoginOutcome::Success
        );
        assert_eq!(
            classify(Some(&answer(StatusCode::AccessDenied, None)), true).0,
            LoginOutcome::BadCredentials
        );
        assert_eq!(
            classify(Some(&answer(StatusCode::InvalidInput, None)), false).0,
            LoginOutcome::Refused
        );
        assert_eq!(
            classify(Some(&answer(StatusCode::Success, None)), true).0,
            LoginOutcome::Error,
            "success without a session id"
        );
        assert_eq!(classify(None, true).0, LoginOutcome::Error);
        let mut step1 = answer(StatusCode::Success, Some("s"));
        assert_eq!(
            classify(Some(&step1), false).0,
            LoginOutcome::Error,
            "step 1 without a nonce is nothing to answer"
        );
        step1.value = Some("sealed".into());
        assert_eq!(
            classify(Some(&step1), false),
            (LoginOutcome::Challenged, None),
            "step 1 is no session"
        );
        assert_eq!(
            classify(Some(&step1), true).0,
            LoginOutcome::Success,
            "step 2 logs in, whatever else it carries"
        );
        assert_eq!(
            classify(Some(&answer(StatusCode::InvalidSession, None)), true).0,
            LoginOutcome::BadCredentials,
            "a late or repeated step 2"
        );
    }
}
