//! The unified REST/JSON face's request body (`POST /idbridge/v1/login`):
//! `unified::json::decode_login_request`, then the conversion to the backend's own login
//! (`LoginRequest::to_enos` / `to_netid`), as the gateway does before calling the backend.
//!
//! Invariant: a decoded login converts to exactly the backend it names.

#![no_main]

#[path = "common.rs"]
mod common;

use idbridge_protocol::unified::json::decode_login_request;
use idbridge_session::Backend;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(login) = decode_login_request(data, &common::limits()) else {
        return;
    };
    let enos = login.to_enos();
    let netid = login.to_netid(common::NOW);
    match login.backend() {
        b if b == Backend::ENOS => assert!(enos.is_some() && netid.is_none()),
        b if b == Backend::NETID => assert!(netid.is_some() && enos.is_none()),
        other => panic!("a login for an unknown backend {other:?} was accepted"),
    }
    if let Some(enos) = enos {
        let _ = enos.encode();
    }
    if let Some(netid) = netid {
        let _ = idbridge_protocol::netid::rest::encode_login_step(&netid);
        let _ = idbridge_protocol::netid::soap::encode_login_step(&netid);
    }
});
