//! The gateway's failure vocabulary, protocol-neutral.
//!
//! Everything that can go wrong on an intercepted call is one [`GatewayError`]; every face renders
//! it in exactly one place (its [`Face::error`](crate::face::Face::error)), in its own form: EnOS
//! envelope code, Net iD `Status`, SOAP `Fault`, or the unified JSON error. What a variant means
//! in HTTP terms ([`GatewayError::http_status`]) and for metrics ([`GatewayError::outcome`]) is
//! said here once, so the faces cannot drift apart.

use std::borrow::Cow;

use idbridge_protocol::DecodeError;

use crate::face::Methods;
use crate::path::PathProblem;
use crate::reply::Outcome;

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
    /// The TLS handshake failed (the backend's certificate did not verify, or it refused ours);
    /// nothing was sent. The reason is in the gateway's log.
    #[error("TLS with the backend failed")]
    Tls,
    /// As many calls to this backend are in flight as `max_concurrent_calls` allows: refused at
    /// once rather than queued, so one backend cannot tie the gateway up.
    #[error("too many calls to the backend in flight")]
    Busy,
    /// The answer could not be understood; the detail is for logs, not for clients.
    #[error("backend answer not understood: {0}")]
    BadResponse(String),
}

/// Why a presented credential does not name a live session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No credential at all.
    Missing,
    /// Unknown or expired at its backend (EnOS 30404, Net iD `InvalidSession`).
    NotFound,
    /// Not a credential any backend issued, or one its backend calls invalid (EnOS 30401), or a
    /// gateway token that does not verify.
    Invalid,
    /// Logged out (or revoked) through the gateway.
    LoggedOut,
}

/// How a login ended, classified once, from the backend's own answer, by the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginOutcome {
    Success,
    /// Step 1 of a two-step login (Net iD): the backend answered a challenge; no session yet.
    Challenged,
    /// Wrong account, password or certificate (EnOS 30400, Net iD `AccessDenied`).
    BadCredentials,
    /// Too many failed attempts (EnOS 30429).
    Locked,
    /// The password has expired (EnOS 30410).
    PasswordExpired,
    /// The account is disabled (EnOS 30511).
    Disabled,
    /// The named directory link does not exist (EnOS 30404 on Log In).
    UnknownLink,
    /// The backend refused the request itself (Net iD `InvalidInput`).
    Refused,
    /// Any other answer: the backend failed or said something the gateway does not understand.
    Error,
}

/// Everything an intercepted call can end with other than an answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The request could not be decoded. The message names fields, never values, so it is safe
    /// to return.
    #[error("bad request: {0}")]
    BadRequest(DecodeError),
    #[error("request body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// The request line and headers exceed `limits.max_header_bytes`.
    #[error("request header exceeds {limit} bytes")]
    HeadersTooLarge { limit: usize },
    /// The body did not arrive within `server.body_timeout`.
    #[error("request body not received in time")]
    BodyTimeout,
    /// Not a live session: refused as the backend itself would refuse it.
    #[error("not logged in: {0:?}")]
    NotLoggedIn(Rejection),
    /// A login the backend refused (the unified faces; native faces pass the backend's answer on).
    #[error("login refused: {0:?}")]
    LoginRefused(LoginOutcome),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The gateway's own limit on this client or account was reached (failed logins, lookups).
    #[error("throttled; retry in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// A Net iD `Count` not above the last one this client sent for the session: a replayed or
    /// reordered call, refused as the portal refuses it (`InvalidCount`).
    #[error("Count is not above the last one sent for this session")]
    ReplayedCount,
    /// No face, backend or app owns this path.
    #[error("no route for this path")]
    NoRoute,
    /// The path is not canonical ([`crate::path`]): refused rather than guessed at.
    #[error("path not canonical: {0}")]
    BadPath(PathProblem),
    /// A path only the gateway answers, asked with a method it does not answer there.
    #[error("method not allowed")]
    MethodNotAllowed(Methods),
    /// The backend cannot confirm a session last confirmed longer ago than `cache.max_stale`:
    /// neither served nor called logged out.
    #[error("session not confirmed within max_stale")]
    Unconfirmed,
    /// A logout the gateway made (the session is refused here until it expires) but its
    /// backend could not be told of.
    #[error("logged out at the gateway; the backend logout failed: {0}")]
    LogoutIncomplete(UpstreamError),
    /// The gateway itself failed; the detail is in its log.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

// === impl UpstreamError ===

