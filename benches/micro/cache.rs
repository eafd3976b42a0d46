//! Cache-hit lookups, alone and as the whole interception a cache hit runs (decode the request,
//! look the session up, render the answer), for every face. No socket is involved: this is the
//! part of a cache-hit request that is idbridge's own work, the rest is Pingora's HTTP handling.
//!
//! Run: `cargo bench -p idbridge-benches --bench cache`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use idbridge_benches::{NOW, enos_id, enos_session, netid_id, netid_session};
use idbridge_gateway::backend::Kinds;
use idbridge_gateway::config::Config;
use idbridge_gateway::face::{Op, Request};
use idbridge_gateway::runtime::Runtime;
use idbridge_gateway::store::{Fetch, LocalStore, SessionStore};

/// Sessions in the cache while one is looked up: lookups are not answered from a toy-sized map.
const POPULATION: usize = 100_000;

fn never_called<'a>() -> Fetch<'a> {
    unreachable!("a cache hit must not fetch")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn lookup(c: &mut Criterion) {
    let rt = runtime();
    let cache = LocalStore::new(
        1_000_000,
        Duration::from_secs(3600),
        Duration::from_secs(30),
    );
    let keys: Vec<String> = (0..POPULATION as u64).map(enos_id).collect();
    rt.block_on(async {
        for key in &keys {
            cache
                .insert(enos_session(key, NOW).unwrap(), NOW)
                .await
                .unwrap();
        }
        cache.sync().await;
    });
    let mut g = c.benchmark_group("cache");
    let mut i = 0usize;
    g.bench_function("get_or_fetch_hit", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 7919) % POPULATION;
            let key = keys[i].as_str();
            let cache = &cache;
            async move { cache.get_or_fetch(black_box(key), NOW, &never_called).await }
        })
    });
    g.finish();
}

fn request(authorization: Option<String>, body: String) -> Request {
    Request {
        path: String::new(),
        authorization,
        soap_action: None,
        content_type: None,
        request_id: Some("bench".into()),
        client_addr: Some("127.0.0.1".into()),
        via_trusted_proxy: false,
        cookie: None,
        body: Bytes::from(body),
    }
}

/// Each case twice: with the answers kept rendered (the default), and with
/// `cache.max_rendered_bytes = 0`, each answer rendered whole.
fn interception(c: &mut Criterion) {
    for (memo, max_rendered_bytes) in [("kept", None), ("whole", Some(0))] {
        interception_with(c, memo, max_rendered_bytes);
    }
}

fn interception_with(c: &mut Criterion, memo: &str, max_rendered_bytes: Option<u64>) {
    let rt = runtime();
    let mut config = Config::defaults().unwrap();
    config.cache.revalidate_after = Duration::from_secs(3600);
    if let Some(bytes) = max_rendered_bytes {
        config.cache.max_rendered_bytes = bytes;
    }
    let runtime = Runtime::new(config, Kinds::default()).unwrap();
    let (enos, netid) = (enos_id(1), netid_id(1));
    rt.block_on(async {
        let store = &runtime.store;
        store
            .insert(enos_session(&enos, NOW).unwrap(), NOW)
            .await
            .unwrap();
        store
            .insert(netid_session(&netid, NOW).unwrap(), NOW)
            .await
            .unwrap();
    });
    // The gateway refuses a repeated Net iD `Count`, so every Net iD request carries a new, rising
    // one (as a real client's do); the others ignore it. Requests are built outside the timing.
    type Make = Box<dyn Fn(u64) -> Request>;
    let cases: [(&str, &str, &str, Make); 4] = [
        ("enos_session_info", "enos", r#""status":0"#, {
            let enos = enos.clone();
            Box::new(move |_| request(Some(format!("Bearer {enos}")), "{}".into()))
        }),
        ("netid_rest_status", "netid_rest", r#""Code":"Success""#, {
            let netid = netid.clone();
            Box::new(move |n| request(None, format!(r#"{{"SessionId":"{netid}","Count":"{n}"}}"#)))
        }),
        ("netid_soap_status", "netid_soap", "<Code>Success</Code>", {
            let netid = netid.clone();
            Box::new(move |n| {
                request(
                    None,
                    format!(
                        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus xmlns="http://www.pointsharp.com/netid/server/portal"><Info><SessionId>{netid}</SessionId><Count>{n}</Count></Info></GetLoginStatus></s:Body></s:Envelope>"#
                    ),
                )
            })
        }),
        ("unified_session(enos)", "unified", r#""session":"#, {
            let enos = enos.clone();
            Box::new(move |_| request(Some(format!("Bearer {enos}")), String::new()))
        }),
    ];
    // One count for all cases: both Net iD faces ask about the same session from one client.
    let count = Cell::new(1);
    let mut g = c.benchmark_group(format!("intercept_hit/{memo}"));
    for (name, face, success, make) in &cases {
        let face = runtime.face_index(face).unwrap();
        let next = || {
            count.set(count.get() + 1);
            make(count.get())
        };
        // A hit must answer success without a backend (none is running): check once, then measure.
        let (reply, facts) = rt.block_on(runtime.handle(face, Op::Status, &next(), NOW));
        let body = String::from_utf8_lossy(&reply.body);
        assert_eq!(reply.status, 200, "{name}: {body}");
        assert!(body.contains(success), "{name}: {body}");
        assert_eq!(facts.cache.map(|c| c.as_str()), Some("hit"), "{name}");
        let runtime = &runtime;
        g.bench_function(*name, |b| {
            b.to_async(&rt).iter_batched(
                next,
                |req| async move { runtime.handle(face, Op::Status, black_box(&req), NOW).await },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, lookup, interception);
criterion_main!(benches);
