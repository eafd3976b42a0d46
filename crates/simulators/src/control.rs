//! The test-control side of a simulator: request counters, fault injection, and the `/__sim/*`
//! HTTP routes that expose both (for the CLI's `sim` command and for tests in other processes).
//!
//! Routes (never counted, never faulted):
//! - `GET /__sim/stats`: the counters as a JSON object `{"op": count, …}`;
//! - `GET /__sim/faults`: the fault settings ([`FaultSettings`] as JSON);
//! - `POST /__sim/faults`: change them (body: `FaultUpdate`, every field optional; answers the
//!   settings after the change, or 400 with `{"error": …}`);
//! - `DELETE /__sim/faults`: clear every fault (answers the settings).

mod faults;
mod stats;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::json;

pub(crate) use faults::FaultUpdate;
pub use faults::{FaultSettings, Faults};
pub use stats::Stats;

/// The counters and faults of one simulator, shared by its request handlers and its [`Simulator`]
/// handle.
///
/// [`Simulator`]: crate::Simulator
#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) stats: Stats,
    pub(crate) faults: Faults,
}

// === impl Control ===

impl Control {
    pub(crate) fn new(ops: &[&str]) -> Self {
        Self {
            stats: Stats::new(ops),
            faults: Faults::default(),
        }
    }

    /// Counts a routed request under each of `ops`, then runs the faults: `Some(response)` means
    /// a failure was injected and the request must be answered with it.
    pub(crate) async fn admit(&self, ops: &[&str]) -> Option<Response> {
        for op in ops {
            self.stats.incr(op);
        }
        self.faults.inject().await
    }
}

/// The `/__sim/*` routes for one simulator.
pub(crate) fn router(control: Arc<Control>) -> Router {
    Router::new()
        .route("/__sim/stats", get(stats))
        .route(
            "/__sim/faults",
            get(faults_get).post(faults_post).delete(faults_delete),
        )
        .route("/__sim/{*rest}", any(unknown))
        .with_state(control)
}

async fn stats(State(control): State<Arc<Control>>) -> Response {
    axum::Json(control.stats.snapshot()).into_response()
}

async fn faults_get(State(control): State<Arc<Control>>) -> Response {
    axum::Json(control.faults.settings()).into_response()
}

async fn faults_post(State(control): State<Arc<Control>>, body: Bytes) -> Response {
    // Parsed by hand rather than with the `Json` extractor so `curl -d '{…}'` works without a
    // Content-Type header.
    let update: FaultUpdate = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(e) => return bad_request(&e.to_string()),
    };
    match control.faults.update(&update) {
        Ok(settings) => {
            tracing::info!(?settings, "simulator faults changed");
            axum::Json(settings).into_response()
        }
        Err(e) => bad_request(&e),
    }
}

async fn faults_delete(State(control): State<Arc<Control>>) -> Response {
    control.faults.clear();
    tracing::info!("simulator faults cleared");
    axum::Json(control.faults.settings()).into_response()
}

async fn unknown() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "unknown control route; see /__sim/stats and /__sim/faults"})),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": message })),
    )
        .into_response()
}
