//! EnOS IAM Log In request body (`POST /enos-iam-service/v2.0/login`) and the `Authorization`
//! header reader: `enos::LoginRequest::decode`, `enos::parse_authorization`.
//!
//! Invariant: an accepted body, re-encoded with `LoginRequest::encode` (what the gateway sends
//! upstream), decodes to the same request.

#![no_main]

#[path = "common.rs"]
mod common;

use idbridge_protocol::enos::{LoginRequest, parse_authorization};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_authorization(text);
    }
    let Ok(request) = LoginRequest::decode(data, &common::limits()) else {
        return;
    };
    let again = LoginRequest::decode(&request.encode(), &common::roomy());
    assert_eq!(again.as_ref(), Ok(&request), "re-encoded login differs");
});
