//! Intercepted identity calls: the gateway's core, free of Pingora types.
//!
//! The proxy phase gathers the facts of a request into [`Request`] and writes back the [`Reply`]
//! this module returns. In between: decode in the caller's protocol, answer from the cache or make
//! one (coalesced) upstream call, normalise into a `Session`, render in the caller's protocol.

mod enos;
mod fetch;
mod netid;
pub mod unified;

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use idbridge_session::{Backend, Session, UnixTime};

use crate::cache::CacheResult;
use crate::error::{FetchError, Rejection, UpstreamError};
use crate::respond::{Kind, Reply};
use crate::route::{Face, Op, backend_of_id};
use crate::state::State;
use crate::tokens::{self, TokenRejection};
use crate::upstream::{Call, REQUEST_ID, RawReply};

/// The response header that carries a gateway token after a native login.
pub const TOKEN_HEADER: &str = "x-idbridge-token";

/// An intercepted request, as the proxy phase saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub face: Face,
    pub op: Op,
    pub path: String,
    pub authorization: Option<String>,
    pub soap_action: Option<String>,
    pub content_type: Option<String>,
    pub request_id: Option<String>,
    /// The client's address, passed upstream as `X-Forwarded-For` (EnOS throttles logins per IP).
    pub client_addr: Option<String>,
    /// The `Cookie` header (forward-auth reads the gateway token cookie from it).
    pub cookie: Option<String>,
    pub body: Bytes,
}

/// What happened, for the access log and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Outcome {
    pub backend: Option<Backend>,
    pub cache: Option<CacheResult>,
}

/// Answers one intercepted call.
pub async fn handle(state: &State, req: &Request, now: UnixTime) -> (Reply, Outcome) {
    let id: Arc<str> = Arc::from(req.request_id.as_deref().unwrap_or(""));
    REQUEST_ID
        .scope(id, async {
            let mut outcome = Outcome::default();
            let reply = match req.face {
                Face::Enos => enos::handle(state, req, now, &mut outcome).await,
                Face::NetidRest | Face::NetidSoap => {
                    netid::handle(state, req, now, &mut outcome).await
                }
                Face::Unified | Face::UnifiedSoap => {
                    unified::handle(state, req, now, &mut outcome).await
                }
            };
            (reply, outcome)
        })
        .await
}

/// The session behind `id`, from the cache or its backend. `client_count` is the Net iD caller's
/// `Count` (0 from other protocols), used to keep the upstream counter ahead of the client's.
async fn lookup(
    state: &State,
    presented: &str,
    client_count: u64,
    now: UnixTime,
    outcome: &mut Outcome,
) -> Result<Arc<Session>, Arc<FetchError>> {
    let id = &*resolve(state, presented).map_err(Arc::new)?;
    let backend = backend_of_id(id);
    let fetched = state
        .cache
        .get_or_fetch(id, now, || {
            fetch::session(state, backend, id, client_count, now)
        })
        .await;
    let how = match &fetched {
        Ok((session, how)) => {
            outcome.backend = Some(session.backend);
            *how
        }
        Err(_) => {
            outcome.backend = Some(backend);
            CacheResult::Miss
        }
    };
    outcome.cache = Some(how);
    state
        .metrics
        .cache_lookups
        .with_label_values(&[how.as_str()])
        .inc();
    fetched.map(|(session, _)| session)
}

/// Sends the client's request to its backend as it came (same path, body, content type and
/// `SOAPAction`), for the calls whose answer the client must get byte for byte: logins, and
/// encrypted Net iD calls the gateway cannot read.
async fn forward(
    state: &State,
    backend: Backend,
    req: &Request,
) -> Result<RawReply, UpstreamError> {
    let b = &state.config.backends;
    let (base, timeout) = match backend {
        Backend::ENOS => (&b.enos.url, b.enos.timeout),
        _ => (&b.netid.url, b.netid.timeout),
    };
    let mut headers = Vec::new();
    let pass = [
        ("content-type", &req.content_type),
        ("soapaction", &req.soap_action),
        ("authorization", &req.authorization),
        ("x-request-id", &req.request_id),
        ("x-forwarded-for", &req.client_addr),
    ];
    for (name, value) in pass {
        if let Some(v) = value {
            headers.push((name, v.clone()));
        }
    }
    let call = Call {
        backend: backend_label(backend),
        op: req.op.as_str(),
        base,
        path: &req.path,
        timeout,
        headers,
        body: req.body.clone(),
    };
    state.upstream.post(call).await
}

