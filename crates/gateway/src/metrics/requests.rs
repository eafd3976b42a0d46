//! The per-request series, `idbridge_requests_total` and `idbridge_request_duration_seconds`,
//! with their handles resolved once per label combination and kept in a flat table indexed by
//! the request's face, backend, operation and outcome. Recording a request then costs two
//! indexed loads and the increments, where `with_label_values` hashed every label and took the
//! family's lock on each request.
//!
//! A combination still appears at its first request: the whole product would be hundreds of
//! series that mostly never occur.

use std::sync::OnceLock;

use idbridge_session::Backend;
use prometheus::{Histogram, IntCounter};

use super::Metrics;
use crate::face::Op;
use crate::reply::Outcome;

/// Which face answered, as the `face` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaceLabel {
    /// One of the router's faces, by index.
    Face(usize),
    Proxy,
    App,
    Document,
    None,
}

/// What was asked, as the `operation` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpLabel {
    Op(Op),
    Passthrough,
    Get,
    Refused,
    None,
}

/// One runtime's table of per-request handles (a reload builds a new one; the series live on in
/// the registry).
#[derive(Debug)]
pub struct RequestSeries {
    metrics: Metrics,
    faces: Vec<&'static str>,
    backends: Vec<Backend>,
    counters: Box<[OnceLock<IntCounter>]>,
    durations: Box<[OnceLock<Histogram>]>,
}

const PSEUDO_FACES: [&str; 4] = ["proxy", "app", "document", "none"];
const OPS: usize = Op::ALL.len() + 4;

// === impl RequestSeries ===

impl RequestSeries {
    /// `faces` are the router's face names in its order; `backends` the configured backends.
    pub fn new(metrics: &Metrics, faces: &[&'static str], backends: &[Backend]) -> Self {
        let faces: Vec<_> = faces.iter().chain(&PSEUDO_FACES).copied().collect();
        let durations = faces.len() * OPS;
        let counters = durations * (backends.len() + 1) * Outcome::ALL.len();
        Self {
            metrics: metrics.clone(),
            faces,
            backends: backends.to_vec(),
            counters: (0..counters).map(|_| OnceLock::new()).collect(),
            durations: (0..durations).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The `face` label of `face`.
    pub fn face_name(&self, face: FaceLabel) -> &'static str {
        self.faces
            .get(self.face_slot(face))
            .copied()
            .unwrap_or("none")
    }

    /// Counts one request and its duration.
    pub fn record(
        &self,
        face: FaceLabel,
        backend: Option<Backend>,
        op: OpLabel,
        outcome: Outcome,
        seconds: f64,
    ) {
        let (face, op_slot) = (self.face_slot(face), op_slot(op));
        let backend_slot = backend
            .and_then(|b| self.backends.iter().position(|k| *k == b))
            .unwrap_or(self.backends.len());
        let outcome_slot = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        let at = face * OPS + op_slot;
        let counter =
            ((at * (self.backends.len() + 1)) + backend_slot) * Outcome::ALL.len() + outcome_slot;
        let (face_name, op_name) = (self.faces[face], op.as_str());
        if let Some(slot) = self.counters.get(counter) {
            let backend_name = self
                .backends
                .get(backend_slot)
                .map_or("none", |b| b.as_str());
            slot.get_or_init(|| {
                self.metrics.requests.with_label_values(&[
                    face_name,
                    backend_name,
                    op_name,
                    outcome.as_str(),
                ])
            })
            .inc();
        }
        if let Some(slot) = self.durations.get(at) {
            slot.get_or_init(|| {
                self.metrics
                    .request_duration
                    .with_label_values(&[face_name, op_name])
            })
            .observe(seconds);
        }
    }

    fn face_slot(&self, face: FaceLabel) -> usize {
        let routed = self.faces.len() - PSEUDO_FACES.len();
        match face {
            FaceLabel::Face(i) if i < routed => i,
            FaceLabel::Proxy => routed,
            FaceLabel::App => routed + 1,
            FaceLabel::Document => routed + 2,
            FaceLabel::Face(_) | FaceLabel::None => routed + 3,
        }
    }
}

fn op_slot(op: OpLabel) -> usize {
    match op {
        OpLabel::Op(op) => Op::ALL.iter().position(|o| *o == op).unwrap_or(0),
        OpLabel::Passthrough => Op::ALL.len(),
        OpLabel::Get => Op::ALL.len() + 1,
        OpLabel::Refused => Op::ALL.len() + 2,
        OpLabel::None => Op::ALL.len() + 3,
    }
}

// === impl OpLabel ===

impl OpLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Op(op) => op.as_str(),
            Self::Passthrough => "passthrough",
            Self::Get => "get",
            Self::Refused => "refused",
            Self::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_combination_counts_in_its_own_series() {
        let m = Metrics::new().unwrap();
        let series = RequestSeries::new(&m, &["enos", "unified"], &[Backend::ENOS, Backend::NETID]);
        let status = OpLabel::Op(Op::Status);
        for _ in 0..3 {
            series.record(
                FaceLabel::Face(0),
                Some(Backend::ENOS),
                status,
                Outcome::Ok,
                0.001,
            );
        }
        series.record(
            FaceLabel::Face(1),
            Some(Backend::NETID),
            status,
            Outcome::Rejected,
            0.1,
        );
        series.record(
            FaceLabel::Proxy,
            None,
            OpLabel::Passthrough,
            Outcome::Ok,
            0.01,
        );
        series.record(
            FaceLabel::Face(9),
            None,
            OpLabel::None,
            Outcome::NotFound,
            0.0,
        );
        let text = m.render();
        for line in [
            r#"idbridge_requests_total{backend="enos",face="enos",operation="status",outcome="ok"} 3"#,
            r#"idbridge_requests_total{backend="netid",face="unified",operation="status",outcome="rejected"} 1"#,
            r#"idbridge_requests_total{backend="none",face="proxy",operation="passthrough",outcome="ok"} 1"#,
            r#"idbridge_requests_total{backend="none",face="none",operation="none",outcome="not_found"} 1"#,
            r#"idbridge_request_duration_seconds_count{face="enos",operation="status"} 3"#,
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert_eq!(text.matches("idbridge_requests_total{").count(), 4);
        assert_eq!(series.face_name(FaceLabel::Face(1)), "unified");
        assert_eq!(series.face_name(FaceLabel::App), "app");
    }
}
