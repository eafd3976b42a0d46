//! Prometheus metrics with identity meaning (DESIGN §3), all prefixed `idbridge_`.
//!
//! Each gateway owns its registry, so several gateways in one process (tests) never collide.
//! Label values come from small closed sets (faces, operations, outcomes), never from request
//! data, so the series count stays bounded whatever clients send.

mod requests;

pub use requests::{FaceLabel, OpLabel, RequestSeries};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Latency buckets from a cache hit (tens of microseconds) to a slow backend (seconds).
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub upstream_requests: IntCounterVec,
    pub upstream_duration: HistogramVec,
    pub cache_lookups: IntCounterVec,
    /// `cache_lookups`' handles, one per [`crate::store::Lookup`], resolved once: a cache hit
    /// counts itself without hashing its label.
    lookups: [IntCounter; crate::store::Lookup::ALL.len()],
    pub sessions: IntGaugeVec,
    pub logins: IntCounterVec,
    pub tokens_issued: IntCounterVec,
    pub tokens_verified: IntCounterVec,
    pub backend_up: IntGaugeVec,
    /// When each certificate the gateway presents expires, in seconds since 1970.
    pub certificate_expiry: IntGaugeVec,
    /// Calls refused by the gateway's own limits, by face and reason.
    pub throttled: IntCounterVec,
    /// Open client connections.
    pub client_connections: IntGauge,
    /// `server.max_connections`, for alerting on the ratio.
    pub client_connections_limit: IntGauge,
    /// Client connections the gateway closed itself, by reason.
    pub client_connections_closed: IntCounterVec,
    /// Whether the session store answers: always 1 in one process; 0 while Redis is unreachable.
    pub store_up: IntGauge,
    /// Redis calls that failed or timed out, by operation.
    pub store_errors: IntCounterVec,
    /// Revocations made while Redis was unreachable, waiting to be shared.
    pub store_pending_revocations: IntGauge,
    /// Revocations other replicas announced, applied here.
    pub revocations_received: IntCounter,
}

/// Label values the gateway writes, each list kept in step with the code that writes it (a
/// test compares them with a scrape after traffic): exported at zero from start.
const TOKEN_RESULTS: [&str; 4] = ["valid", "invalid", "expired", "revoked"];
const CLOSE_REASONS: [&str; 3] = ["max_connections", "header_timeout", "keepalive_timeout"];
const THROTTLE_REASONS: [&str; 3] = ["login_address", "login_account", "lookup_address"];
const LOGIN_OUTCOMES: [&str; 6] = [
    "success",
    "bad_credentials",
    "locked",
    "expired",
    "disabled",
    "error",
];
const UPSTREAM_OPS: [&str; 3] = ["login", "status", "logout"];
const UPSTREAM_OUTCOMES: [&str; 7] = [
    "ok",
    "unavailable",
    "timeout",
    "throttled",
    "tls",
    "busy",
    "error",
];

/// The `op` labels of `idbridge_store_errors_total`, exported at zero from start.
pub const STORE_OPS: [&str; 8] = [
    "load",
    "save",
    "revoke",
    "count",
    "throttle",
    "index",
    "subscribe",
    "ping",
];

