//! Calls the gateway itself makes to a backend (logins it intercepts, status fetches on a cache
//! miss, logouts), over one pooled keep-alive HTTP client. Pass-through traffic does not come here:
//! Pingora proxies it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;
use url::Url;

use crate::config::Config;
use crate::error::UpstreamError;
use crate::metrics::Metrics;

tokio::task_local! {
    /// The `X-Request-Id` of the client request being served. Set around the interception core
    /// so that every call the gateway makes on a request's behalf (a status fetch on a miss, a
    /// logout) carries it without threading it through each function. A coalesced fetch runs in
    /// the first caller's task and so carries that caller's id.
    pub static REQUEST_ID: Arc<str>;
}

/// A backend's answer at the HTTP level: status, headers, body, untouched.
#[derive(Clone, Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One outgoing call.
#[derive(Debug)]
pub struct Call<'a> {
    /// Metric labels: `enos`/`netid` and `login`/`status`/`logout`/`forward`.
    pub backend: &'static str,
    pub op: &'static str,
    pub base: &'a Url,
    pub path: &'a str,
    pub timeout: Duration,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

/// The pooled client for gateway-originated backend calls.
#[derive(Clone, Debug)]
pub struct Upstream {
    http: reqwest::Client,
    max_body: usize,
    metrics: Metrics,
}

// === impl Upstream ===

impl Upstream {
    pub fn new(config: &Config, metrics: Metrics) -> Result<Self, UpstreamError> {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .connect_timeout(
                config
                    .backends
                    .enos
                    .timeout
                    .min(config.backends.netid.timeout),
            )
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| UpstreamError::BadResponse(format!("building the HTTP client: {e}")))?;
        // Backend answers are read whole to be normalised; bound them generously but firmly.
        Ok(Self {
            http,
            max_body: 4 << 20,
            metrics,
        })
    }

    /// POSTs and returns the backend's answer. 429 and 5xx are errors (the caller never has to
    /// tell "down" from "no"); every other status is returned for the protocol layer to judge.
    pub async fn post(&self, call: Call<'_>) -> Result<RawReply, UpstreamError> {
        let (backend, op) = (call.backend, call.op);
        let started = Instant::now();
        let result = self.send(call).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(UpstreamError::Unreachable) => "unavailable",
            Err(UpstreamError::Timeout) => "timeout",
            Err(UpstreamError::Throttled) => "throttled",
            Err(UpstreamError::Status(_) | UpstreamError::BadResponse(_)) => "error",
        };
        self.metrics
            .upstream_requests
            .with_label_values(&[backend, op, outcome])
            .inc();
        self.metrics
            .upstream_duration
            .with_label_values(&[backend, op])
            .observe(started.elapsed().as_secs_f64());
        result
    }

    async fn send(&self, call: Call<'_>) -> Result<RawReply, UpstreamError> {
        let url = call
            .base
            .join(call.path)
            .map_err(|e| UpstreamError::BadResponse(format!("bad upstream path: {e}")))?;
        let mut req = self.http.post(url).timeout(call.timeout).body(call.body);
        let given = call.headers.iter().any(|(name, _)| *name == "x-request-id");
        if let (false, Ok(id)) = (given, REQUEST_ID.try_with(Arc::clone)) {
            req = req.header("x-request-id", &*id);
        }
        for (name, value) in call.headers {
            req = req.header(name, value);
        }
        let resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        if status == 429 {
            return Err(UpstreamError::Throttled);
        }
        if status >= 500 {
            return Err(UpstreamError::Status(status));
        }
        let headers = resp.headers().clone();
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_body as u64)
        {
            return Err(UpstreamError::BadResponse("answer too large".into()));
        }
        let body = resp.bytes().await.map_err(classify)?;
        if body.len() > self.max_body {
            return Err(UpstreamError::BadResponse("answer too large".into()));
        }
        Ok(RawReply {
            status,
            headers,
            body,
        })
    }
}

fn classify(e: reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        UpstreamError::Timeout
    } else if e.is_connect() {
        UpstreamError::Unreachable
    } else if e.is_body() || e.is_decode() {
        UpstreamError::BadResponse("answer cut short".into())
    } else {
        UpstreamError::Unreachable
    }
}
