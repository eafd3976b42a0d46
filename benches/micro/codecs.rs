//! The codecs on the gateway's hot paths, on the vendors' own samples
//! (`crates/protocol/tests/data/`):
//! - EnOS: decode a session/info answer and normalise it into a `Session` (every cache miss);
//! - Net iD SOAP: decode a GetLoginStatus request (every SOAP status call) and render the answer;
//! - one session rendered into each protocol the gateway speaks (every cache hit renders one).
//!
//! Run: `cargo bench -p idbridge-benches --bench codecs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use idbridge_benches::{
    ENOS_INFO, NETID_STATUS_JSON, NETID_STATUS_REQUEST_XML, NETID_STATUS_XML, NOW, decode_enos,
    netid_session,
};
use idbridge_protocol::netid::{self, rest, soap};
use idbridge_protocol::{Limits, enos, unified};
use idbridge_session::SessionId;

/// A Net iD session id of realistic length (the vendor sample leaves it empty).
const NETID_ID: &str = "5f3c1e9a7b2d4c6e8f0a1b3c5d7e9f1a";

fn decode(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("decode");

    g.throughput(Throughput::Bytes(ENOS_INFO.len() as u64));
    g.bench_function("enos_session_info+normalise", |b| {
        b.iter(|| decode_enos(black_box(ENOS_INFO), &limits, NOW).unwrap())
    });

    let request = NETID_STATUS_REQUEST_XML.replace(
        "<SessionId></SessionId>",
        &format!("<SessionId>{NETID_ID}</SessionId>"),
    );
    g.throughput(Throughput::Bytes(request.len() as u64));
    g.bench_function("netid_soap_status_request", |b| {
        b.iter(|| {
            let parsed = soap::parse_request(black_box(request.as_bytes()), &limits).unwrap();
            soap::decode_status_request(&parsed).unwrap()
        })
    });

    let rest_request = format!(r#"{{ "SessionId": "{NETID_ID}", "Count": "1" }}"#);
    g.throughput(Throughput::Bytes(rest_request.len() as u64));
    g.bench_function("netid_rest_status_request", |b| {
        b.iter(|| rest::decode_status_request(black_box(rest_request.as_bytes()), &limits).unwrap())
    });

    // What a cache miss costs on the Net iD side: the gateway asks upstream over REST.
    g.throughput(Throughput::Bytes(NETID_STATUS_JSON.len() as u64));
    g.bench_function("netid_rest_status_answer+normalise", |b| {
        b.iter(|| {
            let status = rest::decode_login_status(black_box(NETID_STATUS_JSON), &limits).unwrap();
            netid::session_from_login_status(&status, SessionId::new(NETID_ID), NOW)
        })
    });
    g.throughput(Throughput::Bytes(NETID_STATUS_XML.len() as u64));
    g.bench_function("netid_soap_status_answer+normalise", |b| {
        b.iter(|| {
            let status = soap::decode_login_status(black_box(NETID_STATUS_XML), &limits).unwrap();
            netid::session_from_login_status(&status, SessionId::new(NETID_ID), NOW)
        })
    });
    g.finish();
}

/// One cached session rendered into every face, to the bytes that go on the wire.
fn render(c: &mut Criterion) {
    let limits = Limits::default();
    let sessions = [
        ("enos", decode_enos(ENOS_INFO, &limits, NOW).unwrap()),
        ("netid", netid_session(NETID_ID, NOW).unwrap()),
    ];
    let mut g = c.benchmark_group("render");
    for (from, session) in &sessions {
        let now = session.refreshed.saturating_add(Duration::from_secs(60));
        g.bench_function(format!("{from}→enos_session_info"), |b| {
            b.iter(|| {
                serde_json::to_vec(&enos::session_info_response(black_box(session), now)).unwrap()
            })
        });
        g.bench_function(format!("{from}→netid_rest_status"), |b| {
            b.iter(|| {
                let status = netid::login_status_from_session(black_box(session), 2, now);
                rest::encode_login_status(&status)
            })
        });
        g.bench_function(format!("{from}→netid_soap_status"), |b| {
            b.iter(|| {
                let status = netid::login_status_from_session(black_box(session), 2, now);
                soap::encode_login_status(&status)
            })
        });
        g.bench_function(format!("{from}→unified_json"), |b| {
            b.iter(|| {
                serde_json::to_vec(&unified::json::session_response(black_box(session), now))
                    .unwrap()
            })
        });
        g.bench_function(format!("{from}→unified_soap"), |b| {
            b.iter(|| unified::soap::encode_session_response(black_box(session), now))
        });
    }
    g.finish();
}

criterion_group!(benches, decode, render);
criterion_main!(benches);
