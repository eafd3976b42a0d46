//! The EnOS Log In request body (`POST /enos-iam-service/v2.0/login`).

use std::fmt;

use serde::Serialize;

use crate::json::{self, loose_i64, loose_u64, member};
use crate::{DecodeError, Limits};

/// EnOS `authType`: which directory checks the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthType {
    /// 0: an EnOS account.
    #[default]
    Enos,
    /// 1: an LDAP bind through the link named by `linkName`.
    Ldap,
}

/// The password of a login request. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials(String);

/// A decoded Log In request.
///
/// Business rules (an LDAP login without `linkName`, the `expireInterval` clamp) are the
/// backend's to enforce; this type only guarantees the body is well-typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub auth_type: AuthType,
    pub link_name: Option<String>,
    pub principal: String,
    pub credentials: Credentials,
    pub key_id: Option<String>,
    pub captcha: Option<String>,
    pub client_ip: Option<String>,
    /// Requested session lifetime in seconds.
    pub expire_interval: Option<u64>,
}

// === impl AuthType ===

impl AuthType {
    pub fn code(self) -> i64 {
        match self {
            Self::Enos => 0,
            Self::Ldap => 1,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Enos),
            1 => Some(Self::Ldap),
            _ => None,
        }
    }
}

// === impl Credentials ===

impl Credentials {
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password, for the upstream call only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

// === impl LoginRequest ===

/// The wire shape, in the vendor sample's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    auth_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_name: Option<&'a str>,
    credentials: &'a str,
    principal: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    captcha: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_interval: Option<u64>,
}

impl LoginRequest {
    /// Decodes a Log In body. `authType`, `principal` and `credentials` are mandatory; numbers
    /// may arrive as strings or integral floats.
    pub fn decode(body: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        let map = json::parse_object(body, limits)?;
        let auth_type = member(&map, "authType").ok_or(DecodeError::MissingField("authType"))?;
        let auth_type = loose_i64(auth_type)
            .and_then(AuthType::from_code)
            .ok_or_else(|| DecodeError::invalid("authType", "expected 0 or 1"))?;
        // The optional strings are read as EnOS reads them: a value of another type is no value.
        let lenient = |key: &str| {
            member(&map, key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let expire_interval = match member(&map, "expireInterval") {
            None => None,
            Some(v) => match (loose_u64(v), loose_i64(v)) {
                (Some(secs), _) => Some(secs),
                // EnOS clamps a negative interval to its minimum; 0 asks for the same.
                (None, Some(_)) => Some(0),
                (None, None) => {
                    return Err(DecodeError::invalid(
                        "expireInterval",
                        "expected an integer number of seconds",
                    ));
                }
            },
        };
        Ok(Self {
            auth_type,
            link_name: lenient("linkName"),
            principal: json::req_str(&map, "principal", "principal")?.to_owned(),
            credentials: Credentials::new(json::req_str(&map, "credentials", "credentials")?),
            key_id: lenient("keyId"),
            captcha: lenient("captcha"),
            client_ip: lenient("clientIp"),
            expire_interval,
        })
    }

    /// The body to send upstream, keys in the vendor sample's order; absent options are omitted.
    pub fn encode(&self) -> Vec<u8> {
        let wire = Wire {
            auth_type: self.auth_type.code(),
            link_name: self.link_name.as_deref(),
            credentials: self.credentials.expose(),
            principal: &self.principal,
            key_id: self.key_id.as_deref(),
            captcha: self.captcha.as_deref(),
            client_ip: self.client_ip.as_deref(),
            expire_interval: self.expire_interval,
        };
        // Serialising plain strings and integers cannot fail; the fallback is unreachable.
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> Result<LoginRequest, DecodeError> {
        LoginRequest::decode(body.as_bytes(), &Limits::default())
    }

    #[test]
    fn minimal_request_and_loose_numbers() {
        let r = decode(
            r#"{"authType":"1","principal":"p","credentials":"s3cret","expireInterval":3600.0}"#,
        )
        .unwrap();
        assert_eq!(r.auth_type, AuthType::Ldap);
        assert_eq!(r.expire_interval, Some(3600));
        assert_eq!(r.link_name, None);
        assert_eq!(r.credentials.expose(), "s3cret");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let r = decode(r#"{"authType":0,"principal":"p","credentials":"s3cret"}"#).unwrap();
        let debug = format!("{r:?}");
        assert!(!debug.contains("s3cret"));
        assert!(debug.contains("<redacted>"));
        assert_eq!(r.credentials.to_string(), "<redacted>");
    }

    #[test]
    fn typed_errors() {
        assert_eq!(
            decode(r#"{"principal":"p","credentials":"c"}"#),
            Err(DecodeError::MissingField("authType"))
        );
        assert!(matches!(
            decode(r#"{"authType":2,"principal":"p","credentials":"c"}"#),
            Err(DecodeError::InvalidField {
                field: "authType",
                ..
            })
        ));
        assert!(matches!(
            decode(r#"{"authType":0,"principal":7,"credentials":"c"}"#),
            Err(DecodeError::InvalidField {
                field: "principal",
                ..
            })
        ));
        assert_eq!(
            decode(r#"{"authType":0,"principal":"p"}"#),
            Err(DecodeError::MissingField("credentials"))
        );
        assert!(matches!(
            decode(r#"{"authType":0,"principal":"p","credentials":"c","expireInterval":"soon"}"#),
            Err(DecodeError::InvalidField {
                field: "expireInterval",
                ..
            })
        ));
    }

    /// What EnOS accepts, the gateway accepts: a negative interval (clamped upstream to the
    /// minimum) and optional strings of another type (ignored).
    #[test]
    fn what_enos_accepts() {
        let r = decode(
            r#"{"authType":0,"principal":"p","credentials":"c","expireInterval":-5,
                "keyId":7,"captcha":false,"clientIp":{"v":4},"linkName":[]}"#,
        )
        .unwrap();
        assert_eq!(r.expire_interval, Some(0));
        assert_eq!(
            (r.key_id, r.captcha, r.client_ip, r.link_name),
            (None, None, None, None)
        );
    }

    #[test]
    fn invalid_credentials_type_does_not_echo_the_value() {
        let err = decode(r#"{"authType":0,"principal":"p","credentials":12345678}"#).unwrap_err();
        assert!(!err.to_string().contains("12345678"));
    }

    #[test]
    fn encode_keeps_sample_order_and_omits_absent_options() {
        let r = decode(r#"{"principal":"p","credentials":"c","authType":0,"clientIp":"1.1.1.1"}"#)
            .unwrap();
        let text = String::from_utf8(r.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"authType":0,"credentials":"c","principal":"p","clientIp":"1.1.1.1"}"#
        );
    }
}
