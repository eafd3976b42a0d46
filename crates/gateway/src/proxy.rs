//! The Pingora `ProxyHttp` implementation. Phases stay thin: gather request facts, call the pure
//! router or the interception core, write the result (DESIGN §4.1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use idbridge_session::UnixTime;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::{HttpPeer, ProxyHttp, Session};
use pingora::{Error, ErrorType, Result};

use crate::documents;
use crate::error::FetchError;
use crate::intercept::{self, Outcome, backend_label, unified};
use crate::respond::{self, Kind, Reply};
use crate::route::{self, Route, RouteInput};
use crate::state::State;

const REQUEST_ID: &str = "x-request-id";

/// The gateway as Pingora sees it. The state is swapped whole on reload; each request keeps the
/// snapshot it started with.
#[derive(Debug)]
pub struct GatewayProxy {
    state: Arc<ArcSwap<State>>,
}

/// Per-request facts, filled as the phases run.
#[derive(Debug)]
pub struct Ctx {
    state: Arc<State>,
    route: Route,
    started: Instant,
    request_id: String,
    outcome: Outcome,
    kind: Option<Kind>,
    /// For a protected app: the verified identity headers to send it.
    identity: Vec<(&'static str, String)>,
}

impl GatewayProxy {
    pub fn new(state: Arc<ArcSwap<State>>) -> Self {
        Self { state }
    }
}

#[async_trait]
impl ProxyHttp for GatewayProxy {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            state: self.state.load_full(),
            route: Route::NotFound,
            started: Instant::now(),
            request_id: String::new(),
            outcome: Outcome::default(),
            kind: None,
            identity: Vec::new(),
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        ctx.request_id = request_id(header(session, REQUEST_ID));
        let state = ctx.state.clone();
        let backends = &state.config.backends;
        let req = session.req_header();
        ctx.route = route::route(&RouteInput {
            method: req.method.as_str(),
            path: req.uri.path(),
            query: req.uri.query(),
            soap_action: header(session, "soapaction"),
            enos_logout_path: &backends.enos.logout_path,
            soap_path: &backends.netid.soap_path,
            app_prefixes: &state.app_prefixes,
        });
        let (face, op) = match ctx.route {
            Route::Proxy(backend) => {
                ctx.outcome.backend = Some(backend);
                return Ok(false);
            }
            Route::NotFound => {
                let reply = respond::gateway_error(404, "not_found", "no route for this path");
                write_reply(session, ctx, reply).await?;
                return Ok(true);
            }
            Route::Document(doc) => {
                let host = header(session, "host").unwrap_or("localhost").to_owned();
                write_reply(session, ctx, documents::serve(&state, doc, &host)).await?;
                return Ok(true);
            }
            Route::App(_) => {
                let credential = unified::credential_from(
                    header(session, "authorization"),
                    header(session, "cookie"),
                );
                let now = UnixTime::from_system(SystemTime::now());
                let verdict = match credential {
                    Some(c) => intercept::authorize(&state, c, &ctx.request_id, now)
                        .await
                        .map_err(Some),
                    None => Err(None),
                };
                match verdict {
                    Ok(s) => {
                        ctx.outcome.backend = Some(s.backend);
                        ctx.identity = unified::identity_headers(&s);
                        return Ok(false);
                    }
                    Err(e) => {
                        let upstream_down =
                            e.is_some_and(|e| matches!(*e, FetchError::Upstream(_)));
                        let reply = if upstream_down {
                            respond::gateway_error(
                                503,
                                "backend_unavailable",
                                "identity backend unavailable",
                            )
                        } else {
                            respond::gateway_error(
                                401,
                                "invalid_token",
                                "a valid gateway token or session is required",
                            )
                        };
                        write_reply(session, ctx, reply).await?;
                        return Ok(true);
                    }
                }
            }
            Route::Intercept { face, op } => (face, op),
        };
        let limit = state.config.limits.max_body_bytes;
        let body = match read_body(session, limit).await? {
            Some(body) => body,
            None => {
                // The rest of the body is unread: this connection cannot be reused.
                session.set_keepalive(None);
                write_reply(session, ctx, respond::too_large(face, limit)).await?;
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
            request_id: Some(ctx.request_id.clone()),
            client_addr: session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(|a| a.ip().to_string()),
            cookie: header(session, "cookie").map(str::to_owned),
            body,
        };
        let now = UnixTime::from_system(SystemTime::now());
        let (reply, outcome) = intercept::handle(&state, &request, now).await;
        ctx.outcome = outcome;
        write_reply(session, ctx, reply).await?;
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let url = match ctx.route {
            Route::Proxy(idbridge_session::Backend::ENOS) => &ctx.state.config.backends.enos.url,
            Route::Proxy(idbridge_session::Backend::NETID) => &ctx.state.config.backends.netid.url,
            Route::App(i) => match ctx.state.config.routes.get(i) {
                Some(app) => &app.upstream,
                None => {
                    return Err(Error::explain(
                        ErrorType::InternalError,
                        "app route vanished",
                    ));
                }
            },
            _ => {
                return Err(Error::explain(
                    ErrorType::InternalError,
                    "no upstream for this route",
                ));
            }
        };
        let addr = resolve(url).await?;
        Ok(Box::new(HttpPeer::new(addr, false, String::new())))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let Route::App(i) = ctx.route {
            // Only the gateway may say who the user is: drop whatever the client claimed.
            let claimed: Vec<_> = upstream
                .headers
                .keys()
                .filter(|k| k.as_str().starts_with("x-auth-request-"))
                .cloned()
                .collect();
            for name in claimed {
                upstream.remove_header(&name);
            }
            for (name, value) in std::mem::take(&mut ctx.identity) {
                upstream.insert_header(name, value)?;
            }
            if let Some(app) = ctx.state.config.routes.get(i).filter(|a| a.strip_prefix) {
                let stripped = strip_prefix(&upstream.uri, &app.prefix);
                upstream.set_uri(stripped);
            }
        }
        upstream.insert_header(REQUEST_ID, ctx.request_id.as_str())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.kind = Some(if resp.status.as_u16() >= 500 {
            Kind::UpstreamError
        } else {
            Kind::Ok
        });
        resp.insert_header(REQUEST_ID, ctx.request_id.as_str())
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let (face, op) = match ctx.route {
            Route::Intercept { face, op } => (face.as_str(), op.as_str()),
            Route::Proxy(_) => ("proxy", "passthrough"),
            Route::App(_) => ("app", "passthrough"),
            Route::Document(_) => ("document", "get"),
            Route::NotFound => ("none", "none"),
        };
        let backend = ctx.outcome.backend.map_or("none", backend_label);
        // A proxied request that failed before any answer (backend refused the connection) got
        // Pingora's own 502.
        let kind = ctx.kind.unwrap_or(if e.is_some() {
            Kind::UpstreamError
        } else {
            Kind::Ok
        });
        let elapsed = ctx.started.elapsed();
        let m = &ctx.state.metrics;
        m.requests
            .with_label_values(&[face, backend, op, kind.as_str()])
            .inc();
        m.request_duration
            .with_label_values(&[face, op])
            .observe(elapsed.as_secs_f64());
        tracing::info!(
            target: "idbridge::access",
            request_id = %ctx.request_id,
            method = %session.req_header().method,
            path = session.req_header().uri.path(),
            face,
            backend,
            operation = op,
            outcome = kind.as_str(),
            cache = ctx.outcome.cache.map(|c| c.as_str()),
            status,
            latency_ms = elapsed.as_secs_f64() * 1e3,
            error = e.map(|e| e.etype().as_str()),
        );
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
    while let Some(chunk) = session.read_request_body().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

async fn write_reply(session: &mut Session, ctx: &mut Ctx, reply: Reply) -> Result<()> {
    ctx.kind = Some(reply.kind);
    let mut resp = ResponseHeader::build(reply.status, Some(4 + reply.headers.len()))?;
    resp.insert_header("content-type", reply.content_type)?;
    resp.insert_header("content-length", reply.body.len().to_string())?;
    resp.insert_header(REQUEST_ID, ctx.request_id.as_str())?;
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
