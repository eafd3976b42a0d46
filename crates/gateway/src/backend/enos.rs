//! The EnOS IAM backend (kind `enos`): Log In, Get Session Information and logout upstream.
//!
//! EnOS session ids have the form `IAM_S_…` (PROTOCOLS §1.1). The Log In answer lacks three user
//! fields that session/info carries (`password_state`, `password_strength`,
//! `password_expire_time`), so after a login the backend asks session/info once for the full
//! session, and falls back to the login answer's session if that call fails.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use idbridge_protocol::Limits;
use idbridge_protocol::enos::{self as codec, CONTENT_TYPE, EnosCode, EnosReply};
use idbridge_session::{AuthMethod, Backend, Session, UnixTime};

use super::{
    BackendKind, BuildContext, Built, IdentityBackend, LoginCall, LoginResult, OptionSpec,
    check_path, forward_as_is, named,
};
use crate::endpoint::{Call, Endpoint, RawReply};
use crate::error::{GatewayError, LoginOutcome, Rejection, UpstreamError};
use crate::face::enos::{EnosFace, LOGIN, PREFIX, SESSION_INFO};
use crate::face::{Face, PathMatch, Request};

/// The upstream logout call: EnOS publishes none (PROTOCOLS §1.5), so it is configurable.
pub const DEFAULT_LOGOUT_PATH: &str = "/enos-iam-service/v2.0/logout";

const OPTIONS: &[OptionSpec] = &[OptionSpec {
    key: "logout_path",
    default: DEFAULT_LOGOUT_PATH,
    meaning: "upstream logout call (not published by EnOS)",
    check: check_path,
}];

/// The `enos` kind.
#[derive(Debug)]
pub struct EnosKind;

/// One EnOS IAM deployment.
#[derive(Debug)]
pub struct EnosBackend {
    name: Backend,
    endpoint: Arc<Endpoint>,
    logout_path: String,
    limits: Limits,
}

// === impl EnosKind ===

impl BackendKind for EnosKind {
    fn kind(&self) -> &'static str {
        "enos"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn default_url(&self) -> Option<&'static str> {
        Some("http://127.0.0.1:18081")
    }

    fn build(&self, cx: BuildContext<'_>) -> Result<Built, String> {
        let logout_path = cx.config.option("logout_path").to_owned();
        let face: Arc<dyn Face> =
            Arc::new(EnosFace::new(cx.config.name, &logout_path).with_memo(cx.memo.for_face()));
        Ok(Built {
            backend: Arc::new(EnosBackend {
                name: cx.config.name,
                endpoint: cx.endpoint,
                logout_path,
                limits: cx.upstream_limits,
            }),
            faces: vec![face],
            proxied: vec![(PathMatch::Prefix(PREFIX.into()), 0)],
        })
    }
}

// === impl EnosBackend ===

#[async_trait]
impl IdentityBackend for EnosBackend {
    fn name(&self) -> Backend {
        self.name
    }

    fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    /// `IAM_S_` and letters and digits (the documented sample's form), at most 512 characters.
    fn recognises(&self, id: &str) -> bool {
        codec::is_session_id(id)
    }

    async fn login(
        &self,
        login: LoginCall<'_>,
        now: UnixTime,
    ) -> Result<LoginResult, GatewayError> {
        // The LDAP link the login names: EnOS's answer does not repeat it, and the session keeps it.
        let link = match login {
            LoginCall::Native(req) => serde_json::from_slice::<serde_json::Value>(&req.body)
                .ok()
                .and_then(|v| v.get("linkName")?.as_str().map(str::to_owned)),
            LoginCall::Unified { request, .. } => request.to_enos().and_then(|r| r.link_name),
        }
        .filter(|l| !l.is_empty());
        let raw = match login {
            LoginCall::Native(req) => {
                let req = with_client_ip(req);
                forward_as_is(&self.endpoint, "login", &req).await?
            }
            LoginCall::Unified {
                request,
                client_addr,
            } => {
                let mut body = request.to_enos().ok_or(GatewayError::Internal(
                    "a login for another backend reached EnOS",
                ))?;
                body.client_ip = client_addr.map(str::to_owned);
                let mut headers = vec![("content-type", CONTENT_TYPE.to_owned())];
                headers.extend(client_addr.map(|a| ("x-forwarded-for", a.to_owned())));
                let call = Call {
                    op: "login",
                    path: LOGIN,
                    headers,
                    body: Bytes::from(body.encode()),
                };
                self.endpoint.post(call).await?
            }
        };
        let (outcome, from_login) = self.read_login(&raw, now);
        let session = match from_login {
            Some(s) => {
                let mut s = self.complete_login(s, now).await;
                if let AuthMethod::Ldap { link: known @ None } = &mut s.auth_method {
                    *known = link;
                }
                Some(s)
            }
            None => None,
        };
        Ok(LoginResult {
            outcome,
            session,
            raw: Some(raw),
            challenge: None,
        })
    }

    async fn fetch(&self, id: &str, _count: u64, now: UnixTime) -> Result<Session, GatewayError> {
        let reply = self.call(SESSION_INFO, "status", id).await?;
        match self.decode(&reply)? {
            EnosReply::Success(payload) => {
                let session = payload
                    .get("session")
                    .ok_or_else(|| bad("session/info without session"))?;
                codec::session_from_enos(session, now)
                    .map(|s| named(s, self.name))
                    .map_err(|e| bad(&e.to_string()).into())
            }
            EnosReply::Failure { code, .. } => Err(rejection(code)),
        }
    }

