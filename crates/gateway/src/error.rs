//! The gateway's failure vocabulary, kept protocol-neutral: each face renders it in its own form
//! (EnOS envelope code, Net iD `Status`, SOAP `Fault`) through [`crate::respond`].

/// A backend call that did not produce a usable answer. Never a reason to log a user out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("backend unreachable")]
    Unreachable,
    #[error("backend timed out")]
    Timeout,
    #[error("backend is throttling")]
    Throttled,
    #[error("backend answered HTTP {0}")]
    Status(u16),
    /// The answer could not be understood; the detail is for logs, not for clients.
    #[error("backend answer not understood: {0}")]
    BadResponse(String),
}

/// Why a backend (or the gateway, after logout) says a session is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Unknown or expired (EnOS 30404, Net iD `InvalidSession`).
    NotFound,
    /// The presented token is not valid (EnOS 30401).
    Invalid,
    /// Logged out through the gateway.
    LoggedOut,
}

/// The outcome of asking for a session that is not a session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("session rejected: {0:?}")]
    Rejected(Rejection),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

// === impl UpstreamError ===

impl UpstreamError {
    /// The HTTP status a client sees: 429 for throttling, 504 for timeouts, 502/503 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Throttled => 429,
            Self::Timeout => 504,
            Self::Unreachable | Self::Status(503) => 503,
            Self::Status(_) | Self::BadResponse(_) => 502,
        }
    }

    /// A short reason safe to show any client (backend error text is never echoed).
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Unreachable => "identity backend unavailable",
            Self::Timeout => "identity backend timed out",
            Self::Throttled => "identity backend is throttling requests; retry later",
            Self::Status(_) | Self::BadResponse(_) => "identity backend error",
        }
    }
}
