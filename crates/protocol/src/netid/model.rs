//! Typed Net iD Portal messages, shared by the REST and SOAP bindings.
//!
//! Fields a reply may leave out are `Option`s, so that every shape the portal sends (a full
//! status, the "not logged in" reply with only `Count`, `IsLoggedIn` and `Status`, the
//! `InvalidCount` reply with `Count` and `Status`) decodes and re-encodes exactly. For the same
//! reason an `ActivityList` is `Option<Vec<_>>`: absent is not the same as empty.

use std::fmt;

use idbridge_session::SessionId;

/// `Status.Code`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusCode {
    Success,
    InvalidSession,
    InvalidCount,
    InvalidInput,
    AccessDenied,
    InternalError,
    /// Any other code, kept as sent.
    Other(String),
}

/// The generic `Status` object closing every reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: StatusCode,
    pub description: String,
}

/// Login `Role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// `Self`: the user administers their own account (the portal's default).
    #[default]
    SelfService,
    /// `Officer`: an administrator acting on others.
    Officer,
}

/// Login `Client`: what the client says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    pub device_name: Option<String>,
    pub application_name: Option<String>,
    pub language_name: Option<String>,
}

/// Login step 1 inputs (documented): the certificate, the client's clock, the role.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// The client's X.509 certificate, base64 DER.
    pub certificate: String,
    /// The client's clock, ISO 8601, kept as sent.
    pub date_time: String,
    pub role: Role,
    pub client: Option<ClientInfo>,
}

/// Login step 2 inputs (assumed, see [`super::proof`]): the session step 1 opened, and the
/// answer that proves the client read step 1's nonce.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginAnswer {
    pub session_id: SessionId,
    /// base64(HMAC-SHA-256(nonce, `SessionId`)).
    pub value: String,
}

/// A `Login` call, either step: a call naming a `SessionId` is step 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginStep {
    Begin(LoginRequest),
    Answer(LoginAnswer),
}

/// Login outputs: step 1 answers `SessionId`, `Certificate` and `Value`; step 2 answers
/// `SessionId`. A refused login carries only `Status`.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginResponse {
    pub session_id: Option<SessionId>,
    /// The server's certificate, base64 DER.
    pub certificate: Option<String>,
    /// The server nonce, base64.
    pub value: Option<String>,
    pub status: Status,
}

/// GetLoginStatus inputs. A present `blob` means the call is encrypted: the gateway passes such a
/// call through untouched.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusRequest {
    pub session_id: SessionId,
    pub count: u64,
    pub blob: Option<String>,
}

/// Logout inputs; same shape and rules as [`StatusRequest`].
#[derive(Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    pub session_id: SessionId,
    pub count: u64,
    pub blob: Option<String>,
}

/// Logout outputs. `count` is absent only when the request's own `Count` was unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutResponse {
    pub count: Option<u64>,
    pub status: Status,
}

/// GetLoginStatus outputs, in the vendor's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStatus {
    pub count: Option<u64>,
    pub id: Option<String>,
    pub image_id: Option<String>,
    pub name: Option<String>,
    pub organization_name: Option<String>,
    pub is_logged_in: Option<bool>,
    /// Seconds until the portal logs the user out for inactivity.
    pub idle_expiration: Option<u64>,
    /// Login time as sent (`2023-02-22 07:14:03 UTC`); see [`super::parse_login_time`].
    pub date_time: Option<String>,
    /// "A numeric counter of available tasks"; kept as text because the gateway only relays it.
    pub task_counter: Option<String>,
    pub usage_list: Option<Vec<UsageItem>>,
    pub organization_list: Option<Vec<OrgItem>>,
    pub status: Status,
}

/// A `UsageList` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageItem {
    pub presentation_info: String,
    pub activity_list: Option<Vec<ActivityObj>>,
}

/// An `OrganizationList` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgItem {
    pub id: String,
    pub presentation_info: String,
    pub additional_info: Option<String>,
    pub activity_list: Option<Vec<ActivityObj>>,
}

/// An `ActivityObj`: a call the client may make (`Method`, `Type`, `Id`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityObj {
    pub method: String,
    /// The wire `Type`.
    pub kind: String,
    pub id: String,
}

// === impl StatusCode ===

