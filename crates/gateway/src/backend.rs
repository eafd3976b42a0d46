//! Backends: who holds the session. One axis of the gateway (faces are the other).
//!
//! A backend logs in, fetches a session, logs out, and recognises its own session ids; it talks
//! its own wire protocol through its [`Endpoint`]. It knows nothing of the caller's protocol: the
//! same fetched session is rendered by whichever face asked.
//!
//! Backends are configured as named tables with a `kind` (`[backends.enos] kind = "enos"`). A
//! [`BackendKind`] turns such a table into a backend, together with the native faces that speak
//! its protocol and the paths proxied to it untouched. [`Kinds`] holds the kinds a gateway knows:
//! `enos` and `netid` are built in; [`Kinds::register`] adds another, which is all a third
//! backend needs besides its own module (`docs/ARCHITECTURE.md`, "Adding a backend").

pub mod enos;
pub mod netid;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use idbridge_protocol::Limits;
use idbridge_protocol::unified::{Challenge, LoginRequest};
use idbridge_session::{Backend, Session, UnixTime};

use crate::config::BackendConfig;
use crate::endpoint::{Call, Endpoint, RawReply};
use crate::error::{GatewayError, LoginOutcome};
use crate::face::{Face, PathMatch, Request};
use crate::store::SessionStore;

/// A login, as a backend is asked to make it.
#[derive(Clone, Copy, Debug)]
pub enum LoginCall<'a> {
    /// The client's own login call (a native face), to be sent on untouched; its answer goes
    /// back to the client byte for byte.
    Native(&'a Request),
    /// A login the gateway makes itself (the unified faces).
    Unified {
        request: &'a LoginRequest,
        /// The client's address, for backends that throttle per address.
        client_addr: Option<&'a str>,
    },
}

/// What a login came to.
#[derive(Clone, Debug)]
pub struct LoginResult {
    pub outcome: LoginOutcome,
    /// The session it established, normalised: only with [`LoginOutcome::Success`].
    pub session: Option<Session>,
    /// The backend's answer as it came, for a [`LoginCall::Native`] login.
    pub raw: Option<RawReply>,
    /// Step 1 of a two-step login, for a [`LoginCall::Unified`] one: what the client must
    /// answer. Only with [`LoginOutcome::Challenged`].
    pub challenge: Option<Challenge>,
}

/// Who holds the session. See the module documentation.
#[async_trait]
pub trait IdentityBackend: Send + Sync + fmt::Debug {
    /// The name sessions carry ([`Session::backend`]) and metrics label.
    fn name(&self) -> Backend;

    /// Where the backend is: proxied traffic, the gateway's own calls and probes go there.
    fn endpoint(&self) -> &Arc<Endpoint>;

    /// Whether `id` has the form of this backend's session ids. A session the gateway has not
    /// cached is asked of the backend that recognises its id; an id no backend recognises is
    /// refused without any upstream call.
    fn recognises(&self, id: &str) -> bool;

    async fn login(&self, login: LoginCall<'_>, now: UnixTime)
    -> Result<LoginResult, GatewayError>;

    /// The live session `id`, normalised, or why not (`NotLoggedIn` when the backend says it is
    /// not a session; `Upstream` when the backend cannot say). `client_count` is a Net iD
    /// caller's call counter (0 otherwise).
    async fn fetch(
        &self,
        id: &str,
        client_count: u64,
        now: UnixTime,
    ) -> Result<Session, GatewayError>;

    /// Ends `id` at the backend.
    async fn logout(&self, id: &str, client_count: u64) -> Result<(), GatewayError>;

    /// Sends the client's request as it came (same path, body, content type and `SOAPAction`):
    /// a call the gateway cannot read, such as an encrypted Net iD call.
    async fn forward(&self, req: &Request) -> Result<RawReply, GatewayError> {
        Ok(forward_as_is(self.endpoint(), "forward", req).await?)
    }
}

/// Sends a client's request to `endpoint` as it came, for the calls whose answer the client must
/// get byte for byte (native logins, encrypted calls).
pub async fn forward_as_is(
    endpoint: &Endpoint,
    op: &'static str,
    req: &Request,
) -> Result<RawReply, crate::error::UpstreamError> {
    let pass = [
        ("content-type", &req.content_type),
        ("soapaction", &req.soap_action),
        ("authorization", &req.authorization),
        ("x-request-id", &req.request_id),
        ("x-forwarded-for", &req.client_addr),
    ];
    let headers = pass
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect();
    endpoint
        .post(Call {
            op,
            path: &req.path,
            headers,
            body: req.body.clone(),
        })
        .await
}

/// A key a backend kind reads in its `[backends.<name>]` table, besides the common ones.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub key: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
    /// Checks a configured value; the message says what is expected, never echoes a secret.
    pub check: fn(&str) -> Result<(), String>,
}

/// What building a backend has to hand.
#[derive(Debug)]
pub struct BuildContext<'a> {
    pub config: &'a BackendConfig,
    pub endpoint: Arc<Endpoint>,
    pub store: Arc<dyn SessionStore>,
    /// Limits on what backends answer.
    pub upstream_limits: Limits,
    /// Rendered answers, shared by every face; each face takes its own handle.
    pub memo: crate::memo::Memo,
}

/// A backend with its native faces and the paths proxied to it untouched.
#[derive(Debug)]
pub struct Built {
    pub backend: Arc<dyn IdentityBackend>,
    pub faces: Vec<Arc<dyn Face>>,
    /// Each proxied path with the index (into `faces`) of the face whose protocol its errors
    /// speak: a proxied call that fails is answered in the caller's protocol too.
    pub proxied: Vec<(PathMatch, usize)>,
}

/// Turns a `[backends.<name>]` table of its kind into a backend (pure: nothing is resolved or
/// connected here).
pub trait BackendKind: Send + Sync + fmt::Debug {
    /// The `kind` value of the table.
    fn kind(&self) -> &'static str;

    /// The kind's own keys.
    fn options(&self) -> &'static [OptionSpec];

    /// The base URL when the table gives none (the demo topology).
    fn default_url(&self) -> Option<&'static str> {
        None
    }

    fn build(&self, cx: BuildContext<'_>) -> Result<Built, String>;
}

/// The backend kinds a gateway knows.
#[derive(Clone, Debug)]
pub struct Kinds {
    kinds: Vec<Arc<dyn BackendKind>>,
}

// === impl Kinds ===

impl Default for Kinds {
    /// The built-in kinds: `enos` and `netid`.
    fn default() -> Self {
        Self {
            kinds: vec![Arc::new(enos::EnosKind), Arc::new(netid::NetidKind)],
        }
    }
}

impl Kinds {
    /// Adds a kind; one of the same name is replaced.
    pub fn register(mut self, kind: Arc<dyn BackendKind>) -> Self {
        self.kinds.retain(|k| k.kind() != kind.kind());
        self.kinds.push(kind);
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn BackendKind>> {
        self.kinds.iter().find(|k| k.kind() == kind)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.kind()).collect()
    }
}

/// A path option: must start with `/`.
pub fn check_path(value: &str) -> Result<(), String> {
    if value.starts_with('/') && !value.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err("must be a path starting with /".into())
    }
}

/// `id`, with a session normalised by a codec renamed to the backend that fetched it.
pub fn named(mut session: Session, backend: Backend) -> Session {
    session.backend = backend;
    session
}
