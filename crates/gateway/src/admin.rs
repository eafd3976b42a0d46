//! The admin listener: metrics, health, readiness, and the session admin API.
//!
//! Keep it off public interfaces. The admin API needs `Authorization: Bearer <admin.token>`; with
//! no token configured it is disabled (404), never open. Sessions are named by a handle (a hash of
//! the session id), because the id itself is a secret that must not leave the gateway.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use idbridge_session::{Session, UnixTime};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::intercept::{self, backend_label};
use crate::state::State;

type Shared = Arc<ArcSwap<State>>;

const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/admin/sessions", get(list_sessions))
        .route("/admin/sessions/{handle}", delete(revoke_session))
        .route("/admin/subjects/{subject}/sessions", delete(revoke_subject))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such admin route") })
        .with_state(state)
}

/// A stable, non-secret name for a session: the first 16 hex digits of SHA-256 of its id.
pub fn handle(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn metrics(AxumState(state): AxumState<Shared>) -> Response {
    let state = state.load_full();
    let (enos, netid) = state.cache.count_by_backend(now());
    state
        .metrics
        .sessions
        .with_label_values(&["enos"])
        .set(enos);
    state
        .metrics
        .sessions
        .with_label_values(&["netid"])
        .set(netid);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Ready when every backend accepts a TCP connection. Updates `idbridge_backend_up`.
async fn readyz(AxumState(state): AxumState<Shared>) -> Response {
    let state = state.load_full();
    let up = probe_backends(&state).await;
    let ready = up.iter().all(|(_, ok)| *ok);
    let backends: serde_json::Map<String, Value> = up
        .iter()
        .map(|(b, ok)| ((*b).to_owned(), json!(if *ok { "up" } else { "down" })))
        .collect();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(json!({ "ready": ready, "backends": backends }))).into_response()
}

/// Probes each backend once and records the result in `idbridge_backend_up`.
pub async fn probe_backends(state: &State) -> Vec<(&'static str, bool)> {
    let b = &state.config.backends;
    let (enos, netid) = tokio::join!(reachable(&b.enos.url), reachable(&b.netid.url));
    let up = vec![("enos", enos), ("netid", netid)];
    for (backend, ok) in &up {
        state
            .metrics
            .backend_up
            .with_label_values(&[backend])
            .set(i64::from(*ok));
    }
    up
}

async fn reachable(url: &url::Url) -> bool {
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let host = host.trim_matches(['[', ']']);
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await,
        Ok(Ok(_))
    )
}

async fn list_sessions(AxumState(state): AxumState<Shared>, headers: HeaderMap) -> Response {
    let state = state.load_full();
    if let Err(denied) = authorize(&state, &headers) {
        return denied;
    }
    let now = now();
    let sessions: Vec<Value> = state
        .cache
        .sessions(now)
        .iter()
        .map(|(key, s)| describe(key, s, now))
        .collect();
    Json(json!({ "count": sessions.len(), "sessions": sessions })).into_response()
}

async fn revoke_session(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Path(wanted): Path<String>,
) -> Response {
    let state = state.load_full();
    if let Err(denied) = authorize(&state, &headers) {
        return denied;
    }
    revoke_where(&state, |key, _| handle(key) == wanted).await
}

async fn revoke_subject(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Path(subject): Path<String>,
) -> Response {
    let state = state.load_full();
    if let Err(denied) = authorize(&state, &headers) {
        return denied;
    }
    revoke_where(&state, |_, s| s.subject.id == subject).await
}

/// Logs out every cached session matching `pick`: locally at once, then at its backend.
async fn revoke_where(state: &State, pick: impl Fn(&str, &Session) -> bool) -> Response {
    let matching: Vec<_> = state
        .cache
        .sessions(now())
        .into_iter()
        .filter(|(k, s)| pick(k, s))
        .collect();
    if matching.is_empty() {
        return error(StatusCode::NOT_FOUND, "not_found", "no matching session");
    }
    let mut revoked = Vec::new();
    for (key, session) in matching {
        let upstream = match intercept::revoke(state, &key, session.backend).await {
            Ok(()) => "logged_out",
            Err(crate::error::FetchError::Rejected(_)) => "already_gone",
            Err(crate::error::FetchError::Upstream(_)) => "unreachable",
        };
        revoked.push(json!({ "handle": handle(&key), "backend": backend_label(session.backend), "upstream": upstream }));
    }
    tracing::info!(
        count = revoked.len(),
        "sessions revoked through the admin API"
    );
    Json(json!({ "revoked": revoked })).into_response()
}

fn describe(key: &str, s: &Session, now: UnixTime) -> Value {
    json!({
        "handle": handle(key),
        "backend": s.backend.as_str(),
        "subject": { "id": s.subject.id, "name": s.subject.name, "email": s.subject.email },
        "organization": s.organization().map(|o| o.name.clone()),
        "created": s.created.as_secs(),
        "refreshed": s.refreshed.as_secs(),
        "expires_at": s.expires_at.as_secs(),
        "expires_in": s.time_to_live(now).as_secs(),
    })
}

/// Checks the bearer admin token in constant time. No token configured: the API does not exist.
#[allow(clippy::result_large_err)]
fn authorize(state: &State, headers: &HeaderMap) -> Result<(), Response> {
    let Some(expected) = state.config.admin.token.as_deref() else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "disabled",
            "the admin API is disabled: set admin.token",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin bearer token is required",
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        Err(resp)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret enough to matter; the content comparison must not stop early.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn now() -> UnixTime {
    UnixTime::from_system(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_stable_short_and_not_the_id() {
        let h = handle("IAM_S_secret");
        assert_eq!(h.len(), 16);
        assert_eq!(h, handle("IAM_S_secret"));
        assert_ne!(h, handle("IAM_S_other"));
        assert!(!h.contains("secret"));
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
