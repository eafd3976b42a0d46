//! The Pingora `ProxyHttp` implementation. Each phase gathers facts, calls the router or the
//! interception core, and applies the result (DESIGN §4.1); none decides anything itself.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use idbridge_session::UnixTime;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::{HttpPeer, ProxyHttp, Session};
use pingora::proxy::FailToProxy;
use pingora::{Error, ErrorSource, ErrorType, Result};

use crate::access_log;
use crate::client::Client;
use crate::conn::RequestGuard;
use crate::documents;
use crate::error::{GatewayError, UpstreamError};
use crate::face::unified::{identity_headers, json_error};
use crate::face::{Intent, Op, Request, RouteInput, credential_from};
use crate::headers;
use crate::intercept::Facts;
use crate::metrics::{FaceLabel, OpLabel};
use crate::reply::{Outcome, Reply};
use crate::router::Target;
use crate::runtime::{Runtime, UNIFIED};

mod refusals;

use refusals::{gateway_error, head_bytes, refused, refused_head};

const REQUEST_ID: &str = "x-request-id";

/// The gateway as Pingora sees it. The runtime is swapped whole on reload; each request keeps
/// the snapshot it started with.
#[derive(Debug)]
pub struct GatewayProxy {
    runtime: Arc<ArcSwap<Runtime>>,
}