pub fn backend_label(backend: Backend) -> &'static str {
    backend.as_str()
}

/// Logs `id` out: locally first (so nothing in flight can bring it back), then at its backend.
async fn logout_session(
    state: &State,
    presented: &str,
    client_count: u64,
    outcome: &mut Outcome,
) -> Result<(), FetchError> {
    let id = &*resolve(state, presented)?;
    let cached = state.cache.remove(id).await;
    let backend = cached.map_or_else(|| backend_of_id(id), |s| s.backend);
    outcome.backend = Some(backend);
    fetch::logout(state, backend, id, client_count).await
}

/// The session behind a credential (token or session id), for forward-auth and protected apps.
pub async fn authorize(
    state: &State,
    credential: &str,
    request_id: &str,
    now: UnixTime,
) -> Result<Arc<Session>, Arc<FetchError>> {
    let mut outcome = Outcome::default();
    let lookup = lookup(state, credential, 0, now, &mut outcome);
    REQUEST_ID.scope(Arc::from(request_id), lookup).await
}

/// The backend session id behind what a client presented: a backend session id as it is, or a
/// gateway token, verified and mapped by its `jti`. Tokens are counted by verification result.
pub fn resolve<'a>(state: &State, presented: &'a str) -> Result<Cow<'a, str>, FetchError> {
    if !tokens::looks_like_jwt(presented) {
        return Ok(Cow::Borrowed(presented));
    }
    let verified = state.tokens.verify(presented);
    let session = verified
        .as_ref()
        .ok()
        .and_then(|claims| state.token_index.get(&claims.jti));
    let result = match (&verified, &session) {
        (Ok(_), Some(id)) if state.cache.is_logged_out(id) => "revoked",
        (Ok(_), Some(_)) => "valid",
        (Err(TokenRejection::Expired), _) => "expired",
        _ => "invalid",
    };
    state
        .metrics
        .tokens_verified
        .with_label_values(&[result])
        .inc();
    match session {
        Some(id) if result == "valid" => Ok(Cow::Owned(id.to_string())),
        Some(_) => Err(FetchError::Rejected(Rejection::LoggedOut)),
        None => Err(FetchError::Rejected(Rejection::Invalid)),
    }
}

/// The end of a native login: count it, answer the backend's bytes, and add a gateway token for
/// the session when there is one.
fn finish_login(
    state: &State,
    backend: Backend,
    raw: RawReply,
    (login_outcome, kind): (&'static str, Kind),
    session: Option<Arc<Session>>,
    now: UnixTime,
) -> Reply {
    state
        .metrics
        .logins
        .with_label_values(&[backend_label(backend), login_outcome])
        .inc();
    let mut reply = Reply::upstream(raw).with_kind(kind);
    reply
        .headers
        .extend(session.and_then(|s| token_header(state, &s, now)));
    reply
}

/// Mints a gateway token for a session just logged in, as the `X-Idbridge-Token` header.
fn token_header(state: &State, session: &Session, now: UnixTime) -> Option<(&'static str, String)> {
    match state.tokens.mint(session, &state.token_index, now) {
        Ok((token, _)) => {
            let backend = backend_label(session.backend);
            state
                .metrics
                .tokens_issued
                .with_label_values(&[backend])
                .inc();
            Some((TOKEN_HEADER, token))
        }
        Err(e) => {
            tracing::error!(error = %e, "minting a gateway token failed");
            None
        }
    }
}

fn fetch_error(face: Face, op: Op, e: &FetchError, count: u64) -> Reply {
    match e {
        FetchError::Rejected(why) => crate::respond::rejected(face, op, *why, count),
        FetchError::Upstream(e) => crate::respond::upstream_error(face, e),
    }
}

/// Ends a session for an operator: locally at once, then at its backend (the admin API).
pub async fn revoke(state: &State, id: &str, backend: Backend) -> Result<(), FetchError> {
    state.cache.remove(id).await;
    fetch::logout(state, backend, id, 0).await
}
