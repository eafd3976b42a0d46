//! The Pingora `ProxyHttp` implementation. Phases stay thin: gather request facts, call the pure
//! router or the interception core, write the result (DESIGN §4.1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use idbridge_session::{Backend, UnixTime};
use pingora::http::ResponseHeader;
use pingora::prelude::{HttpPeer, ProxyHttp, Session};
use pingora::{Error, ErrorType, Result};

use crate::intercept::{self, Outcome};
use crate::respond::{self, Reply};
use crate::route::{self, Route, RouteInput};
use crate::state::State;

/// The gateway as Pingora sees it.
#[derive(Debug)]
pub struct GatewayProxy {
    state: Arc<State>,
}

/// Per-request facts, filled as the phases run.
#[derive(Debug)]
pub struct Ctx {
    route: Route,
    started: Instant,
    outcome: Outcome,
}

impl GatewayProxy {
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }
}

#[async_trait]
impl ProxyHttp for GatewayProxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            route: Route::NotFound,
            started: Instant::now(),
            outcome: Outcome::default(),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let backends = &self.state.config.backends;
        let req = session.req_header();
        ctx.route = route::route(&RouteInput {
            method: req.method.as_str(),
            path: req.uri.path(),
            soap_action: header(session, "soapaction"),
            enos_logout_path: &backends.enos.logout_path,
            soap_path: &backends.netid.soap_path,
        });
        let (face, op) = match ctx.route {
            Route::Proxy(backend) => {
                ctx.outcome.backend = Some(backend);
                return Ok(false);
            }
            Route::NotFound => {
                let reply = respond::gateway_error(404, "not_found", "no route for this path");
                write_reply(session, reply).await?;
                return Ok(true);
            }
            Route::Intercept { face, op } => (face, op),
        };
        let limit = self.state.config.limits.max_body_bytes;
        let body = match read_body(session, limit).await? {
            Some(body) => body,
            None => {
                // The rest of the body is unread: this connection cannot be reused.
                session.set_keepalive(None);
                write_reply(session, respond::too_large(face, limit)).await?;
                return Ok(true);
            }
        };
        let request = intercept::Request {
            face,
            op,
            path: session.req_header().uri.path().to_owned(),
            authorization: header(session, "authorization").map(str::to_owned),
            soap_action: header(session, "soapaction").map(str::to_owned),
            content_type: header(session, "content-type").map(str::to_owned),
            request_id: header(session, "x-request-id").map(str::to_owned),
            client_addr: session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(|a| a.ip().to_string()),
            body,
        };
        let now = UnixTime::from_system(SystemTime::now());
        let (reply, outcome) = intercept::handle(&self.state, &request, now).await;
        ctx.outcome = outcome;
        write_reply(session, reply).await?;
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let Route::Proxy(backend) = ctx.route else {
            return Err(Error::explain(
                ErrorType::InternalError,
                "no upstream for this route",
            ));
        };
        let url = match backend {
            Backend::Enos => &self.state.config.backends.enos.url,
            Backend::Netid => &self.state.config.backends.netid.url,
        };
        let addr = resolve(url).await?;
        Ok(Box::new(HttpPeer::new(addr, false, String::new())))
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let (face, op) = match ctx.route {
            Route::Intercept { face, op } => (face.as_str(), op.as_str()),
            Route::Proxy(_) => ("proxy", "passthrough"),
            Route::NotFound => ("none", "none"),
        };
        tracing::info!(
            method = %session.req_header().method,
            path = session.req_header().uri.path(),
            face,
            op,
            backend = ctx.outcome.backend.map(|b| format!("{b:?}").to_lowercase()),
            cache = ctx.outcome.cache.map(|c| c.as_str()),
            status,
            latency_ms = ctx.started.elapsed().as_secs_f64() * 1e3,
            error = e.map(|e| e.etype().as_str()),
            "request"
        );
    }
}

fn header<'a>(session: &'a Session, name: &str) -> Option<&'a str> {
    session
        .req_header()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
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
    while let Some(chunk) = session.read_request_body().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

async fn write_reply(session: &mut Session, reply: Reply) -> Result<()> {
    let mut resp = ResponseHeader::build(reply.status, Some(3 + reply.headers.len()))?;
    resp.insert_header("content-type", reply.content_type)?;
    resp.insert_header("content-length", reply.body.len().to_string())?;
    for (name, value) in reply.headers {
        resp.insert_header(name, value)?;
    }
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(reply.body), true).await
}

/// Resolves a backend URL without blocking the runtime (Pingora's own helper would panic on a
/// failed lookup); an IP literal never touches DNS.
async fn resolve(url: &url::Url) -> Result<SocketAddr> {
    let host = url
        .host_str()
        .unwrap_or("127.0.0.1")
        .trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(80);
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::because(ErrorType::ConnectNoRoute, "resolving the backend", e))?;
    addrs
        .next()
        .ok_or_else(|| Error::explain(ErrorType::ConnectNoRoute, "backend name has no address"))
}