/// Per-request facts, filled as the phases run.
#[derive(Debug)]
pub struct Ctx {
    runtime: Arc<Runtime>,
    target: Target,
    started: Instant,
    /// When a proxied request must be over (the endpoint's `request_timeout`).
    deadline: Option<Instant>,
    /// When the request's body must be in (`server.body_timeout`).
    body_deadline: Option<Instant>,
    request_id: String,
    /// The client's address, from the connection and the headers trusted proxies add.
    client: Option<Client>,
    facts: Facts,
    outcome: Option<Outcome>,
    /// For a protected app: the verified identity headers to send it.
    identity: Vec<(&'static str, String)>,
    /// Marks the connection busy with this request (its header deadline is met) until dropped.
    _conn: Option<RequestGuard>,
}

impl GatewayProxy {
    pub fn new(runtime: Arc<ArcSwap<Runtime>>) -> Self {
        Self { runtime }
    }
}

#[async_trait]
impl ProxyHttp for GatewayProxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            runtime: self.runtime.load_full(),
            target: Target::NotFound,
            started: Instant::now(),
            deadline: None,
            body_deadline: None,
            request_id: String::new(),
            client: None,
            facts: Facts::default(),
            outcome: None,
            identity: Vec::new(),
            // Pingora makes the context once the request's header is in.
            _conn: RequestGuard::start(),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        // HTTP/1.1 pipelining (RFC 9112 §9.3.2): requests a client sent ahead are answered in
        // order. Off, Pingora answers the first and closes, dropping the rest on the floor.
        session.downstream_session.set_pipelining_enabled(true);
        ctx.request_id = request_id(header(session, REQUEST_ID));
        let rt = ctx.runtime.clone();
        // A proxied body: no read may wait longer than the whole body may take, and a body
        // still arriving past that is cut off (`request_body_filter`).
        let body_timeout = rt.config.server.connections.body_timeout;
        session.set_read_timeout(Some(body_timeout));
        ctx.body_deadline = Some(ctx.started + body_timeout);
        ctx.client = client(session, &rt.config.server.trusted_proxies);
        ctx.target = rt.router.route(&route_input(session));
        let limit = rt.config.limits.max_header_bytes;
        if head_bytes(session.req_header()) > limit {
            let reply = refused_head(&rt, ctx.target, limit);
            write_reply(session, ctx, reply).await?;
            return Ok(true);
        }
        let reply = match ctx.target {
            Target::Proxy { backend, .. } => {
                ctx.facts.backend = rt.backends.get(backend).map(|b| b.name());
                return Ok(false);
            }
            Target::App(_) => match authorize_app(&rt, session, ctx).await {
                None => return Ok(false),
                Some(refusal) => refusal,
            },
            Target::Document(doc) => {
                documents::serve(&rt, doc, header(session, "host").unwrap_or("localhost"))
            }
            Target::NotFound => gateway_error(&GatewayError::NoRoute),
            Target::Refused { face, why } => refused(&rt, face, why),
            Target::Face { face, op } => intercepted(&rt, session, ctx, face, op).await?,
        };
        write_reply(session, ctx, reply).await?;
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let endpoint = match ctx.target {
            Target::Proxy { backend, .. } => {
                ctx.runtime.backends.get(backend).map(|b| b.endpoint())
            }
            Target::App(i) => ctx.runtime.apps.get(i).map(|a| &a.endpoint),
            _ => None,
        }
        .ok_or_else(|| Error::explain(ErrorType::InternalError, "no upstream for this route"))?;
        ctx.deadline = Some(ctx.started + endpoint.timeouts().request);
        endpoint.peer().ok_or_else(|| {
            Error::explain(
                ErrorType::ConnectNoRoute,
                "the upstream's host has no known address",
            )
        })
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let Target::App(i) = ctx.target {
            // Only the gateway may say who the user is: drop whatever the client claimed,
            // however it spelt the header.
            let claimed: Vec<_> = upstream
                .headers
                .keys()
                .filter(|k| headers::is_identity(k.as_str()))
                .cloned()
                .collect();
            for name in claimed {
                upstream.remove_header(&name);
            }
            for (name, value) in std::mem::take(&mut ctx.identity) {
                upstream.insert_header(name, value)?;
            }
            if let Some(app) = ctx.runtime.apps.get(i) {
                if !app.forward_credentials {
                    headers::drop_credentials(upstream)?;
                }
                if app.strip_prefix {
                    let stripped = strip_prefix(&upstream.uri, &app.prefix);
                    upstream.set_uri(stripped);
                }
            }
        }
        upstream.insert_header(REQUEST_ID, ctx.request_id.as_str())?;
        // The client as the gateway resolved it, whatever the client wrote there itself.
        match ctx.client {
            Some(c) => upstream.insert_header("x-forwarded-for", c.addr.to_string()),
            None => Ok(()),
        }
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.outcome = Some(if resp.status.as_u16() >= 500 {
            Outcome::UpstreamError
        } else {
            Outcome::Ok
        });
        resp.insert_header(REQUEST_ID, ctx.request_id.as_str())
    }

    /// A proxied body still arriving past `server.body_timeout` is cut off.
    async fn request_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<()> {
        match ctx.body_deadline {
            Some(deadline) if Instant::now() > deadline => Err(Error::explain(
                ErrorType::ReadTimedout,
                "the request body took longer than server.body_timeout",
            )
            .into_down()),
            _ => Ok(()),
        }
    }

    /// A proxied request past its `request_timeout` is cut off, however its bytes trickle in
    /// (a stalled upstream is already stopped by `read_timeout`).
    fn upstream_response_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<std::time::Duration>> {
        match ctx.deadline {
            Some(deadline) if Instant::now() > deadline => Err(Error::explain(
                ErrorType::ReadTimedout,
                "the proxied request took longer than its request_timeout",
            )),
            _ => Ok(None),
        }
    }

    /// A proxied request that failed is answered in the caller's protocol, with the status the
    /// failure means (504 for a timeout), like every error the gateway makes.
    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        let reply = match proxy_failure(e) {
            // The client went away: there is nobody to answer.
            Failure::ClientGone => {
                return FailToProxy {
                    error_code: 0,
                    can_reuse_downstream: false,
                };
            }
            Failure::Client => json_error(400, "bad_request", "the request could not be read")
                .with_outcome(Outcome::BadRequest),
            Failure::ClientSlow => {
                let e = GatewayError::BodyTimeout;
                match ctx.target {
                    Target::Proxy { face, .. } => ctx.runtime.face(face).error(&e, None),
                    _ => gateway_error(&e),
                }
                .with_outcome(e.outcome())
            }
            Failure::Upstream(f) => {
                if f == UpstreamError::Tls {
                    let backend = ctx.facts.backend.map_or("app", |b| b.as_str());
                    tracing::warn!(backend, reason = %e, "TLS with the upstream failed; nothing was sent");
                }
                let e = GatewayError::Upstream(f);
                match ctx.target {
                    Target::Proxy { face, .. } => ctx.runtime.face(face).error(&e, None),
                    _ => gateway_error(&e),
                }
            }
        };
        let code = reply.status;
        ctx.outcome = Some(match reply.outcome {
            Outcome::Ok => Outcome::UpstreamError,
            client => client,
        });
        if let Ok(resp) = response_header(&reply, &ctx.request_id)
            && let Err(e) = session
                .as_downstream_mut()
                .write_error_response(resp, reply.body)
                .await
        {
            tracing::debug!(error = %e, "the error answer could not be written");
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let (face, op) = match ctx.target {
            Target::Face { face, op } => (FaceLabel::Face(face), OpLabel::Op(op)),
            Target::Proxy { .. } => (FaceLabel::Proxy, OpLabel::Passthrough),
            Target::App(_) => (FaceLabel::App, OpLabel::Passthrough),
            Target::Document(_) => (FaceLabel::Document, OpLabel::Get),
            Target::NotFound => (FaceLabel::None, OpLabel::None),
            Target::Refused { face, .. } => (
                face.map_or(FaceLabel::None, FaceLabel::Face),
                OpLabel::Refused,
            ),
        };
        // A proxied request that failed before any answer got an error answer of ours.
        let outcome = ctx.outcome.unwrap_or(if e.is_some() {
            Outcome::UpstreamError
        } else {
            Outcome::Ok
        });
        let elapsed = ctx.started.elapsed();
        let series = &ctx.runtime.requests;
        let backend = ctx.facts.backend;
        series.record(face, backend, op, outcome, elapsed.as_secs_f64());
        access_log::record(&access_log::Entry {
            request_id: &ctx.request_id,
            method: session.req_header().method.as_str(),
            path: session.req_header().uri.path(),
            face: series.face_name(face),
            backend: backend.map_or("none", |b| b.as_str()),
            operation: op.as_str(),
            outcome: outcome.as_str(),
            cache: ctx.facts.cache.map(|c| c.as_str()),
            status,
            latency_ms: elapsed.as_secs_f64() * 1e3,
            error: e.map(|e| e.etype().as_str()),
        });
    }

    /// What Pingora puts in its own error logs: method and path only. A query string may carry a
    /// token, and the Host header adds nothing here.
    fn request_summary(&self, session: &Session, ctx: &Ctx) -> String {
        let req = session.req_header();
        format!(
            "{} {} request_id={}",
            req.method,
            req.uri.path(),
            ctx.request_id
        )
    }
}

