//! Request smuggling and framing: hostile framings are refused or handled, and whatever the
//! gateway answers, the next request on the connection is read where the client meant it to
//! start (no desync), on intercepted and on pass-through paths alike.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::{self, Harness};
use crate::raw::{self, Raw};

const INFO: &str = "/enos-iam-service/v2.0/session/info";
/// Not intercepted: proxied to the EnOS simulator untouched.
const PASS: &str = "/enos-iam-service/v2.0/organization/info";

/// A connection with `bytes` written on it.
async fn send(h: &Harness, bytes: &str) -> TcpStream {
    let mut s = TcpStream::connect(raw::addr(h)).await.unwrap();
    s.write_all(bytes.as_bytes()).await.unwrap();
    s
}

/// A POST of `{}` to `path`, kept alive unless `close`.
fn post(path: &str, id: &str, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {id}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n{connection}\r\n{{}}"
    )
}

/// Every answer on the connection until the gateway closes it, split by `Content-Length`.
async fn answers(s: &mut TcpStream) -> Vec<Raw> {
    let bytes = raw::read_to_close(s).await;
    let mut rest = String::from_utf8_lossy(&bytes).to_string();
    let mut out = Vec::new();
    while let Some(end) = rest.find("\r\n\r\n") {
        let length: usize = rest[..end]
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let total = (end + 4 + length).min(rest.len());
        out.push(raw::parse(&rest[..total]));
        rest = rest[total..].to_owned();
    }
    out
}

/// An EnOS session/info answer for a live session.
fn live(r: &Raw) -> bool {
    r.status == 200 && r.json()["status"] == 0
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_on_every_kind_of_path() {
    let h = common::start().await;
    let id = h.enos_login().await;
    for (first, second) in [(INFO, INFO), (INFO, PASS), (PASS, INFO), (PASS, PASS)] {
        let bytes = format!("{}{}", post(first, &id, false), post(second, &id, true));
        let mut s = send(&h, &bytes).await;
        let got = answers(&mut s).await;
        assert_eq!(got.len(), 2, "{first} then {second}: {got:?}");
        let (a, b) = (&got[0], &got[1]);
        assert_eq!(
            (a.status, b.status),
            (200, 200),
            "{first} then {second}: {got:?}"
        );
        // The intercepted call is answered from the session; the pass-through one by EnOS.
        assert_eq!(live(a), first == INFO, "{a:?}");
        assert_eq!(live(b), second == INFO, "{b:?}");
    }
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_read_as_chunked_and_the_connection_ends() {
    let h = common::start().await;
    let id = h.enos_login().await;
    for path in [INFO, PASS] {
        // Read by Content-Length, the body would swallow "0\r\n\r\n" and the next request would
        // start inside it; read as chunked (RFC 9112 §6.3), the body is empty. Either way the
        // connection must not go on: the smuggled request is never answered.
        let smuggled =
            format!("GET {INFO} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {id}\r\n\r\n");
        let bytes = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {id}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
        );
        let mut s = send(&h, &bytes).await;
        let a = raw::read_answer(&mut s).await;
        assert!(a.status == 200 || a.status == 400, "{path}: {a:?}");
        let rest = raw::read_to_close(&mut s).await;
        assert!(
            rest.is_empty(),
            "{path}: answered after: {}",
            String::from_utf8_lossy(&rest)
        );
    }
}

#[tokio::test]
async fn ambiguous_framing_is_refused_with_400() {
    let h = common::start().await;
    let id = h.enos_login().await;
    for path in [INFO, PASS] {
        let cases = [
            // Two Content-Lengths that disagree.
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {id}\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{{}}xyz"
            ),
            // Obsolete line folding (RFC 9112 §5.2).
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n {id}\r\nContent-Length: 2\r\n\r\n{{}}"
            ),
        ];
        for bytes in cases {
            let mut s = send(&h, &bytes).await;
            let answer = raw::read_to_close(&mut s).await;
            let text = String::from_utf8_lossy(&answer);
            assert!(text.starts_with("HTTP/1.1 400 "), "{path}: {text}");
            assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
        }
    }
}

#[tokio::test]
async fn chunk_extensions_and_trailers_keep_the_connection_in_step_on_every_kind_of_path() {
    let h = common::start().await;
    let id = h.enos_login().await;
    for path in [INFO, PASS] {
        let chunked = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {id}\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\n{{}}\r\n0\r\nX-Trailer: y\r\n\r\n"
        );
        let bytes = format!("{chunked}{}", post(INFO, &id, true));
        let mut s = send(&h, &bytes).await;
        let got = answers(&mut s).await;
        assert_eq!(got.len(), 2, "{path}: {got:?}");
        // The intercepted call is answered from the session; the pass-through one reaches EnOS
        // with the body `{}` (no organisation id: its own error, on HTTP 200).
        assert_eq!(got[0].status, 200, "{path}: {got:?}");
        assert_eq!(live(&got[0]), path == INFO, "{path}: {got:?}");
        assert!(live(&got[1]), "{path}: the next request: {got:?}");
    }
}

#[tokio::test]
async fn bare_line_feeds_are_read_as_line_ends_and_forwarded_with_crlf() {
    // httparse accepts a bare LF as a line end (RFC 9112 §2.2 allows it); what goes upstream
    // is written anew by the gateway, so no backend can read the request differently.
    let h = common::start().await;
    let id = h.enos_login().await;
    for path in [INFO, PASS] {
        let bytes = format!(
            "POST {path} HTTP/1.1\nHost: x\nAuthorization: Bearer {id}\nContent-Length: 2\nConnection: close\n\n{{}}"
        );
        let mut s = send(&h, &bytes).await;
        let a = raw::read_answer(&mut s).await;
        assert_eq!(a.status, 200, "{path}: {a:?}");
        assert_eq!(live(&a), path == INFO, "{a:?}");
    }
}

#[tokio::test]
async fn an_oversize_request_head_gets_431_in_the_protocol_of_its_path() {
    let h = common::builder()
        .set("limits.max_header_bytes", "4096")
        .start()
        .await;
    let big = "a".repeat(8_000);
    let soap = common::soap_action("GetLoginStatus");
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (INFO, &[("X-Big", &big)], "enos"),
        (PASS, &[("X-Big", &big)], "enos"),
        (
            "/portal/service.svc",
            &[("X-Big", &big), ("SOAPAction", &soap)],
            "soap",
        ),
        ("/idbridge/v1/session", &[("X-Big", &big)], "unified"),
    ];
    for (path, headers, protocol) in cases {
        let r = raw::request(&h, "POST", path, headers, "{}").await;
        assert_eq!(r.status, 431, "{path}: {r:?}");
        match protocol {
            "enos" => assert_eq!(r.json()["success"], false, "{path}: {r:?}"),
            "soap" => assert!(r.body.contains("headers_too_large"), "{path}: {r:?}"),
            _ => assert_eq!(
                r.json()["error"]["code"],
                "headers_too_large",
                "{path}: {r:?}"
            ),
        }
    }
    // A head within the limit is served as before.
    let id = h.enos_login().await;
    let ok = raw::request(
        &h,
        "POST",
        INFO,
        &[
            ("Authorization", &format!("Bearer {id}")),
            ("X-Pad", &"a".repeat(2_000)),
        ],
        "{}",
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(
        h.enos.count("enos.organization_info"),
        0,
        "nothing oversize went upstream"
    );
}