impl UpstreamError {
    /// A short reason safe to show any client (backend error text is never echoed).
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Unreachable => "identity backend unavailable",
            Self::Timeout => "identity backend timed out",
            Self::Busy => "identity backend is busy; retry later",
            Self::Throttled => "identity backend is throttling requests; retry later",
            Self::Status(_) | Self::Tls | Self::BadResponse(_) => "identity backend error",
        }
    }

    /// The `outcome` label of `idbridge_upstream_requests_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Unreachable => "unavailable",
            Self::Timeout => "timeout",
            Self::Throttled => "throttled",
            Self::Tls => "tls",
            Self::Busy => "busy",
            Self::Status(_) | Self::BadResponse(_) => "error",
        }
    }
}

// === impl LoginOutcome ===

impl LoginOutcome {
    /// The `outcome` label of `idbridge_logins_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Challenged => "challenged",
            Self::BadCredentials => "bad_credentials",
            Self::Locked => "locked",
            Self::PasswordExpired => "expired",
            Self::Disabled => "disabled",
            Self::UnknownLink | Self::Refused | Self::Error => "error",
        }
    }

    pub const ALL: [LoginOutcome; 9] = [
        Self::Success,
        Self::Challenged,
        Self::BadCredentials,
        Self::Locked,
        Self::PasswordExpired,
        Self::Disabled,
        Self::UnknownLink,
        Self::Refused,
        Self::Error,
    ];
}

// === impl GatewayError ===

impl From<DecodeError> for GatewayError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::TooLarge { limit } => Self::TooLarge { limit },
            other => Self::BadRequest(other),
        }
    }
}