/// A protected app's request: `None` to proxy it (the identity is in `ctx`), or the refusal.
async fn authorize_app(rt: &Runtime, session: &Session, ctx: &mut Ctx) -> Option<Reply> {
    let credential = credential_from(header(session, "authorization"), header(session, "cookie"));
    let client = ctx.client.map(|c| c.addr.to_string());
    match rt
        .authorize(
            credential,
            client.as_deref(),
            &ctx.request_id,
            now(),
            &mut ctx.facts,
        )
        .await
    {
        Ok(s) => {
            ctx.identity = identity_headers(&s);
            None
        }
        Err(e) => {
            let intent = Intent::Authorize { credential: None };
            Some(
                rt.face(UNIFIED)
                    .error(&e, Some(&intent))
                    .with_outcome(e.outcome()),
            )
        }
    }
}

/// Whose fault a failed proxied request was.
enum Failure {
    ClientGone,
    Client,
    /// The client's body did not arrive within `server.body_timeout`.
    ClientSlow,
    Upstream(UpstreamError),
}

fn proxy_failure(e: &Error) -> Failure {
    let client = e.esource() == &ErrorSource::Downstream;
    match e.etype() {
        ErrorType::HTTPStatus(code) => Failure::Upstream(UpstreamError::Status(*code)),
        ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed if client => {
            Failure::ClientGone
        }
        ErrorType::ReadTimedout if client => Failure::ClientSlow,
        _ if client => Failure::Client,
        ErrorType::ConnectTimedout
        | ErrorType::ReadTimedout
        | ErrorType::WriteTimedout
        | ErrorType::TLSHandshakeTimedout => Failure::Upstream(UpstreamError::Timeout),
        ErrorType::ConnectRefused | ErrorType::ConnectNoRoute | ErrorType::ConnectError => {
            Failure::Upstream(UpstreamError::Unreachable)
        }
        ErrorType::TLSHandshakeFailure | ErrorType::InvalidCert | ErrorType::HandshakeError => {
            Failure::Upstream(UpstreamError::Tls)
        }
        _ => Failure::Upstream(UpstreamError::Status(502)),
    }
}

/// An intercepted call: its body read (within the limit) and answered by the runtime.
async fn intercepted(
    rt: &Runtime,
    session: &mut Session,
    ctx: &mut Ctx,
    face: usize,
    op: Op,
) -> Result<Reply> {
    let limit = rt.config.limits.max_body_bytes;
    let within = rt.config.server.connections.body_timeout;
    let body = match tokio::time::timeout(within, read_body(session, limit)).await {
        Ok(Ok(Some(body))) => Ok(body),
        Ok(Ok(None)) => Err(GatewayError::TooLarge { limit }),
        Ok(Err(e)) if e.etype() == &ErrorType::ReadTimedout => Err(GatewayError::BodyTimeout),
        Ok(Err(e)) => return Err(e),
        Err(_) => Err(GatewayError::BodyTimeout),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            // The rest of the body is unread: this connection cannot be reused.
            session.set_keepalive(None);
            return Ok(rt.face(face).error(&e, None).with_outcome(e.outcome()));
        }
    };
    let req = request(session, ctx, body);
    let (reply, facts) = rt.handle(face, op, &req, now()).await;
    ctx.facts = facts;
    Ok(reply)
}

