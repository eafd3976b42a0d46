//! A complete answer to write to the client, and what it means for metrics and the access log.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Serialize;

use crate::endpoint::RawReply;

/// What an answer means, whatever its form: the `outcome` label of metrics and the access log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Ok,
    /// Not a valid session, or a refused login.
    Rejected,
    BadRequest,
    TooLarge,
    UpstreamError,
    NotFound,
    /// The gateway's own limit on the client was reached.
    Throttled,
}

/// A complete answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Cow<'static, str>,
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
    pub outcome: Outcome,
}

// === impl Outcome ===

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Self::Ok,
        Self::Rejected,
        Self::BadRequest,
        Self::TooLarge,
        Self::UpstreamError,
        Self::NotFound,
        Self::Throttled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Rejected => "rejected",
            Self::BadRequest => "bad_request",
            Self::TooLarge => "too_large",
            Self::UpstreamError => "upstream_error",
            Self::NotFound => "not_found",
            Self::Throttled => "throttled",
        }
    }
}

// === impl Reply ===

impl Reply {
    pub fn new(
        status: u16,
        content_type: impl Into<Cow<'static, str>>,
        body: impl Into<Bytes>,
    ) -> Self {
        Self {
            status,
            content_type: content_type.into(),
            body: body.into(),
            headers: Vec::new(),
            outcome: Outcome::Ok,
        }
    }

    /// `value` serialised as JSON. Serialising a value the gateway built cannot fail; if it ever
    /// did, the client gets an empty body rather than a half-written one.
    pub fn json(status: u16, content_type: &'static str, value: &impl Serialize) -> Self {
        Self::new(
            status,
            content_type,
            serde_json::to_vec(value).unwrap_or_default(),
        )
    }

    /// The backend's own answer, byte for byte.
    pub fn upstream(raw: RawReply) -> Self {
        let content_type = raw
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        Self::new(raw.status, content_type, raw.body)
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}