impl StatusCode {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "Success",
            Self::InvalidSession => "InvalidSession",
            Self::InvalidCount => "InvalidCount",
            Self::InvalidInput => "InvalidInput",
            Self::AccessDenied => "AccessDenied",
            Self::InternalError => "InternalError",
            Self::Other(code) => code,
        }
    }

    /// Case-sensitive, like the portal.
    pub fn parse(code: &str) -> Self {
        match code {
            "Success" => Self::Success,
            "InvalidSession" => Self::InvalidSession,
            "InvalidCount" => Self::InvalidCount,
            "InvalidInput" => Self::InvalidInput,
            "AccessDenied" => Self::AccessDenied,
            "InternalError" => Self::InternalError,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl Status ===

impl Status {
    pub fn new(code: StatusCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `{Success, Success}`, as in the vendor sample.
    pub fn success() -> Self {
        Self::new(StatusCode::Success, "Success")
    }

    pub fn is_success(&self) -> bool {
        self.code == StatusCode::Success
    }
}

// === impl Role ===

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfService => "Self",
            Self::Officer => "Officer",
        }
    }

    /// Case-sensitive: `Self` or `Officer`.
    pub fn parse(role: &str) -> Option<Self> {
        match role {
            "Self" => Some(Self::SelfService),
            "Officer" => Some(Self::Officer),
            _ => None,
        }
    }
}

// === impl LoginStatus ===

impl LoginStatus {
    /// True when the reply describes a live session: `IsLoggedIn` True and `Status` Success.
    pub fn logged_in(&self) -> bool {
        self.is_logged_in == Some(true) && self.status.is_success()
    }
}

// === Debug without secrets ===

/// Shows that a secret (or a certificate, which has no place in logs either) is there, not what.
struct Redacted<'a>(Option<&'a str>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, "<redacted:{}>", s.len()),
            None => f.write_str("None"),
        }
    }
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("certificate", &Redacted(Some(&self.certificate)))
            .field("date_time", &self.date_time)
            .field("role", &self.role)
            .field("client", &self.client)
            .finish()
    }
}

impl fmt::Debug for LoginAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAnswer")
            .field("session_id", &self.session_id)
            .field("value", &Redacted(Some(&self.value)))
            .finish()
    }
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("session_id", &self.session_id)
            .field("certificate", &Redacted(self.certificate.as_deref()))
            .field("value", &Redacted(self.value.as_deref()))
            .field("status", &self.status)
            .finish()
    }
}

impl fmt::Debug for StatusRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusRequest")
            .field("session_id", &self.session_id)
            .field("count", &self.count)
            .field("blob", &Redacted(self.blob.as_deref()))
            .finish()
    }
}

impl fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutRequest")
            .field("session_id", &self.session_id)
            .field("count", &self.count)
            .field("blob", &Redacted(self.blob.as_deref()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for code in [
            "Success",
            "InvalidSession",
            "InvalidCount",
            "InvalidInput",
            "AccessDenied",
            "InternalError",
            "Whatever",
        ] {
            assert_eq!(StatusCode::parse(code).as_str(), code);
        }
        assert_eq!(
            StatusCode::parse("success"),
            StatusCode::Other("success".into())
        );
    }

    #[test]
    fn roles_are_case_sensitive() {
        assert_eq!(Role::parse("Self"), Some(Role::SelfService));
        assert_eq!(Role::parse("Officer"), Some(Role::Officer));
        assert_eq!(Role::parse("officer"), None);
        assert_eq!(Role::default().as_str(), "Self");
    }

    #[test]
    fn debug_hides_secrets_and_certificates() {
        let req = StatusRequest {
            session_id: SessionId::new("c2VjcmV0c2Vzc2lvbg=="),
            count: 3,
            blob: Some("ZW5jcnlwdGVk".into()),
        };
        let d = format!("{req:?}");
        assert!(!d.contains("c2VjcmV0c2Vzc2lvbg=="));
        assert!(!d.contains("ZW5jcnlwdGVk"));
        let resp = LoginResponse {
            session_id: Some(SessionId::new("sid-secret")),
            certificate: Some("MIIBcert".into()),
            value: Some("nonce-secret".into()),
            status: Status::success(),
        };
        let d = format!("{resp:?}");
        assert!(
            !d.contains("sid-secret") && !d.contains("MIIBcert") && !d.contains("nonce-secret")
        );
        let login = LoginRequest {
            certificate: "MIIBcert".into(),
            date_time: "2023-02-22T07:14:03Z".into(),
            role: Role::Officer,
            client: None,
        };
        assert!(!format!("{login:?}").contains("MIIBcert"));
    }

    #[test]
    fn logged_in_needs_both_flag_and_success() {
        let mut s = LoginStatus {
            count: Some(1),
            id: None,
            image_id: None,
            name: None,
            organization_name: None,
            is_logged_in: Some(true),
            idle_expiration: None,
            date_time: None,
            task_counter: None,
            usage_list: None,
            organization_list: None,
            status: Status::success(),
        };
        assert!(s.logged_in());
        s.status = Status::new(StatusCode::InvalidSession, "x");
        assert!(!s.logged_in());
        s.status = Status::success();
        s.is_logged_in = None;
        assert!(!s.logged_in());
    }
}
