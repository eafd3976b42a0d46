//! Endpoints: how the gateway reaches one backend or protected app, built once per configuration.
//!
//! An endpoint is where a URL becomes connections, for all three kinds of traffic alike: proxied
//! requests (the Pingora peer, [`Endpoint::peer`]), the gateway's own calls (its HTTP client,
//! [`Endpoint::post`]), and the readiness probe ([`Endpoint::probe`]). So addresses, timeouts and
//! TLS are configured in one place. An `https://` endpoint verifies the upstream's certificate
//! for its host (or the configured `sni`) against the system's roots (or `ca_file`), in both the
//! proxy and the gateway's own calls; a failure is an error, never a fallback to plain or to
//! unverified.
//!
//! Addresses are resolved when the endpoint is built and refreshed in the background
//! ([`Endpoint::refresh`]); a request never waits for DNS. When a refresh fails the last good
//! addresses are kept. An IP literal is never looked up.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::HeaderMap;
use pingora::prelude::HttpPeer;
use url::Url;

use crate::config::Timeouts;
use crate::error::UpstreamError;
use crate::metrics::Metrics;
use crate::tls::UpstreamTls;

tokio::task_local! {
    /// The `X-Request-Id` of the client request being served. Set around the interception core
    /// so that every call the gateway makes on a request's behalf (a status fetch on a miss, a
    /// logout) carries it without threading it through each function. A coalesced fetch runs in
    /// the first caller's task and so carries that caller's id.
    pub static REQUEST_ID: Arc<str>;
}

/// Backend answers are read whole to be normalised; bounded generously but firmly.
const MAX_ANSWER: usize = 4 << 20;

/// One outgoing call the gateway makes itself.
#[derive(Debug)]
pub struct Call<'a> {
    /// The `operation` label: `login`, `status`, `logout` or `forward`.
    pub op: &'static str,
    pub path: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

/// A backend's answer at the HTTP level: status, headers, body, untouched.
#[derive(Clone, Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Endpoint {
    /// The `backend` label of upstream metrics, and the name in log lines.
    label: &'static str,
    url: Url,
    /// `url` with the host the gateway's own calls name (the `sni` override, when set): the
    /// HTTP client connects through this endpoint's addresses whatever the name.
    call_base: Url,
    tls: Option<UpstreamTls>,
    host: String,
    port: u16,
    literal: bool,
    addrs: Arc<ArcSwap<Vec<SocketAddr>>>,
    /// One Pingora peer per address, with the timeouts set: cloned for each proxied request.
    peers: ArcSwap<Vec<HttpPeer>>,
    next: AtomicUsize,
    timeouts: Timeouts,
    http: reqwest::Client,
    /// Permits for the gateway's own calls in flight (`max_concurrent_calls`).
    calls: tokio::sync::Semaphore,
    metrics: Metrics,
}

/// The HTTP client's resolver: this endpoint's current addresses, never a lookup.
#[derive(Debug)]
struct Addresses(Arc<ArcSwap<Vec<SocketAddr>>>);

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("`{0}` has no host")]
    NoHost(Url),
    #[error("building the HTTP client: {0}")]
    Client(String),
    #[error("`{0}` is an https:// URL but no TLS settings were given")]
    NoTls(Url),
}

// === impl Endpoint ===