impl GatewayError {
    /// What the error means in HTTP: the status of every face that answers errors with HTTP
    /// semantics. Faces that answer some errors as a business error on HTTP 200 (EnOS, Net iD)
    /// say so in their own mapping.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::LogoutIncomplete(e) => Self::Upstream(e.clone()).http_status(),
            Self::BadRequest(_) => 400,
            Self::TooLarge { .. } => 413,
            Self::HeadersTooLarge { .. } => 431,
            Self::BodyTimeout => 408,
            Self::NotLoggedIn(_) => 401,
            Self::LoginRefused(outcome) => match outcome {
                LoginOutcome::BadCredentials => 401,
                LoginOutcome::Locked => 429,
                LoginOutcome::PasswordExpired | LoginOutcome::Disabled => 403,
                LoginOutcome::UnknownLink | LoginOutcome::Refused => 400,
                LoginOutcome::Success | LoginOutcome::Challenged | LoginOutcome::Error => 502,
            },
            Self::Upstream(e) => match e {
                UpstreamError::Throttled => 429,
                UpstreamError::Timeout => 504,
                UpstreamError::Unreachable | UpstreamError::Busy | UpstreamError::Status(503) => {
                    503
                }
                UpstreamError::Status(_) | UpstreamError::Tls | UpstreamError::BadResponse(_) => {
                    502
                }
            },
            Self::Throttled { .. } => 429,
            Self::ReplayedCount => 409,
            Self::NoRoute => 404,
            Self::BadPath(_) => 400,
            Self::MethodNotAllowed(_) => 405,
            Self::Unconfirmed => 503,
            Self::Internal(_) => 500,
        }
    }

    /// A stable machine-readable code (the unified faces' `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::TooLarge { .. } => "too_large",
            Self::HeadersTooLarge { .. } => "headers_too_large",
            Self::BodyTimeout => "request_timeout",
            Self::NotLoggedIn(_) => "invalid_token",
            Self::LoginRefused(outcome) => match outcome {
                LoginOutcome::BadCredentials => "bad_credentials",
                LoginOutcome::Locked => "locked",
                LoginOutcome::PasswordExpired => "password_expired",
                LoginOutcome::Disabled => "disabled",
                LoginOutcome::UnknownLink => "unknown_link",
                LoginOutcome::Refused => "bad_request",
                LoginOutcome::Success | LoginOutcome::Challenged | LoginOutcome::Error => {
                    "backend_error"
                }
            },
            Self::Upstream(e) => match e {
                UpstreamError::Throttled => "backend_throttling",
                UpstreamError::Timeout => "backend_timeout",
                UpstreamError::Unreachable | UpstreamError::Status(503) => "backend_unavailable",
                UpstreamError::Busy => "backend_busy",
                UpstreamError::Status(_) | UpstreamError::Tls | UpstreamError::BadResponse(_) => {
                    "backend_error"
                }
            },
            Self::Throttled { .. } => "throttled",
            Self::ReplayedCount => "invalid_count",
            Self::NoRoute => "not_found",
            Self::BadPath(_) => "bad_path",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Unconfirmed => "backend_unavailable",
            Self::LogoutIncomplete(_) => "logout_incomplete",
            Self::Internal(_) => "internal",
        }
    }

    /// A message fit for any client: it names fields and reasons, never a value, and never
    /// echoes a backend's own error text.
    pub fn public_message(&self) -> Cow<'static, str> {
        match self {
            Self::BadRequest(e) => Cow::Owned(e.to_string()),
            Self::TooLarge { limit } => Cow::Owned(format!("request body exceeds {limit} bytes")),
            Self::HeadersTooLarge { limit } => {
                Cow::Owned(format!("request header exceeds {limit} bytes"))
            }
            Self::BodyTimeout => "the request body did not arrive in time".into(),
            Self::NotLoggedIn(_) => "a valid gateway token or session is required".into(),
            Self::LoginRefused(outcome) => match outcome {
                LoginOutcome::BadCredentials => {
                    "wrong account, password or certificate, or a wrong or late answer to a challenge".into()
                }
                LoginOutcome::Locked => "too many failed logins; try later".into(),
                LoginOutcome::PasswordExpired => "the password has expired".into(),
                LoginOutcome::Disabled => "the account is disabled".into(),
                LoginOutcome::UnknownLink => "the LDAP link does not exist".into(),
                LoginOutcome::Refused => "the backend refused the login request".into(),
                LoginOutcome::Success | LoginOutcome::Challenged | LoginOutcome::Error => "identity backend error".into(),
            },
            Self::Upstream(e) => e.public_message().into(),
            Self::Throttled { retry_after_secs } => {
                Cow::Owned(format!("too many attempts; retry in {retry_after_secs} s"))
            }
            Self::ReplayedCount => "Count must be greater than the last accepted Count".into(),
            Self::NoRoute => "no route for this path".into(),
            Self::BadPath(why) => Cow::Owned(format!("the path is not canonical: it has {why}")),
            Self::MethodNotAllowed(allowed) => Cow::Owned(format!(
                "method not allowed on this path; allowed: {}",
                allowed.allow_header()
            )),
            Self::Unconfirmed => {
                "identity backend unavailable; the session cannot be confirmed".into()
            }
            Self::LogoutIncomplete(e) => Cow::Owned(format!(
                "logged out at the gateway, which refuses the session until it expires; the \
                 identity backend could not be told ({})",
                e.public_message()
            )),
            Self::Internal(_) => "internal error".into(),
        }
    }

    /// The `outcome` of metrics and the access log.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::BadRequest(_) => Outcome::BadRequest,
            Self::TooLarge { .. } | Self::HeadersTooLarge { .. } => Outcome::TooLarge,
            Self::NotLoggedIn(_) => Outcome::Rejected,
            Self::LoginRefused(
                LoginOutcome::Success | LoginOutcome::Challenged | LoginOutcome::Error,
            ) => Outcome::UpstreamError,
            Self::LoginRefused(LoginOutcome::UnknownLink | LoginOutcome::Refused) => {
                Outcome::BadRequest
            }
            Self::LoginRefused(_) => Outcome::Rejected,
            Self::Upstream(_)
            | Self::Unconfirmed
            | Self::LogoutIncomplete(_)
            | Self::Internal(_) => Outcome::UpstreamError,
            Self::BadPath(_) | Self::MethodNotAllowed(_) | Self::BodyTimeout => Outcome::BadRequest,
            Self::Throttled { .. } => Outcome::Throttled,
            Self::ReplayedCount => Outcome::Rejected,
            Self::NoRoute => Outcome::NotFound,
        }
    }

    /// Whether a backend failed (as opposed to the client or its credential): such an error
    /// never reads as "logged out" in any face.
    pub fn is_upstream(&self) -> bool {
        matches!(
            self,
            Self::Upstream(_) | Self::Unconfirmed | Self::LogoutIncomplete(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_backend_is_never_a_401() {
        for e in [
            UpstreamError::Unreachable,
            UpstreamError::Timeout,
            UpstreamError::Throttled,
            UpstreamError::Status(500),
            UpstreamError::Status(503),
            UpstreamError::Busy,
            UpstreamError::BadResponse("x".into()),
        ] {
            let status = GatewayError::Upstream(e).http_status();
            assert!([429, 502, 503, 504].contains(&status), "{status}");
        }
    }

    #[test]
    fn decode_errors_split_into_too_large_and_bad_request() {
        assert_eq!(
            GatewayError::from(DecodeError::TooLarge { limit: 9 }),
            GatewayError::TooLarge { limit: 9 }
        );
        let e = GatewayError::from(DecodeError::MissingField("Count"));
        assert_eq!((e.http_status(), e.code()), (400, "bad_request"));
        assert_eq!(e.public_message(), "missing field Count");
    }

    #[test]
    fn login_outcomes_have_one_label_each() {
        for o in LoginOutcome::ALL {
            assert!(
                [
                    "success",
                    "challenged",
                    "bad_credentials",
                    "locked",
                    "expired",
                    "disabled",
                    "error"
                ]
                .contains(&o.as_str())
            );
        }
    }
}
