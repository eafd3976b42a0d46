//! Faces: how a caller speaks. One axis of the gateway (backends are the other).
//!
//! A face declares its routes, decodes a request into an [`Intent`] (login, status, logout,
//! authorize), renders an [`Answer`], and renders a [`GatewayError`] — in exactly one place, its
//! [`Face::error`]. A face knows nothing of how sessions are fetched or stored: the same intent
//! from any face takes the same path through the gateway ([`crate::intercept`]), and the same
//! session renders in whichever protocol asked. That is the bridge.
//!
//! Faces are pure (no I/O): decoding and rendering are functions of the request, the answer and
//! the current time, which makes each face testable on its own.

pub mod enos;
pub mod netid;
pub mod unified;
pub mod unified_soap;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use idbridge_protocol::Limits;
use idbridge_protocol::unified::{Challenge, LoginRequest};
use idbridge_session::{Backend, Session, UnixTime};

use crate::endpoint::RawReply;
use crate::error::{GatewayError, LoginOutcome};
use crate::reply::{Outcome, Reply};

/// The identity operations a face can be asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Login,
    Status,
    Logout,
    /// Forward-auth and protected apps: is this request's session valid, and who is it?
    Authorize,
}

/// An intercepted request, as the proxy phase saw it: only what faces and backends read.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub path: String,
    pub authorization: Option<String>,
    pub cookie: Option<String>,
    pub soap_action: Option<String>,
    pub content_type: Option<String>,
    pub request_id: Option<String>,
    /// The client's address ([`crate::client`]), passed upstream as `X-Forwarded-For` and in an
    /// EnOS login's `clientIp` (backends throttle logins per address).
    pub client_addr: Option<String>,
    /// The connection came from a trusted proxy: what it says of the client (a `clientIp` in a
    /// login) is believed.
    pub via_trusted_proxy: bool,
    pub body: Bytes,
}

/// What a caller asks, whatever its protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    Login(Login),
    /// Is the session behind `credential` live, and what is it? `count` is a Net iD caller's call
    /// counter (`None` from the protocols that have none): echoed in the answer, required to
    /// rise per session and client, and kept behind by the gateway's own upstream counter.
    Status {
        credential: Option<String>,
        count: Option<u64>,
    },
    Logout {
        credential: Option<String>,
        count: Option<u64>,
    },
    Authorize {
        credential: Option<String>,
    },
    /// A call the gateway cannot read (an encrypted Net iD call): sent to `backend` as it came,
    /// its answer returned byte for byte. When the call ends a session (`revoke`), the gateway
    /// drops that session first.
    Forward {
        backend: Backend,
        revoke: Option<String>,
    },
}

/// A login, as a face asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// A backend's own login call (a native face): forwarded untouched, and its answer returned
    /// byte for byte, so a native client sees exactly what the backend said.
    Native {
        backend: Backend,
        /// Who is logging in, for throttling ([`account_key`]); `None` if the request names no
        /// one the face can tell.
        account: Option<String>,
    },
    /// A login the gateway makes itself (the unified faces), for the backend the request names.
    Unified(LoginRequest),
}

/// A gateway token just minted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// What the gateway found, for a face to render.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A live session. `token` is the gateway token the caller presented, when that was its
    /// credential: a token holder never learns the backend session id.
    Session {
        session: Arc<Session>,
        token: Option<String>,
    },
    /// A login the gateway made (the unified faces).
    LoggedIn {
        session: Arc<Session>,
        token: Issued,
    },
    /// A native login: the backend's answer byte for byte, what it meant, and a gateway token
    /// when it made a session.
    NativeLogin {
        raw: RawReply,
        outcome: LoginOutcome,
        token: Option<Issued>,
    },
    /// Step 1 of a two-step login the gateway made (Net iD through a unified face): the
    /// challenge the client must answer in step 2. No session exists yet.
    Challenge(Challenge),
    LoggedOut,
    /// The backend's answer to a forwarded call, byte for byte.
    Forwarded(RawReply),
}

/// Where a route's path matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathMatch {
    /// Exactly this path.
    Exact(String),
    /// Every path that starts with this string.
    Prefix(String),
}

/// The methods a route answers. `GET` includes `HEAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Methods {
    Get,
    Post,
    GetOrPost,
    Any,
}

/// What a declared route leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    Op(Op),
    Document(Doc),
    /// The face decides from the request's headers ([`Face::dispatch`]).
    Dispatch,
}

/// What [`Face::dispatch`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatched {
    Op(Op),
    Document(Doc),
    /// Not an intercepted call: routed on as if the face had not declared the path (proxied when
    /// a backend owns it).
    Pass,
}

/// Documents the gateway serves from memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    Jwks,
    OpenApi,
    Wsdl,
}

/// One route a face declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteDecl {
    pub path: PathMatch,
    pub methods: Methods,
    pub select: Select,
}

/// The request facts routing reads.
#[derive(Clone, Copy, Debug)]
pub struct RouteInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub soap_action: Option<&'a str>,
}

/// How a caller speaks. See the module documentation.
pub trait Face: Send + Sync + fmt::Debug {
    /// The `face` label of metrics and the access log.
    fn name(&self) -> &'static str;

    /// The routes this face answers; the router is built from them.
    fn routes(&self) -> Vec<RouteDecl>;

    /// For routes declared with [`Select::Dispatch`]: what this request asks for.
    fn dispatch(&self, _req: &RouteInput<'_>) -> Dispatched {
        Dispatched::Pass
    }

