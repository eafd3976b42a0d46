//! The unified SOAP 1.1 face's requests (`POST /idbridge/soap`): `unified::soap::parse_request`
//! for Login, GetSession and Logout, and the `SOAPAction` header (`Operation::from_soap_action`).
//! The input may start with a `SOAPAction: value` line (the HTTP header); the rest is the body.
//!
//! Invariants (the documented `SOAPAction` rule): a body accepted without a `SOAPAction` is
//! accepted the same with its own operation's action, quoted or bare, and refused with another
//! operation's.

#![no_main]

#[path = "common.rs"]
mod common;

use idbridge_protocol::DecodeError;
use idbridge_protocol::unified::soap::{Operation, UnifiedSoapRequest, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, data) = common::soap_input(data);
    if let Some(header) = header {
        let _ = Operation::from_soap_action(header);
        let _ = parse_request(data, &common::limits(), Some(header));
    }
    let Ok(request) = parse_request(data, &common::limits(), None) else {
        return;
    };
    let operation = request.operation();
    for header in [
        format!("\"{}\"", operation.soap_action()),
        operation.soap_action().to_owned(),
    ] {
        let same = parse_request(data, &common::limits(), Some(&header));
        assert!(
            same.as_ref() == Ok(&request),
            "{operation}: own SOAPAction changes the result"
        );
    }
    for other in Operation::ALL.into_iter().filter(|o| *o != operation) {
        let action = format!("\"{}\"", other.soap_action());
        let refused = parse_request(data, &common::limits(), Some(&action));
        assert!(
            matches!(refused, Err(DecodeError::UnknownAction(_))),
            "{operation} accepted under {other}'s SOAPAction"
        );
    }
    if let UnifiedSoapRequest::Login(login) = &request {
        let _ = login.to_enos();
        let _ = login.to_netid(common::NOW);
    }
});
