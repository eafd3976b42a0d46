//! The flat EnOS IAM response envelope: seven status keys beside the payload keys.
//!
//! Success: `fail` false, `success` true, `failed` false, `successful` true, `status` 0,
//! `message` "", `requestId` null. Failure (the project's documented assumption): HTTP 200 with
//! the flags inverted, `status` = the error code, `message` its text, and no payload key.

use idbridge_session::{Session, UnixTime};
use serde_json::{Map, Value, json};

use super::EnosCode;
use super::render::{UserShape, session_value};
use crate::json::{self, loose_bool, loose_i64, member};
use crate::{DecodeError, Limits};

/// The envelope keys, stripped from a decoded success and written on every response.
const ENVELOPE_KEYS: [&str; 7] = [
    "fail",
    "success",
    "failed",
    "successful",
    "status",
    "message",
    "requestId",
];

/// A decoded EnOS IAM response.
#[derive(Debug, Clone, PartialEq)]
pub enum EnosReply {
    /// The payload keys (for Log In: `captcha` and `session`), envelope stripped.
    Success(Map<String, Value>),
    /// A business error. `message` is the backend's text: fit for logs and for the client that
    /// made the call, not for a client of another protocol.
    Failure { code: EnosCode, message: String },
}

/// Decodes any EnOS IAM response body.
///
/// A failure is recognised by `success`/`successful` false, `fail`/`failed` true, or a non-zero
/// `status`; `status` may be an integer, an integral float (`0.0`) or a numeric string. A body
/// with none of the envelope's status keys is rejected, so that an HTML error page or a foreign
/// JSON document is never taken for a success.
pub fn decode_response(body: &[u8], limits: &Limits) -> Result<EnosReply, DecodeError> {
    let mut map = json::parse_object(body, limits)?;
    let status = match member(&map, "status") {
        None => None,
        Some(v) => Some(
            loose_i64(v).ok_or_else(|| DecodeError::invalid("status", "expected an integer"))?,
        ),
    };
    let flag = |key: &'static str| -> Result<Option<bool>, DecodeError> {
        member(&map, key)
            .map(|v| loose_bool(v).ok_or_else(|| DecodeError::invalid(key, "expected a boolean")))
            .transpose()
    };
    let (success, successful) = (flag("success")?, flag("successful")?);
    let (fail, failed) = (flag("fail")?, flag("failed")?);
    if status.is_none()
        && [success, successful, fail, failed]
            .iter()
            .all(Option::is_none)
    {
        return Err(DecodeError::MissingField("status"));
    }
    let is_failure = success == Some(false)
        || successful == Some(false)
        || fail == Some(true)
        || failed == Some(true)
        || status.is_some_and(|s| s != 0);
    if is_failure {
        let code = EnosCode::from_status(status.unwrap_or(0));
        let message = match member(&map, "message") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            _ => code.message().to_owned(),
        };
        return Ok(EnosReply::Failure { code, message });
    }
    for key in ENVELOPE_KEYS {
        map.remove(key);
    }
    Ok(EnosReply::Success(map))
}

/// The Log In response: envelope, `captcha` "", and the Session struct with the Log In sample's
/// user keys.
pub fn login_response(session: &Session, now: UnixTime) -> Value {
    success_envelope(vec![
        ("session", session_value(session, now, UserShape::Login)),
        ("captcha", Value::String(String::new())),
    ])
}

/// The session/info response: envelope and the Session struct with the session/info sample's
/// user keys.
pub fn session_info_response(session: &Session, now: UnixTime) -> Value {
    success_envelope(vec![(
        "session",
        session_value(session, now, UserShape::SessionInfo),
    )])
}

/// The logout response: the bare success envelope.
pub fn logout_response() -> Value {
    success_envelope(Vec::new())
}

/// A failure envelope: HTTP 200 body with `status` = the `30xxx` code and no payload key.
pub fn failure(code: EnosCode, message: &str) -> Value {
    // The success samples' key order, without a payload (assumed).
    json!({
        "fail": true,
        "success": false,
        "requestId": null,
        "failed": true,
        "message": message,
        "status": code.code(),
        "successful": false,
    })
}

/// The success envelope around `payload`, in the vendor samples' key order: `fail`, the payload
/// (`session`, then Log In's `captcha`), `success`, `requestId`, `failed`, `message`, `status`,
/// `successful`.
fn success_envelope(payload: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    map.insert("fail".into(), Value::Bool(false));
    for (key, value) in payload {
        map.insert(key.into(), value);
    }
    map.insert("success".into(), Value::Bool(true));
    map.insert("requestId".into(), Value::Null);
    map.insert("failed".into(), Value::Bool(false));
    map.insert("message".into(), Value::String(String::new()));
    map.insert("status".into(), Value::from(0));
    map.insert("successful".into(), Value::Bool(true));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(v: &Value) -> Result<EnosReply, DecodeError> {
        decode_response(&serde_json::to_vec(v).unwrap(), &Limits::default())
    }

    #[test]
    fn success_strips_the_envelope() {
        let mut v = logout_response();
        v["session"] = json!({"id": "x"});
        let EnosReply::Success(map) = decode(&v).unwrap() else {
            panic!("expected success")
        };
        assert_eq!(map.len(), 1);
        assert_eq!(map["session"]["id"], "x");
        assert_eq!(
            decode(&logout_response()).unwrap(),
            EnosReply::Success(Map::new())
        );
    }

    #[test]
    fn failures_in_every_spelling() {
        let f = failure(EnosCode::NotFound, "gone");
        assert_eq!(
            decode(&f).unwrap(),
            EnosReply::Failure {
                code: EnosCode::NotFound,
                message: "gone".into()
            }
        );
        let short = json!({"success": false, "status": 401.0, "message": ""});
        assert_eq!(
            decode(&short).unwrap(),
            EnosReply::Failure {
                code: EnosCode::InvalidToken,
                message: EnosCode::InvalidToken.message().into()
            }
        );
        let status_only = json!({"status": "30429"});
        assert!(matches!(
            decode(&status_only).unwrap(),
            EnosReply::Failure {
                code: EnosCode::TooManyAttempts,
                ..
            }
        ));
        let flags_only = json!({"success": false});
        assert!(matches!(
            decode(&flags_only).unwrap(),
            EnosReply::Failure {
                code: EnosCode::Other(0),
                ..
            }
        ));
    }

    #[test]
    fn float_zero_status_is_success() {
        let v = json!({"success": true, "status": 0.0, "session": {}});
        assert!(matches!(decode(&v).unwrap(), EnosReply::Success(_)));
    }

    #[test]
    fn foreign_documents_are_rejected() {
        assert_eq!(
            decode(&json!({"hello": 1})),
            Err(DecodeError::MissingField("status"))
        );
        assert!(matches!(
            decode(&json!({"status": "ok"})),
            Err(DecodeError::InvalidField {
                field: "status",
                ..
            })
        ));
        assert!(matches!(
            decode(&json!({"status": 0, "success": "maybe"})),
            Err(DecodeError::InvalidField {
                field: "success",
                ..
            })
        ));
    }

    #[test]
    fn failure_has_exactly_the_envelope_keys() {
        let f = failure(EnosCode::Disabled, "off");
        let mut keys: Vec<_> = f.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let mut expected: Vec<_> = ENVELOPE_KEYS.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(keys, expected);
        assert_eq!(f["status"], 30511);
    }
}
