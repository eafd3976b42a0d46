//! The admin listener: metrics, health, readiness, and the session admin API.
//!
//! Keep it off public interfaces. The admin API needs `Authorization: Bearer <admin.token>`; with
//! no token configured it is disabled (404), never open. Sessions are named by a handle (a hash of
//! the session id), because the id itself is a secret that must not leave the gateway. Errors are
//! in the unified JSON form, `{"error": {"code", "message"}}`.

use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use idbridge_session::{Session, UnixTime};
use serde_json::{Value, json};

use crate::error::GatewayError;
use crate::face::unified::json_error;
use crate::runtime::Runtime;

type Shared = Arc<ArcSwap<Runtime>>;

pub fn router(runtime: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/admin/sessions", get(list_sessions))
        .route("/admin/sessions/{handle}", delete(revoke_session))
        .route("/admin/subjects/{subject}/sessions", delete(revoke_subject))
        .fallback(|| async { error(404, "not_found", "no such admin route") })
        .with_state(runtime)
}

pub use crate::store::handle;

async fn metrics(AxumState(rt): AxumState<Shared>) -> Response {
    let rt = rt.load_full();
    for (backend, n) in rt.store.live().await {
        rt.metrics
            .sessions
            .with_label_values(&[backend.as_str()])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        rt.metrics.render(),
    )
        .into_response()
}

/// Ready when every backend accepts a TCP connection. Updates `idbridge_backend_up`.
async fn readyz(AxumState(rt): AxumState<Shared>) -> Response {
    let rt = rt.load_full();
    let up = probe_backends(&rt).await;
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
    // The store does not decide readiness: a replica without Redis still serves (degraded), and
    // taking every replica out of rotation would turn a Redis outage into a full one.
    let store = rt.store.state();
    (
        code,
        Json(json!({ "ready": ready, "backends": backends, "store": store })),
    )
        .into_response()
}

/// Probes each backend's endpoint once, all at the same time, and records the result in
/// `idbridge_backend_up`. In name order.
pub async fn probe_backends(rt: &Runtime) -> Vec<(&'static str, bool)> {
    let mut probes = tokio::task::JoinSet::new();
    for b in &rt.backends {
        let b = b.clone();
        probes.spawn(async move { (b.name().as_str(), b.endpoint().probe().await) });
    }
    let mut up = probes.join_all().await;
    up.sort();
    for (backend, ok) in &up {
        rt.metrics
            .backend_up
            .with_label_values(&[backend])
            .set(i64::from(*ok));
    }
    up
}

async fn list_sessions(AxumState(rt): AxumState<Shared>, headers: HeaderMap) -> Response {
    let rt = rt.load_full();
    if let Err(denied) = authorize(&rt, &headers) {
        return denied;
    }
    let now = now();
    let sessions: Vec<Value> = rt
        .store
        .sessions(now)
        .await
        .iter()
        .map(|s| describe(s, now))
        .collect();
    Json(json!({ "count": sessions.len(), "sessions": sessions })).into_response()
}

async fn revoke_session(
    AxumState(rt): AxumState<Shared>,
    headers: HeaderMap,
    Path(wanted): Path<String>,
) -> Response {
    let rt = rt.load_full();
    if let Err(denied) = authorize(&rt, &headers) {
        return denied;
    }
    // A handle is a hash: in memory, finding it means looking at every session (an operator's
    // call, rare); the shared store names its keys by it.
    let matching = rt
        .store
        .by_handle(&wanted, now())
        .await
        .into_iter()
        .collect();
    revoke_all(&rt, matching).await
}

async fn revoke_subject(
    AxumState(rt): AxumState<Shared>,
    headers: HeaderMap,
    Path(subject): Path<String>,
) -> Response {
    let rt = rt.load_full();
    if let Err(denied) = authorize(&rt, &headers) {
        return denied;
    }
    let matching = rt.store.sessions_of(&subject, now()).await;
    revoke_all(&rt, matching).await
}

/// Logs out each session: locally at once, then at its backend.
async fn revoke_all(rt: &Runtime, sessions: Vec<Arc<Session>>) -> Response {
    if sessions.is_empty() {
        return error(404, "not_found", "no matching session");
    }
    let mut revoked = Vec::new();
    for session in sessions {
        let upstream = match rt.revoke(&session).await {
            Ok(()) => "logged_out",
            Err(GatewayError::NotLoggedIn(_)) => "already_gone",
            Err(_) => "unreachable",
        };
        revoked.push(json!({
            "handle": handle(session.id.expose()),
            "backend": session.backend.as_str(),
            "upstream": upstream,
        }));
    }
    tracing::info!(
        count = revoked.len(),
        "sessions revoked through the admin API"
    );
    Json(json!({ "revoked": revoked })).into_response()
}

fn describe(s: &Session, now: UnixTime) -> Value {
    json!({
        "handle": handle(s.id.expose()),
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
fn authorize(rt: &Runtime, headers: &HeaderMap) -> Result<(), Response> {
    let Some(expected) = rt.config.admin.token.as_deref() else {
        return Err(error(
            404,
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
        Err(error(
            401,
            "unauthorized",
            "a valid admin bearer token is required",
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret enough to matter; the content comparison must not stop early.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An admin error in the unified JSON form (a 401 carries `WWW-Authenticate`).
fn error(status: u16, code: &str, message: &str) -> Response {
    let reply = json_error(status, code, message);
    let mut resp = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
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
