//! Slow clients: a header trickled byte by byte, a kept-alive connection left idle, and more
//! connections than `server.max_connections`. Each is cut off by the gateway, not by the test:
//! the test only waits, with a generous outer bound, for the gateway to close the connection.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::{self, Harness};
use crate::ops::sample;
use crate::raw::{self, read_answer, read_to_close};

/// Far above every deadline these tests configure: only a gateway that never cuts off hits it.
const OUTER: Duration = Duration::from_secs(20);

const GET_JWKS: &str = "GET /.well-known/jwks.json HTTP/1.1\r\nHost: gw\r\n\r\n";

async fn connect(h: &Harness) -> TcpStream {
    TcpStream::connect(raw::addr(h)).await.unwrap()
}

async fn closed_total(h: &Harness, reason: &str) -> f64 {
    let metrics = h.metrics().await;
    sample(
        &metrics,
        &format!("idbridge_client_connections_closed_total{{reason=\"{reason}\"}}"),
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn a_header_trickled_byte_by_byte_is_cut_off_at_the_header_deadline() {
    let h = common::builder()
        .set("server.header_timeout", "1s")
        .start()
        .await;
    let started = Instant::now();
    let stream = connect(&h).await;
    let (mut read, mut write) = stream.into_split();
    // The attack: a valid start, then one header byte every 100 ms, for ever.
    let trickle = async move {
        write
            .write_all(b"GET / HTTP/1.1\r\nX-Slow: ")
            .await
            .unwrap();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b"a").await.is_err() {
                return;
            }
        }
    };
    let closed = async {
        let mut data = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut read, &mut data).await;
        data
    };
    let answered = tokio::time::timeout(OUTER, async {
        tokio::select! {
            data = closed => data,
            () = trickle => Vec::new(),
        }
    })
    .await
    .expect("the gateway kept a trickling client for 20 s");
    let took = started.elapsed();
    assert!(answered.is_empty(), "no request, no answer: {answered:?}");
    assert!(
        took >= Duration::from_millis(900),
        "cut off early: {took:?}"
    );
    assert_eq!(closed_total(&h, "header_timeout").await, 1.0);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_at_the_keepalive_deadline() {
    let h = common::builder()
        .set("server.keepalive_timeout", "2s")
        .set("server.header_timeout", "500ms")
        .start()
        .await;
    let mut conn = connect(&h).await;
    conn.write_all(GET_JWKS.as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut conn).await.status, 200);
    // Longer than the header deadline, well within keep-alive: a second request still works,
    // so the header deadline does not run while the connection idles.
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The keep-alive deadline starts once the second answer is written, so after this instant.
    let started = Instant::now();
    conn.write_all(GET_JWKS.as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut conn).await.status, 200);
    let rest = tokio::time::timeout(OUTER, read_to_close(&mut conn))
        .await
        .expect("the gateway kept an idle connection for 20 s");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(closed_total(&h, "keepalive_timeout").await, 1.0);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_open_ones_carry_on() {
    let h = common::builder()
        .set("server.max_connections", "2")
        .start()
        .await;
    // Two connections, each answered once: each holds its permit now.
    let mut first = connect(&h).await;
    let mut second = connect(&h).await;
    for conn in [&mut first, &mut second] {
        conn.write_all(GET_JWKS.as_bytes()).await.unwrap();
        assert_eq!(read_answer(conn).await.status, 200);
    }
    let mut third = connect(&h).await;
    let _ = third.write_all(GET_JWKS.as_bytes()).await;
    let got = tokio::time::timeout(OUTER, read_to_close(&mut third))
        .await
        .expect("the connection over the cap was kept open");
    assert!(got.is_empty(), "over the cap, no answer: {got:?}");
    assert_eq!(closed_total(&h, "max_connections").await, 1.0);

    // The open ones carry on.
    first.write_all(GET_JWKS.as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut first).await.status, 200);
    // One closes: a new connection gets its place (once the gateway has seen the close).
    drop(second);
    let answered = tokio::time::timeout(OUTER, async {
        loop {
            let mut conn = connect(&h).await;
            let _ = conn.write_all(GET_JWKS.as_bytes()).await;
            if !read_to_close_or_answer(&mut conn).await.is_empty() {
                return;
            }
        }
    })
    .await;
    assert!(
        answered.is_ok(),
        "a freed place was never given to a new connection"
    );
}

/// An answer (the connection got a place) or nothing (it was closed).
async fn read_to_close_or_answer(conn: &mut TcpStream) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    match tokio::io::AsyncReadExt::read(conn, &mut buf).await {
        Ok(n) => buf[..n].to_vec(),
        Err(_) => Vec::new(),
    }
}

/// Sends a header announcing 100 bytes of body and only 10 of them, then waits for the answer.
async fn stalled_body(h: &Harness, path: &str) -> raw::Raw {
    let mut conn = connect(h).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\":\"bcd\""
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(OUTER, read_to_close(&mut conn))
        .await
        .expect("the gateway waited 20 s for a body");
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    raw::Raw {
        status,
        headers: Default::default(),
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn a_body_that_never_arrives_is_408_in_the_callers_protocol() {
    let h = common::builder()
        .set("server.body_timeout", "1s")
        .start()
        .await;
    let r = stalled_body(&h, "/idbridge/v1/login").await;
    assert_eq!(r.status, 408, "{}", r.body);
    assert!(r.body.contains("request_timeout"), "{}", r.body);
    let r = stalled_body(&h, "/api/login").await;
    assert_eq!(r.status, 408, "{}", r.body);
    assert!(r.body.contains("InvalidInput"), "{}", r.body);
    // Proxied untouched to a backend: cut off all the same, in that backend's protocol.
    let r = stalled_body(&h, "/api/object/get").await;
    assert_eq!(r.status, 408, "{}", r.body);
    assert!(r.body.contains("InvalidInput"), "{}", r.body);
}