impl Endpoint {
    /// An endpoint for `url` (scheme, host and port are used; paths are the caller's). Nothing
    /// is resolved or connected yet: call [`Endpoint::refresh`] before serving.
    pub fn new(
        label: &'static str,
        url: &Url,
        timeouts: Timeouts,
        tls: Option<UpstreamTls>,
        max_calls: usize,
        metrics: Metrics,
    ) -> Result<Self, EndpointError> {
        if url.scheme() == "https" && tls.is_none() {
            return Err(EndpointError::NoTls(url.clone()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| EndpointError::NoHost(url.clone()))?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let literal = host.parse::<IpAddr>().ok();
        let initial = literal.map(|ip| vec![SocketAddr::new(ip, port)]);
        let addrs = Arc::new(ArcSwap::from_pointee(initial.unwrap_or_default()));
        let mut http = reqwest::Client::builder()
            .dns_resolver(Arc::new(Addresses(addrs.clone())))
            .connect_timeout(timeouts.connect)
            .pool_idle_timeout(timeouts.idle)
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(tls.is_some())
            .use_rustls_tls();
        let mut call_base = url.clone();
        if let Some(t) = &tls {
            if !t.http_roots.is_empty() {
                http = http.tls_built_in_root_certs(false);
            }
            for root in &t.http_roots {
                http = http.add_root_certificate(root.clone());
            }
            if let Some(identity) = &t.http_identity {
                http = http.identity(identity.clone());
            }
            // The name to verify goes in the URL; the resolver still connects to this
            // endpoint's addresses, whatever the name.
            if t.sni != host {
                let _ = call_base.set_host(Some(&t.sni));
            }
        }
        let http = http
            .build()
            .map_err(|e| EndpointError::Client(e.to_string()))?;
        let peers = ArcSwap::from_pointee(peers(&addrs.load(), &timeouts, tls.as_ref()));
        Ok(Self {
            label,
            url: url.clone(),
            call_base,
            tls,
            host,
            port,
            literal: literal.is_some(),
            addrs,
            peers,
            next: AtomicUsize::new(0),
            timeouts,
            http,
            calls: tokio::sync::Semaphore::new(max_calls.min(tokio::sync::Semaphore::MAX_PERMITS)),
            metrics,
        })
    }

    pub fn label(&self) -> &'static str {
        self.label
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// The addresses connections go to now.
    pub fn addresses(&self) -> Arc<Vec<SocketAddr>> {
        self.addrs.load_full()
    }

    /// Looks the host up again (never on a request's path). A failed or empty lookup keeps the
    /// addresses already known; returns whether any address is known.
    pub async fn refresh(&self) -> bool {
        if self.literal {
            return true;
        }
        match tokio::net::lookup_host((self.host.as_str(), self.port)).await {
            Ok(found) => {
                let mut found: Vec<SocketAddr> = found.collect();
                found.sort();
                found.dedup();
                if !found.is_empty() && *self.addrs.load_full() != found {
                    tracing::info!(endpoint = self.label, addresses = ?found, "endpoint resolved");
                    self.peers
                        .store(Arc::new(peers(&found, &self.timeouts, self.tls.as_ref())));
                    self.addrs.store(Arc::new(found));
                }
            }
            Err(e) => {
                tracing::warn!(endpoint = self.label, host = %self.host, error = %e,
                    "resolving the endpoint failed; keeping its last addresses");
            }
        }
        !self.addrs.load().is_empty()
    }

    /// The Pingora peer for one proxied request: the next address in turn, with this
    /// endpoint's timeouts. `None` while no address is known.
    pub fn peer(&self) -> Option<Box<HttpPeer>> {
        let peers = self.peers.load();
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % peers.len().max(1);
        peers.get(turn).map(|p| Box::new(p.clone()))
    }

    /// Whether the endpoint accepts a TCP connection within its connect timeout (at most 1 s).
    pub async fn probe(&self) -> bool {
        let Some(addr) = self.addrs.load().first().copied() else {
            return false;
        };
        let limit = self.timeouts.connect.min(Duration::from_secs(1));
        matches!(
            tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await,
            Ok(Ok(_))
        )
    }

    /// POSTs one call and returns the answer. 429 and 5xx are errors (a caller never has to
    /// tell "down" from "no"); every other status is returned for the protocol layer to judge.
    pub async fn post(&self, call: Call<'_>) -> Result<RawReply, UpstreamError> {
        let op = call.op;
        let started = Instant::now();
        let result = self.send(call).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.label(),
        };
        self.metrics
            .upstream_requests
            .with_label_values(&[self.label, op, outcome])
            .inc();
        self.metrics
            .upstream_duration
            .with_label_values(&[self.label, op])
            .observe(started.elapsed().as_secs_f64());
        result
    }

    async fn send(&self, call: Call<'_>) -> Result<RawReply, UpstreamError> {
        let Ok(_permit) = self.calls.try_acquire() else {
            return Err(UpstreamError::Busy);
        };
        let url = self
            .call_base
            .join(call.path)
            .map_err(|e| UpstreamError::BadResponse(format!("bad upstream path: {e}")))?;
        let mut req = self
            .http
            .post(url)
            .timeout(self.timeouts.call)
            .body(call.body);
        let given = call.headers.iter().any(|(name, _)| *name == "x-request-id");
        if let (false, Ok(id)) = (given, REQUEST_ID.try_with(Arc::clone)) {
            req = req.header("x-request-id", &*id);
        }
        for (name, value) in call.headers {
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        if status == 429 {
            return Err(UpstreamError::Throttled);
        }
        if status >= 500 {
            return Err(UpstreamError::Status(status));
        }
        let headers = resp.headers().clone();
        if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
            return Err(UpstreamError::BadResponse("answer too large".into()));
        }
        let body = resp.bytes().await.map_err(|e| self.classify(e))?;
        if body.len() > MAX_ANSWER {
            return Err(UpstreamError::BadResponse("answer too large".into()));
        }
        Ok(RawReply {
            status,
            headers,
            body,
        })
    }
}

/// The peer template of each address.
fn peers(addrs: &[SocketAddr], t: &Timeouts, tls: Option<&UpstreamTls>) -> Vec<HttpPeer> {
    addrs
        .iter()
        .map(|addr| {
            let sni = tls.map(|t| t.sni.clone()).unwrap_or_default();
            let mut peer = HttpPeer::new(*addr, tls.is_some(), sni);
            if let Some(tls) = tls {
                peer.options.verify_cert = true;
                peer.options.verify_hostname = true;
                peer.options.ca = tls.ca.clone();
                peer.client_cert_key = tls.client_cert.clone();
            }
            peer.options.connection_timeout = Some(t.connect);
            peer.options.read_timeout = Some(t.read);
            peer.options.write_timeout = Some(t.write);
            peer.options.idle_timeout = Some(t.idle);
            peer
        })
        .collect()
}

impl Endpoint {
    /// What a failed call means; a TLS failure is logged with its reason, here, once.
    fn classify(&self, e: reqwest::Error) -> UpstreamError {
        if e.is_timeout() {
            return UpstreamError::Timeout;
        }
        if e.is_body() || e.is_decode() {
            return UpstreamError::BadResponse("answer cut short".into());
        }
        let chain = error_chain(&e);
        if self.tls.is_some() && is_tls_failure(&chain) {
            tracing::warn!(endpoint = self.label, url = %self.url, reason = %chain,
                "TLS with the upstream failed; nothing was sent");
            return UpstreamError::Tls;
        }
        UpstreamError::Unreachable
    }
}

/// An error and its sources, as one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Whether a connection failed in the TLS handshake (rustls' certificate and alert errors).
fn is_tls_failure(chain: &str) -> bool {
    let chain = chain.to_ascii_lowercase();
    ["certificate", "handshake", "alert", "tls"]
        .iter()
        .any(|w| chain.contains(w))
}

// === impl Addresses ===

impl reqwest::dns::Resolve for Addresses {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addrs = self.0.load_full();
        Box::pin(async move {
            if addrs.is_empty() {
                return Err("the endpoint's host has not been resolved".into());
            }
            let iter: reqwest::dns::Addrs = Box::new((*addrs).clone().into_iter());
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeouts() -> Timeouts {
        let s = Duration::from_secs(1);
        Timeouts {
            connect: s,
            read: s,
            write: s,
            idle: s,
            request: s,
            call: s,
        }
    }

    #[tokio::test]
    async fn literals_need_no_lookup_and_names_are_resolved_off_the_request_path() {
        let m = Metrics::new().unwrap();
        let lit = Endpoint::new(
            "a",
            &"http://127.0.0.1:9".parse().unwrap(),
            timeouts(),
            None,
            8,
            m.clone(),
        )
        .unwrap();
        assert_eq!(*lit.addresses(), vec!["127.0.0.1:9".parse().unwrap()]);
        let peer = lit.peer().unwrap();
        assert_eq!(peer.options.read_timeout, Some(Duration::from_secs(1)));

        let named = Endpoint::new(
            "b",
            &"http://localhost:9".parse().unwrap(),
            timeouts(),
            None,
            8,
            m,
        )
        .unwrap();
        assert!(
            named.peer().is_none(),
            "nothing known before the first refresh"
        );
        assert!(named.refresh().await);
        assert!(named.addresses().iter().all(|a| a.port() == 9));
        assert!(named.peer().is_some());
    }
}
