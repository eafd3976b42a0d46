//! Net iD Portal SOAP 1.1 messages, every operation in both directions:
//! - requests as the gateway reads them from a client: `netid::soap::parse_request`, then each
//!   typed request decoder (`decode_login_request`, `decode_status_request`,
//!   `decode_logout_request`) and the `SOAPAction` check (`SoapAction::parse`, `matches`);
//! - responses as the gateway reads them from the portal: `decode_login_response`,
//!   `decode_login_status`, `decode_logout_response`, `decode_fault`.
//!
//! The input may start with a `SOAPAction: value` line (the HTTP header); the rest is the body.
//!
//! Invariants: what the writers produce the reader accepts, and a second pass changes nothing
//! (the first may: characters XML 1.0 cannot carry are written as U+FFFD); a parsed request
//! matches the `SOAPAction` of its own method.

#![no_main]

#[path = "common.rs"]
mod common;

use idbridge_protocol::netid::soap::{self, Method, SoapAction};
use libfuzzer_sys::fuzz_target;

/// A typed request decoder: the body is parsed once, as the gateway does, then typed.
macro_rules! request {
    ($parsed:expr, $decode:path, $encode:path) => {
        if let Ok(value) = $decode($parsed) {
            let once = reparse(&$encode(&value), |r| $decode(r));
            let twice = reparse(&$encode(&once), |r| $decode(r));
            assert!(
                once == twice,
                concat!(stringify!($decode), ": not a fixpoint")
            );
        }
    };
}

/// A response decoder, straight from the body.
macro_rules! response {
    ($data:expr, $decode:path, $encode:path) => {
        if let Ok(value) = $decode($data, &common::limits()) {
            let once = $decode($encode(&value).as_bytes(), &common::roomy());
            let once = once.expect(concat!(stringify!($decode), ": own output refused"));
            let twice = $decode($encode(&once).as_bytes(), &common::roomy());
            assert!(
                twice.as_ref() == Ok(&once),
                concat!(stringify!($decode), ": not a fixpoint")
            );
        }
    };
}

fn reparse<T>(
    body: &str,
    decode: impl FnOnce(&soap::SoapRequest) -> Result<T, idbridge_protocol::DecodeError>,
) -> T {
    let parsed = soap::parse_request(body.as_bytes(), &common::roomy());
    let parsed = parsed.expect("the request writer's output is refused");
    decode(&parsed).expect("the request writer's output does not decode")
}

fuzz_target!(|data: &[u8]| {
    let (header, data) = common::soap_input(data);
    let action = header.and_then(|h| SoapAction::parse(h).ok());

    if let Ok(parsed) = soap::parse_request(data, &common::limits()) {
        if let Some(action) = &action {
            let _ = action.matches(&parsed);
        }
        let own = SoapAction::new(Method::parse(&parsed.method));
        assert!(
            own.matches(&parsed),
            "a request does not match its own method's action"
        );
        let _ = SoapAction::parse(&own.header_value());
        let _ = parsed.field("SessionId");
        request!(
            &parsed,
            soap::decode_login_request,
            soap::encode_login_request
        );
        request!(&parsed, soap::decode_login_step, soap::encode_login_step);
        request!(
            &parsed,
            soap::decode_status_request,
            soap::encode_status_request
        );
        request!(
            &parsed,
            soap::decode_logout_request,
            soap::encode_logout_request
        );
    }

    response!(
        data,
        soap::decode_login_response,
        soap::encode_login_response
    );
    response!(data, soap::decode_login_status, soap::encode_login_status);
    response!(
        data,
        soap::decode_logout_response,
        soap::encode_logout_response
    );
    if let Ok(fault) = soap::decode_fault(data, &common::limits()) {
        // A fault the gateway relays is written with the same writer.
        let written = soap::encode_fault(&fault.code, &fault.message, None);
        let again = soap::decode_fault(written.as_bytes(), &common::roomy());
        assert!(again.is_ok(), "the fault writer's output is refused");
    }
});
