//! The Net iD Portal REST/JSON binding (`/api/…`).
//!
//! Every scalar is written as a JSON string (`"Count": "1"`, `"IsLoggedIn": "True"`), keys in
//! the vendor's order. On input, numbers and booleans are accepted where strings are expected.

use super::decode::{self, Obj};
use super::model::{
    LoginAnswer, LoginRequest, LoginResponse, LoginStatus, LoginStep, LogoutRequest,
    LogoutResponse, Status, StatusRequest,
};
use super::out::{self, Fields, Out};
use crate::json::parse_object;
use crate::{DecodeError, Limits};

/// `Content-Type` of REST requests and responses, as the portal documents it.
pub const CONTENT_TYPE: &str = "application/json; charset=\"utf-8\"";

/// Path of the login, both steps (the project's documented assumption).
pub const LOGIN_PATH: &str = "/api/login";
/// Path of GetLoginStatus.
pub const LOGIN_STATUS_PATH: &str = "/api/login/status/get";
/// Path of Logout.
pub const LOGOUT_PATH: &str = "/api/logout";

fn decode_with<T>(
    body: &[u8],
    limits: &Limits,
    typed: impl FnOnce(Obj<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let map = parse_object(body, limits)?;
    typed(Obj(&map))
}

fn encode(fields: Fields) -> Vec<u8> {
    // An ordered tree of strings always serialises; the fallback is unreachable.
    serde_json::to_vec(&Out::Obj(fields)).unwrap_or_default()
}

pub fn decode_login_request(body: &[u8], limits: &Limits) -> Result<LoginRequest, DecodeError> {
    decode_with(body, limits, decode::login_request)
}

/// Either Login step (see [`LoginStep`]).
pub fn decode_login_step(body: &[u8], limits: &Limits) -> Result<LoginStep, DecodeError> {
    decode_with(body, limits, decode::login_step)
}

pub fn decode_login_response(body: &[u8], limits: &Limits) -> Result<LoginResponse, DecodeError> {
    decode_with(body, limits, decode::login_response)
}

pub fn decode_status_request(body: &[u8], limits: &Limits) -> Result<StatusRequest, DecodeError> {
    decode_with(body, limits, decode::status_request)
}

pub fn decode_login_status(body: &[u8], limits: &Limits) -> Result<LoginStatus, DecodeError> {
    decode_with(body, limits, decode::login_status)
}

pub fn decode_logout_request(body: &[u8], limits: &Limits) -> Result<LogoutRequest, DecodeError> {
    decode_with(body, limits, decode::logout_request)
}

pub fn decode_logout_response(body: &[u8], limits: &Limits) -> Result<LogoutResponse, DecodeError> {
    decode_with(body, limits, decode::logout_response)
}

/// Decodes a status-only body (`{"Status": {...}}`), the form of an HTTP 400 reply.
pub fn decode_status(body: &[u8], limits: &Limits) -> Result<Status, DecodeError> {
    decode_with(body, limits, decode::status)
}

pub fn encode_login_request(r: &LoginRequest) -> Vec<u8> {
    encode(out::login_request(r))
}

pub fn encode_login_answer(r: &LoginAnswer) -> Vec<u8> {
    encode(out::login_answer(r))
}

/// Either Login step, as [`decode_login_step`] reads it.
pub fn encode_login_step(s: &LoginStep) -> Vec<u8> {
    match s {
        LoginStep::Begin(r) => encode_login_request(r),
        LoginStep::Answer(a) => encode_login_answer(a),
    }
}

pub fn encode_login_response(r: &LoginResponse) -> Vec<u8> {
    encode(out::login_response(r))
}

pub fn encode_status_request(r: &StatusRequest) -> Vec<u8> {
    encode(out::status_request(r))
}

pub fn encode_login_status(s: &LoginStatus) -> Vec<u8> {
    encode(out::login_status(s))
}

pub fn encode_logout_request(r: &LogoutRequest) -> Vec<u8> {
    encode(out::logout_request(r))
}

pub fn encode_logout_response(r: &LogoutResponse) -> Vec<u8> {
    encode(out::logout_response(r))
}

/// `{"Status": {"Code", "Description"}}`: the body of an HTTP 400 for malformed JSON.
pub fn encode_status(status: &Status) -> Vec<u8> {
    encode(out::status_only(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netid::{StatusCode, not_logged_in};
    use idbridge_session::SessionId;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn requests_round_trip_with_string_scalars() {
        let req = decode_status_request(br#"{"SessionId":"abc=","Count":7}"#, &limits()).unwrap();
        assert_eq!(req.session_id, SessionId::new("abc="));
        assert_eq!(req.count, 7);
        assert_eq!(req.blob, None);
        assert_eq!(
            String::from_utf8(encode_status_request(&req)).unwrap(),
            r#"{"SessionId":"abc=","Count":"7"}"#
        );
    }

    #[test]
    fn encrypted_form_keeps_blob_between_session_and_count() {
        let req = decode_logout_request(br#"{"SessionId":"s","Blob":"b","Count":"2"}"#, &limits())
            .unwrap();
        assert_eq!(req.blob.as_deref(), Some("b"));
        assert_eq!(
            String::from_utf8(encode_logout_request(&req)).unwrap(),
            r#"{"SessionId":"s","Blob":"b","Count":"2"}"#
        );
    }

    #[test]
    fn not_logged_in_has_three_fields() {
        let text = String::from_utf8(encode_login_status(&not_logged_in(4))).unwrap();
        assert_eq!(
            text,
            r#"{"Count":"4","IsLoggedIn":"False","Status":{"Code":"InvalidSession","Description":"The session is not valid."}}"#
        );
        let back = decode_login_status(text.as_bytes(), &limits()).unwrap();
        assert_eq!(back, not_logged_in(4));
    }

    #[test]
    fn count_must_be_numeric() {
        for body in [
            r#"{"SessionId":"s","Count":"one"}"#,
            r#"{"SessionId":"s","Count":"-1"}"#,
            r#"{"SessionId":"s","Count":1.5}"#,
            r#"{"SessionId":"s","Count":[1]}"#,
            r#"{"SessionId":"s","Count":"1e3"}"#,
            r#"{"SessionId":"s","Count":"+1"}"#,
            r#"{"SessionId":"s","Count":""}"#,
        ] {
            assert!(
                matches!(
                    decode_status_request(body.as_bytes(), &limits()),
                    Err(DecodeError::InvalidField { field: "Count", .. })
                ),
                "{body}"
            );
        }
        assert_eq!(
            decode_status_request(br#"{"SessionId":"s"}"#, &limits()),
            Err(DecodeError::MissingField("Count"))
        );
    }

    #[test]
    fn login_request_defaults_role_and_keeps_client() {
        let r = decode_login_request(
            br#"{"Certificate":"MII=","DateTime":"2023-02-22T07:14:03Z","Client":{"DeviceName":"pc","LanguageName":"sv"}}"#,
            &limits(),
        )
        .unwrap();
        assert_eq!(r.role.as_str(), "Self");
        let client = r.client.clone().unwrap();
        assert_eq!(client.device_name.as_deref(), Some("pc"));
        assert_eq!(client.application_name, None);
        assert_eq!(
            String::from_utf8(encode_login_request(&r)).unwrap(),
            r#"{"Certificate":"MII=","DateTime":"2023-02-22T07:14:03Z","Role":"Self","Client":{"DeviceName":"pc","LanguageName":"sv"}}"#
        );
        assert!(matches!(
            decode_login_request(
                br#"{"Certificate":"c","DateTime":"d","Role":"Admin"}"#,
                &limits()
            ),
            Err(DecodeError::InvalidField { field: "Role", .. })
        ));
    }

    #[test]
    fn login_response_and_error_body() {
        let body = br#"{"SessionId":"c2lk","Certificate":"Y2VydA==","Value":"dg==","Status":{"Code":"Success","Description":"Success"}}"#;
        let r = decode_login_response(body, &limits()).unwrap();
        assert_eq!(encode_login_response(&r), body.to_vec());
        let denied = decode_login_response(
            br#"{"Status":{"Code":"AccessDenied","Description":"no"}}"#,
            &limits(),
        )
        .unwrap();
        assert_eq!(denied.session_id, None);
        assert_eq!(denied.status.code, StatusCode::AccessDenied);
        let err = Status::new(StatusCode::InvalidInput, "bad");
        let text = encode_status(&err);
        assert_eq!(decode_status(&text, &limits()).unwrap(), err);
    }

    #[test]
    fn logout_response_round_trips() {
        let body = br#"{"Count":"3","Status":{"Code":"InvalidCount","Description":"x"}}"#;
        let r = decode_logout_response(body, &limits()).unwrap();
        assert_eq!(r.count, Some(3));
        assert_eq!(encode_logout_response(&r), body.to_vec());
    }
}
