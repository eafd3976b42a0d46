//! Every decoder against the same bytes: size limits, empty bodies, corrupted samples, and
//! error messages that must not quote what they were given.

use idbridge_protocol::enos::{LoginRequest, decode_response};
use idbridge_protocol::netid::{rest, soap};
use idbridge_protocol::{DecodeError, Limits};

const SOAP_REQUEST: &str = include_str!("../data/netid-getloginstatus-request.xml");
const SOAP_RESPONSE: &str = include_str!("../data/netid-getloginstatus-response.xml");
const REST_REQUEST: &str = include_str!("../data/netid-getloginstatus-request.json");
const REST_RESPONSE: &str = include_str!("../data/netid-getloginstatus-response.json");
const ENOS_REQUEST: &str = include_str!("../data/enos-login-request.json");
const ENOS_LOGIN: &str = include_str!("../data/enos-login-response.json");
const ENOS_INFO: &str = include_str!("../data/enos-session-info-response.json");

const ENV_OPEN: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus xmlns="http://www.pointsharp.com/netid/server/portal"><Info>"#;
const ENV_CLOSE: &str = "</Info></GetLoginStatus></s:Body></s:Envelope>";

fn limits() -> Limits {
    Limits::default()
}

/// Every decoder in the crate, over the same bytes.
fn all_decoders(body: &[u8]) -> Vec<Result<(), DecodeError>> {
    let l = limits();
    vec![
        LoginRequest::decode(body, &l).map(|_| ()),
        decode_response(body, &l).map(|_| ()),
        rest::decode_login_request(body, &l).map(|_| ()),
        rest::decode_login_response(body, &l).map(|_| ()),
        rest::decode_status_request(body, &l).map(|_| ()),
        rest::decode_login_status(body, &l).map(|_| ()),
        rest::decode_logout_request(body, &l).map(|_| ()),
        rest::decode_logout_response(body, &l).map(|_| ()),
        rest::decode_status(body, &l).map(|_| ()),
        soap::parse_request(body, &l).map(|_| ()),
        soap::parse_request(body, &l)
            .and_then(|r| soap::decode_login_request(&r))
            .map(|_| ()),
        soap::decode_login_response(body, &l).map(|_| ()),
        soap::parse_request(body, &l)
            .and_then(|r| soap::decode_status_request(&r))
            .map(|_| ()),
        soap::decode_login_status(body, &l).map(|_| ()),
        soap::parse_request(body, &l)
            .and_then(|r| soap::decode_logout_request(&r))
            .map(|_| ()),
        soap::decode_logout_response(body, &l).map(|_| ()),
        soap::decode_fault(body, &l).map(|_| ()),
    ]
}

#[test]
fn empty_body_fails_everywhere() {
    for r in all_decoders(b"") {
        assert!(
            matches!(r, Err(DecodeError::Json(_) | DecodeError::Xml(_))),
            "{r:?}"
        );
    }
}

#[test]
fn ten_megabytes_is_too_large_before_parsing() {
    // Not even well-formed: the size check must come first.
    let body = vec![b'<'; 10 * 1024 * 1024];
    for r in all_decoders(&body) {
        assert_eq!(r, Err(DecodeError::TooLarge { limit: 65_536 }));
    }
}

#[test]
fn error_messages_never_echo_values() {
    let secret = "c2VjcmV0LXNlc3Npb24taWQ";
    let bodies = [
        format!(r#"{{"SessionId":"{secret}","Count":"{secret}"}}"#),
        format!(r#"{{"SessionId":{{"{secret}":1}},"Count":"1"}}"#),
        format!(r#"{{"authType":0,"principal":"p","credentials":{{"x":"{secret}"}}}}"#),
        format!("{ENV_OPEN}<SessionId>{secret}</SessionId><Count>{secret}</Count>{ENV_CLOSE}"),
        format!("{ENV_OPEN}<SessionId>{secret}</SessionId><Count>1</Count></Info>"),
        format!(r#"{{"status":"{secret}"}}"#),
    ];
    for body in &bodies {
        for err in all_decoders(body.as_bytes())
            .into_iter()
            .filter_map(Result::err)
        {
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }
}

/// Every prefix of every sample, and every single-byte corruption of it, either decodes or
/// fails with a typed error; the full sample decodes.
#[test]
fn prefixes_and_corruptions_never_panic() {
    let samples = [
        SOAP_REQUEST,
        SOAP_RESPONSE,
        REST_REQUEST,
        REST_RESPONSE,
        ENOS_REQUEST,
        ENOS_LOGIN,
        ENOS_INFO,
    ];
    for sample in samples {
        let bytes = sample.as_bytes();
        assert!(all_decoders(bytes).iter().any(Result::is_ok));
        for end in 0..bytes.len() {
            let _ = all_decoders(&bytes[..end]);
        }
        for at in (0..bytes.len()).step_by(11) {
            for replacement in [b'<', b'"', b'&', b'}', 0xff] {
                let mut corrupt = bytes.to_vec();
                corrupt[at] = replacement;
                let _ = all_decoders(&corrupt);
            }
        }
    }
}