fn now() -> UnixTime {
    UnixTime::from_system(SystemTime::now())
}

fn route_input(session: &Session) -> RouteInput<'_> {
    let req = session.req_header();
    RouteInput {
        method: req.method.as_str(),
        path: req.uri.path(),
        query: req.uri.query(),
        soap_action: header(session, "soapaction"),
    }
}

/// What an intercepted call's face and backend may read of the request.
fn request(session: &Session, ctx: &Ctx, body: Bytes) -> Request {
    let owned = |name| header(session, name).map(str::to_owned);
    Request {
        path: session.req_header().uri.path().to_owned(),
        authorization: owned("authorization"),
        cookie: owned("cookie"),
        soap_action: owned("soapaction"),
        content_type: owned("content-type"),
        request_id: Some(ctx.request_id.clone()),
        client_addr: ctx.client.map(|c| c.addr.to_string()),
        via_trusted_proxy: ctx.client.is_some_and(|c| c.via_trusted_proxy),
        body,
    }
}

/// The client of this connection ([`crate::client::resolve`]).
fn client(session: &Session, trusted: &[ipnet::IpNet]) -> Option<Client> {
    let peer = session.client_addr()?.as_inet()?.ip();
    Some(crate::client::resolve(
        peer,
        header(session, "forwarded"),
        header(session, "x-forwarded-for"),
        trusted,
    ))
}

/// `uri` without `prefix` at the front of its path (query kept); `/` when nothing is left.
fn strip_prefix(uri: &http::Uri, prefix: &str) -> http::Uri {
    let rest = uri
        .path()
        .strip_prefix(prefix.trim_end_matches('/'))
        .unwrap_or(uri.path());
    let path = if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    };
    let target = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    target.parse().unwrap_or_else(|_| uri.clone())
}

fn header<'a>(session: &'a Session, name: &str) -> Option<&'a str> {
    session
        .req_header()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
}

/// The client's `X-Request-Id` when it is a sane token, else a fresh random one.
fn request_id(given: Option<&str>) -> String {
    match given {
        Some(id)
            if !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)) =>
        {
            id.to_owned()
        }
        _ => format!("{:032x}", rand::random::<u128>()),
    }
}

/// The whole request body, or `None` when it exceeds `limit` (declared or actual).
async fn read_body(session: &mut Session, limit: usize) -> Result<Option<Bytes>> {
    let declared = header(session, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    // curl and most clients wait for this before sending a body over 1 KiB (a Net iD login with
    // its certificate is); Pingora leaves it to whoever reads the body.
    if header(session, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        session
            .as_downstream_mut()
            .write_continue_response()
            .await?;
    }
    let mut body = BytesMut::new();
    // Whatever goes wrong reading it is the client's doing.
    while let Some(chunk) = session
        .read_request_body()
        .await
        .map_err(|e| e.into_down())?
    {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

fn response_header(reply: &Reply, request_id: &str) -> Result<ResponseHeader> {
    let mut resp = ResponseHeader::build(reply.status, Some(4 + reply.headers.len()))?;
    resp.insert_header("content-type", reply.content_type.as_ref())?;
    resp.insert_header("content-length", reply.body.len().to_string())?;
    resp.insert_header(REQUEST_ID, request_id)?;
    for (name, value) in &reply.headers {
        resp.insert_header(*name, value.as_str())?;
    }
    Ok(resp)
}

async fn write_reply(session: &mut Session, ctx: &mut Ctx, reply: Reply) -> Result<()> {
    ctx.outcome = Some(reply.outcome);
    let resp = response_header(&reply, &ctx.request_id)?;
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(reply.body), true).await
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_kept_when_sane_and_made_otherwise() {
        assert_eq!(request_id(Some("abc-123_x.y:z")), "abc-123_x.y:z");
        for bad in [None, Some(""), Some("has space"), Some("new\nline")] {
            let made = request_id(bad);
            assert_eq!(made.len(), 32);
            assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(request_id(None), request_id(None));
        assert_eq!(request_id(Some(&"a".repeat(129))).len(), 32);
    }
}