    async fn logout(&self, id: &str, _count: u64) -> Result<(), GatewayError> {
        let reply = self.call(&self.logout_path, "logout", id).await?;
        match self.decode(&reply)? {
            EnosReply::Success(_) => Ok(()),
            EnosReply::Failure { code, .. } => Err(rejection(code)),
        }
    }
}

impl EnosBackend {
    /// What a Log In answer says, classified once: the outcome, and the session it carries.
    fn read_login(&self, raw: &RawReply, now: UnixTime) -> (LoginOutcome, Option<Session>) {
        let answer = match self.decode(raw) {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(backend = %self.name, status = raw.status, error = %e,
                    "EnOS login answer not understood");
                return (LoginOutcome::Error, None);
            }
        };
        match answer {
            EnosReply::Success(payload) => {
                let session = match payload
                    .get("session")
                    .map(|s| codec::session_from_enos(s, now))
                {
                    Some(Ok(s)) => Some(named(s, self.name)),
                    Some(Err(e)) => {
                        tracing::warn!(backend = %self.name, error = %e, "EnOS login answer has an unusable session");
                        None
                    }
                    None => {
                        tracing::warn!(backend = %self.name, "EnOS login answer has no session");
                        None
                    }
                };
                (LoginOutcome::Success, session)
            }
            EnosReply::Failure { code, .. } => (login_outcome(code), None),
        }
    }

    /// The full session behind a login: session/info once, or the login answer's session when
    /// that call fails (a partial answer beats a needless miss).
    async fn complete_login(&self, from_login: Session, now: UnixTime) -> Session {
        let id = from_login.id.expose().to_owned();
        match self.fetch(&id, 0, now).await {
            Ok(full) => full,
            Err(e) => {
                tracing::warn!(backend = %self.name, error = %e,
                    "session/info after EnOS login failed; caching the login answer");
                from_login
            }
        }
    }

    async fn call(
        &self,
        path: &str,
        op: &'static str,
        id: &str,
    ) -> Result<RawReply, UpstreamError> {
        let call = Call {
            op,
            path,
            headers: vec![
                ("authorization", format!("Bearer {id}")),
                ("content-type", CONTENT_TYPE.to_owned()),
            ],
            body: Bytes::new(),
        };
        self.endpoint.post(call).await
    }

    fn decode(&self, reply: &RawReply) -> Result<EnosReply, UpstreamError> {
        if reply.status != 200 {
            return Err(UpstreamError::Status(reply.status));
        }
        codec::decode_response(&reply.body, &self.limits).map_err(|e| bad(&e.to_string()))
    }
}

/// The login as it goes upstream: `clientIp` is the client's address as the gateway resolved it,
/// so EnOS locks out (30429) the client that failed, not the gateway and with it every user. A
/// `clientIp` the client wrote is kept only when a trusted proxy sent it.
fn with_client_ip(req: &Request) -> Request {
    let Some(addr) = &req.client_addr else {
        return req.clone();
    };
    let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice(&req.body) else {
        return req.clone();
    };
    let given = body
        .get("clientIp")
        .and_then(|v| v.as_str())
        .is_some_and(|s| !s.is_empty());
    if given && req.via_trusted_proxy {
        return req.clone();
    }
    body.insert("clientIp".into(), addr.as_str().into());
    Request {
        body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        ..req.clone()
    }
}

/// EnOS login codes, classified once (PROTOCOLS §1.1).
fn login_outcome(code: EnosCode) -> LoginOutcome {
    match code {
        EnosCode::BadCredentials => LoginOutcome::BadCredentials,
        EnosCode::TooManyAttempts => LoginOutcome::Locked,
        EnosCode::PasswordExpired => LoginOutcome::PasswordExpired,
        EnosCode::Disabled => LoginOutcome::Disabled,
        EnosCode::NotFound => LoginOutcome::UnknownLink,
        EnosCode::InvalidToken | EnosCode::Other(_) => LoginOutcome::Error,
    }
}

/// EnOS session codes (PROTOCOLS §1.2): not a session, or a backend that misbehaves.
fn rejection(code: EnosCode) -> GatewayError {
    match code {
        EnosCode::InvalidToken => GatewayError::NotLoggedIn(Rejection::Invalid),
        EnosCode::NotFound => GatewayError::NotLoggedIn(Rejection::NotFound),
        other => bad(&format!("EnOS answered {}", other.code())).into(),
    }
}

fn bad(detail: &str) -> UpstreamError {
    UpstreamError::BadResponse(detail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_codes_are_classified_once() {
        assert_eq!(
            login_outcome(EnosCode::from_status(30400)),
            LoginOutcome::BadCredentials
        );
        assert_eq!(
            login_outcome(EnosCode::from_status(429)),
            LoginOutcome::Locked
        );
        assert_eq!(
            login_outcome(EnosCode::from_status(30410)),
            LoginOutcome::PasswordExpired
        );
        assert_eq!(
            login_outcome(EnosCode::from_status(30511)),
            LoginOutcome::Disabled
        );
        assert_eq!(
            login_outcome(EnosCode::from_status(30404)),
            LoginOutcome::UnknownLink
        );
        assert_eq!(login_outcome(EnosCode::from_status(1)), LoginOutcome::Error);
    }

    #[test]
    fn session_codes() {
        assert_eq!(
            rejection(EnosCode::InvalidToken),
            GatewayError::NotLoggedIn(Rejection::Invalid)
        );
        assert_eq!(
            rejection(EnosCode::NotFound),
            GatewayError::NotLoggedIn(Rejection::NotFound)
        );
        assert!(rejection(EnosCode::Other(500)).is_upstream());
    }
}