    /// The caller's request as an intent. Errors are rendered by [`Face::error`] with no intent.
    fn decode(&self, op: Op, req: &Request, limits: &Limits) -> Result<Intent, GatewayError>;

    /// The answer to `intent`, in this face's protocol.
    fn render(&self, intent: &Intent, answer: Answer, now: UnixTime) -> Reply;

    /// `e` in this face's protocol, with its HTTP status: the face's one error mapping. `intent`
    /// is `None` when the request could not be decoded, or was proxied.
    fn error(&self, e: &GatewayError, intent: Option<&Intent>) -> Reply;
}

// === impl Op ===

impl Op {
    pub const ALL: [Op; 4] = [Self::Login, Self::Status, Self::Logout, Self::Authorize];

    /// The `operation` label of metrics and the access log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Status => "status",
            Self::Logout => "logout",
            Self::Authorize => "auth",
        }
    }
}

// === impl Answer ===

impl Answer {
    /// What a successful call means for metrics: a native login the backend refused is still an
    /// answer, but a rejected one.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::NativeLogin { outcome, .. } => match outcome {
                // Step 1 of a Net iD login went as it should: it is no refusal.
                LoginOutcome::Success | LoginOutcome::Challenged => Outcome::Ok,
                LoginOutcome::Error => Outcome::UpstreamError,
                _ => Outcome::Rejected,
            },
            _ => Outcome::Ok,
        }
    }
}

// === impl Methods ===

impl Methods {
    /// The methods either answers.
    pub fn union(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (Self::Any, _) | (_, Self::Any) => Self::Any,
            _ => Self::GetOrPost,
        }
    }

    /// The value of an `Allow` header.
    pub fn allow_header(self) -> &'static str {
        match self {
            Self::Get => "GET, HEAD",
            Self::Post => "POST",
            Self::GetOrPost => "GET, HEAD, POST",
            Self::Any => "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS",
        }
    }

    pub fn allows(self, method: &str) -> bool {
        let get = method == "GET" || method == "HEAD";
        match self {
            Self::Get => get,
            Self::Post => method == "POST",
            Self::GetOrPost => get || method == "POST",
            Self::Any => true,
        }
    }
}

// === impl PathMatch ===

impl PathMatch {
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(p) => path == p,
            Self::Prefix(p) => path.starts_with(p.as_str()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Exact(p) | Self::Prefix(p) => p,
        }
    }
}

// === impl RouteDecl ===

impl RouteDecl {
    pub fn exact(path: impl Into<String>, methods: Methods, select: Select) -> Self {
        Self {
            path: PathMatch::Exact(path.into()),
            methods,
            select,
        }
    }

    pub fn op(path: impl Into<String>, methods: Methods, op: Op) -> Self {
        Self::exact(path, methods, Select::Op(op))
    }
}

/// A stable, non-secret name for the account a login is for: a hash of the principal (an EnOS
/// account name, case-folded) or of the certificate (Net iD), so throttling counts per account
/// without keeping either.
pub fn account_key(kind: &str, who: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{kind}\0{}", who.to_lowercase()).as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The account of a unified login ([`account_key`]); `None` for step 2 of a Net iD login,
/// which names only the attempt (a wrong answer ends it at the portal), not who makes it.
pub fn unified_account(request: &LoginRequest) -> Option<String> {
    match request {
        LoginRequest::Enos { principal, .. } => Some(account_key("principal", principal)),
        LoginRequest::Netid { certificate, .. } => Some(account_key("certificate", certificate)),
        LoginRequest::NetidAnswer { .. } => None,
    }
}

/// The response header that carries a gateway token after a native login.
pub const TOKEN_HEADER: &str = "x-idbridge-token";

/// The cookie a browser app may carry the gateway token in (forward-auth and protected apps).
pub const TOKEN_COOKIE: &str = "idbridge_token";

/// The caller's credential from the raw `Authorization` and `Cookie` header values:
/// `Authorization: Bearer …` (a gateway token or a backend session id), else the
/// `idbridge_token` cookie.
pub fn credential_from<'a>(
    authorization: Option<&'a str>,
    cookie: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = authorization.and_then(|v| {
        let (scheme, rest) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim())
            .filter(|t| !t.is_empty())
    });
    bearer.or_else(|| {
        cookie?.split(';').find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == TOKEN_COOKIE && !value.is_empty()).then_some(value)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_bearer_then_cookie() {
        assert_eq!(credential_from(Some("Bearer abc"), None), Some("abc"));
        assert_eq!(credential_from(Some("bearer  abc "), None), Some("abc"));
        assert_eq!(credential_from(Some("Basic abc"), None), None);
        assert_eq!(
            credential_from(None, Some("a=1; idbridge_token=tok; b=2")),
            Some("tok")
        );
        assert_eq!(
            credential_from(Some("Bearer first"), Some("idbridge_token=second")),
            Some("first")
        );
        assert_eq!(credential_from(None, Some("idbridge_token=")), None);
    }

    #[test]
    fn methods_and_paths() {
        assert!(Methods::Get.allows("HEAD"));
        assert!(!Methods::Get.allows("POST"));
        assert!(Methods::Any.allows("DELETE"));
        assert!(PathMatch::Prefix("/api/".into()).matches("/api/x"));
        assert!(!PathMatch::Prefix("/api/".into()).matches("/api"));
        assert!(PathMatch::Exact("/a".into()).matches("/a"));
    }
}
