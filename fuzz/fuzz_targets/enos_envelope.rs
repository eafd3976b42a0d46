//! EnOS IAM response bodies as the gateway reads them from the backend: the envelope
//! (`enos::decode_response`), then, on a success carrying a Session struct, its mapping to the
//! normalised session (`enos::session_from_enos`), which is then rendered back in every shape the
//! EnOS face answers with (they must not panic on anything the decoder let through).
//!
//! Invariant: a decoded success has its seven envelope keys stripped.

#![no_main]

#[path = "common.rs"]
mod common;

use idbridge_protocol::enos::{
    EnosReply, decode_response, login_response, session_from_enos, session_info_response,
    session_json,
};
use libfuzzer_sys::fuzz_target;

const ENVELOPE_KEYS: [&str; 7] = [
    "fail",
    "success",
    "failed",
    "successful",
    "status",
    "message",
    "requestId",
];

fuzz_target!(|data: &[u8]| {
    let Ok(reply) = decode_response(data, &common::limits()) else {
        return;
    };
    let EnosReply::Success(payload) = reply else {
        return;
    };
    for key in ENVELOPE_KEYS {
        assert!(!payload.contains_key(key), "envelope key {key} kept");
    }
    // Log In and Session Info both carry the Session struct as `session`.
    let Some(value) = payload.get("session") else {
        return;
    };
    if let Ok(session) = session_from_enos(value, common::NOW) {
        let _ = login_response(&session, common::NOW);
        let _ = session_info_response(&session, common::NOW);
        let _ = session_json(&session, common::NOW);
    }
});