// === impl Metrics ===

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let gauge =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
                let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(g.clone()))?;
                Ok(g)
            };
        let single = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let histogram =
            |name: &str, help: &str, labels: &[&str]| -> Result<HistogramVec, prometheus::Error> {
                let h = HistogramVec::new(
                    HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
                    labels,
                )?;
                registry.register(Box::new(h.clone()))?;
                Ok(h)
            };
        let cache_lookups = counter(
            "idbridge_cache_lookups_total",
            "Session cache lookups by result (hit, miss, stale, coalesced, refused, shared).",
            &["result"],
        )?;
        let metrics = Self {
            requests: counter(
                "idbridge_requests_total",
                "Requests by face, backend, operation and outcome.",
                &["face", "backend", "operation", "outcome"],
            )?,
            request_duration: histogram(
                "idbridge_request_duration_seconds",
                "Time to answer a request, by face and operation.",
                &["face", "operation"],
            )?,
            upstream_requests: counter(
                "idbridge_upstream_requests_total",
                "Calls the gateway made to a backend, by backend, operation and outcome.",
                &["backend", "operation", "outcome"],
            )?,
            upstream_duration: histogram(
                "idbridge_upstream_duration_seconds",
                "Duration of the gateway's own backend calls.",
                &["backend", "operation"],
            )?,
            cache_lookups: cache_lookups.clone(),
            lookups: crate::store::Lookup::ALL
                .map(|result| cache_lookups.with_label_values(&[result.as_str()])),
            sessions: gauge(
                "idbridge_sessions",
                "Live cached sessions by backend.",
                &["backend"],
            )?,
            logins: counter(
                "idbridge_logins_total",
                "Logins seen by the gateway, by backend and outcome.",
                &["backend", "outcome"],
            )?,
            tokens_issued: counter(
                "idbridge_tokens_issued_total",
                "Gateway tokens minted.",
                &["backend"],
            )?,
            tokens_verified: counter(
                "idbridge_tokens_verified_total",
                "Gateway tokens checked, by result.",
                &["result"],
            )?,
            backend_up: gauge(
                "idbridge_backend_up",
                "Whether the last readiness probe reached the backend (1) or not (0).",
                &["backend"],
            )?,
            throttled: counter(
                "idbridge_throttled_total",
                "Calls refused by the gateway's own limits, by face and reason.",
                &["face", "reason"],
            )?,
            client_connections: single(
                "idbridge_client_connections",
                "Open client connections (server.max_connections is the cap).",
            )?,
            client_connections_limit: single(
                "idbridge_client_connections_limit",
                "The cap on open client connections (server.max_connections).",
            )?,
            client_connections_closed: counter(
                "idbridge_client_connections_closed_total",
                "Client connections the gateway closed itself: over max_connections, or a header or keep-alive deadline passed.",
                &["reason"],
            )?,
            store_up: single(
                "idbridge_store_up",
                "Whether the session store answers (1) or the gateway works degraded without Redis (0); always 1 without store.redis_url.",
            )?,
            store_errors: counter(
                "idbridge_store_errors_total",
                "Redis calls that failed or passed store.timeout, by operation.",
                &["op"],
            )?,
            store_pending_revocations: single(
                "idbridge_store_pending_revocations",
                "Revocations made while Redis was unreachable, to be shared when it returns.",
            )?,
            revocations_received: {
                let c = IntCounter::new(
                    "idbridge_revocations_received_total",
                    "Revocations announced by other replicas (Redis pub/sub) and applied here.",
                )?;
                registry.register(Box::new(c.clone()))?;
                c
            },
            certificate_expiry: gauge(
                "idbridge_tls_certificate_expiry_timestamp_seconds",
                "When a certificate the gateway presents (the listener's, a backend client certificate) expires.",
                &["certificate"],
            )?,
            registry: registry.clone(),
        };
        let build = gauge(
            "idbridge_build_info",
            "Build information; always 1.",
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        metrics.store_up.set(1);
        for op in STORE_OPS {
            metrics.store_errors.with_label_values(&[op]);
        }
        // Process-wide (the handshake failures are counted from Pingora's log lines).
        registry.register(Box::new(crate::tls::HANDSHAKE_FAILURES.clone()))?;
        for reason in crate::tls::HANDSHAKE_REASONS {
            crate::tls::HANDSHAKE_FAILURES.with_label_values(&[reason]);
        }
        Ok(metrics)
    }

    /// Exports every known label combination of the counters at zero (Prometheus' "avoid
    /// missing metrics"): a scrape right after start has every family, and `rate()` sees the
    /// first event. `faces` and `backends` are the configured ones, by name. Per-request series
    /// (`idbridge_requests_total`, the latency histograms) appear with their first request: their
    /// label product would be hundreds of series that mostly never occur.
    pub fn prime(&self, faces: &[&str], backends: &[&str]) {
        for result in TOKEN_RESULTS {
            self.tokens_verified.with_label_values(&[result]);
        }
        for reason in CLOSE_REASONS {
            self.client_connections_closed.with_label_values(&[reason]);
        }
        for face in faces {
            for reason in THROTTLE_REASONS {
                self.throttled.with_label_values(&[face, reason]);
            }
        }
        for backend in backends {
            self.tokens_issued.with_label_values(&[backend]);
            for outcome in LOGIN_OUTCOMES {
                self.logins.with_label_values(&[backend, outcome]);
            }
            for op in UPSTREAM_OPS {
                for outcome in UPSTREAM_OUTCOMES {
                    self.upstream_requests
                        .with_label_values(&[backend, op, outcome]);
                }
            }
        }
    }

    /// Counts one session cache lookup.
    pub fn lookup(&self, result: crate::store::Lookup) {
        let i = crate::store::Lookup::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        if let Some(c) = self.lookups.get(i) {
            c.inc();
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format; an empty page is the honest fallback.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primed_labels_cover_what_the_code_writes() {
        use crate::error::{LoginOutcome, UpstreamError};
        for o in [
            LoginOutcome::Success,
            LoginOutcome::BadCredentials,
            LoginOutcome::Locked,
            LoginOutcome::PasswordExpired,
            LoginOutcome::Disabled,
            LoginOutcome::UnknownLink,
            LoginOutcome::Refused,
            LoginOutcome::Error,
        ] {
            assert!(LOGIN_OUTCOMES.contains(&o.as_str()), "{o:?}");
        }
        for e in [
            UpstreamError::Unreachable,
            UpstreamError::Timeout,
            UpstreamError::Throttled,
            UpstreamError::Tls,
            UpstreamError::Busy,
            UpstreamError::Status(500),
        ] {
            assert!(UPSTREAM_OUTCOMES.contains(&e.label()), "{e:?}");
        }
        let m = Metrics::new().unwrap();
        m.prime(&["enos", "unified"], &["enos", "netid"]);
        let text = m.render();
        for series in [
            r#"idbridge_cache_lookups_total{result="shared"} 0"#,
            r#"idbridge_logins_total{backend="netid",outcome="locked"} 0"#,
            r#"idbridge_upstream_requests_total{backend="enos",operation="status",outcome="timeout"} 0"#,
            r#"idbridge_throttled_total{face="unified",reason="login_account"} 0"#,
            r#"idbridge_tokens_verified_total{result="revoked"} 0"#,
            r#"idbridge_client_connections_closed_total{reason="header_timeout"} 0"#,
        ] {
            assert!(text.contains(series), "{series} missing");
        }
    }

    #[test]
    fn exposition_has_every_family_with_the_prefix() {
        let m = Metrics::new().unwrap();
        m.requests
            .with_label_values(&["enos", "enos", "status", "ok"])
            .inc();
        m.cache_lookups.with_label_values(&["hit"]).inc();
        m.request_duration
            .with_label_values(&["enos", "status"])
            .observe(0.001);
        m.upstream_requests
            .with_label_values(&["enos", "status", "ok"])
            .inc();
        m.upstream_duration
            .with_label_values(&["enos", "status"])
            .observe(0.01);
        m.logins.with_label_values(&["enos", "success"]).inc();
        m.tokens_issued.with_label_values(&["enos"]).inc();
        m.tokens_verified.with_label_values(&["valid"]).inc();
        m.backend_up.with_label_values(&["enos"]).set(1);
        m.sessions.with_label_values(&["enos"]).set(0);
        let text = m.render();
        for family in [
            "idbridge_requests_total",
            "idbridge_request_duration_seconds_bucket",
            "idbridge_upstream_requests_total",
            "idbridge_upstream_duration_seconds_bucket",
            "idbridge_cache_lookups_total",
            "idbridge_sessions",
            "idbridge_logins_total",
            "idbridge_tokens_issued_total",
            "idbridge_tokens_verified_total",
            "idbridge_backend_up",
            "idbridge_build_info",
        ] {
            assert!(
                text.contains(&format!("# TYPE {}", family.trim_end_matches("_bucket"))),
                "{family}"
            );
            assert!(text.contains(family), "{family} missing:\n{text}");
        }
        assert!(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .all(|l| l.starts_with("idbridge_"))
        );
    }
}
