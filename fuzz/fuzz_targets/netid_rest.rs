//! Net iD Portal REST/JSON bodies, every message of the binding (`netid::rest::decode_*`):
//! Login, GetLoginStatus and Logout requests and responses, and the status-only error body.
//! A decoded GetLoginStatus is also mapped to a session (`session_from_login_status`, what the
//! gateway does with the backend's answer) and rendered back (`login_status_from_session`).
//!
//! Invariant: every message decodes and re-encodes exactly (the model's promise), so an accepted
//! body re-encoded with the matching `encode_*` decodes to the same value.

#![no_main]

#[path = "common.rs"]
mod common;

use idbridge_protocol::netid::{self, login_status_from_session, rest, session_from_login_status};
use idbridge_session::SessionId;
use libfuzzer_sys::fuzz_target;

/// Decodes `data` with `decode`; when accepted, checks that `encode` then `decode` gives it back.
macro_rules! round_trip {
    ($data:expr, $decode:path, $encode:path) => {{
        let decoded = $decode($data, &common::limits()).ok();
        if let Some(value) = &decoded {
            let again = $decode(&$encode(value), &common::roomy());
            assert!(
                again.as_ref() == Ok(value),
                concat!(stringify!($decode), ": re-encoded value differs")
            );
        }
        decoded
    }};
}

fuzz_target!(|data: &[u8]| {
    round_trip!(data, rest::decode_login_request, rest::encode_login_request);
    round_trip!(data, rest::decode_login_step, rest::encode_login_step);
    round_trip!(
        data,
        rest::decode_login_response,
        rest::encode_login_response
    );
    round_trip!(
        data,
        rest::decode_status_request,
        rest::encode_status_request
    );
    round_trip!(
        data,
        rest::decode_logout_request,
        rest::encode_logout_request
    );
    round_trip!(
        data,
        rest::decode_logout_response,
        rest::encode_logout_response
    );
    round_trip!(data, rest::decode_status, rest::encode_status);
    let status: Option<netid::LoginStatus> =
        round_trip!(data, rest::decode_login_status, rest::encode_login_status);
    if let Some(status) = status {
        if let Ok(session) = session_from_login_status(&status, SessionId::new("fuzz"), common::NOW)
        {
            let rendered = login_status_from_session(&session, 1, common::NOW);
            let _ = rest::encode_login_status(&rendered);
        }
    }
});
