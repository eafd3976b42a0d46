//! The requests the reliability runs send: logins, status questions on every face, logouts,
//! a pass-through call, and hostile requests, each with how its answer is read.

use std::time::Duration;

use idbridge_protocol::netid::proof::ClientKey;
use serde_json::json;

use crate::judge::{Answer, Backend, Face};

const NETID_NS: &str = "http://www.pointsharp.com/netid/server/portal";
const DEMO_PRINCIPAL: &str = "portal_test01";
const DEMO_PASSWORD: &str = "Demo-Passw0rd";
/// The demo organisation, which the pass-through call asks about.
const DEMO_ORGANIZATION: &str = "o15578227985571";

/// One HTTP request, built once and sent with [`send`].
#[derive(Clone, Debug)]
pub struct Request {
    pub method: reqwest::Method,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Request {
    fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: reqwest::Method::POST,
            path: path.to_owned(),
            headers: vec![("Content-Type", "application/json".into())],
            body: body.into(),
        }
    }

    fn get(path: &str) -> Self {
        Self {
            method: reqwest::Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn bearer(mut self, credential: &str) -> Self {
        self.headers
            .push(("Authorization", format!("Bearer {credential}")));
        self
    }
}

/// How a request went on the wire.
#[derive(Debug)]
pub enum Sent {
    Answered {
        status: u16,
        body: bytes::Bytes,
    },
    /// Nothing listens (or the connection was refused): the request never reached a gateway.
    Refused,
    Failed(String),
}

/// Sends `req` to `base`.
pub async fn send(http: &reqwest::Client, base: &str, req: &Request) -> Sent {
    let mut builder = http
        .request(req.method.clone(), format!("{base}{}", req.path))
        .body(req.body.clone());
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let resp = match builder.send().await {
        Ok(resp) => resp,
        Err(e) if e.is_connect() => return Sent::Refused,
        Err(e) => return Sent::Failed(transport_class(&e)),
    };
    let status = resp.status().as_u16();
    match resp.bytes().await {
        Ok(body) => Sent::Answered { status, body },
        Err(e) => Sent::Failed(transport_class(&e)),
    }
}

fn transport_class(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "transport timeout".into()
    } else {
        "transport error".into()
    }
}

/// The kinds of session the runs hold: a backend's own session id, or a gateway token minted
/// for a session of either backend by the unified login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Native(Backend),
    Token(Backend),
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Native(Backend::Enos),
        Kind::Native(Backend::Netid),
        Kind::Token(Backend::Enos),
        Kind::Token(Backend::Netid),
    ];

    pub fn backend(self) -> Backend {
        match self {
            Kind::Native(b) | Kind::Token(b) => b,
        }
    }
}

/// The login of `kind`, and where its answer holds the credential.
pub fn login(kind: Kind, certificate: &str) -> (Request, &'static str) {
    let enos = json!({"authType": 0, "principal": DEMO_PRINCIPAL, "credentials": DEMO_PASSWORD});
    let netid =
        json!({"Certificate": certificate, "DateTime": "2026-11-23T10:00:00Z", "Role": "Self"});
    match kind {
        Kind::Native(Backend::Enos) => (
            Request::post("/enos-iam-service/v2.0/login", enos.to_string()),
            "/session/id",
        ),
        // Step 1: a challenge; `login_answer` makes step 2.
        Kind::Native(Backend::Netid) => (Request::post("/api/login", netid.to_string()), "/Value"),
        Kind::Token(Backend::Enos) => {
            let body = json!({"backend": "enos", "principal": DEMO_PRINCIPAL, "credentials": DEMO_PASSWORD});
            (
                Request::post("/idbridge/v1/login", body.to_string()),
                "/token",
            )
        }
        Kind::Token(Backend::Netid) => {
            let body = json!({"backend": "netid", "certificate": certificate});
            (
                Request::post("/idbridge/v1/login", body.to_string()),
                "/challenge/value",
            )
        }
    }
}

/// Step 2 of a Net iD login of `kind`, from step 1's answer: the answer only `key` makes, and
/// where step 2's answer holds the credential. `None` if step 1 answered no challenge.
pub fn login_answer(
    kind: Kind,
    step1: &serde_json::Value,
    key: &ClientKey,
) -> Option<(Request, &'static str)> {
    match kind {
        Kind::Native(Backend::Netid) => {
            let (id, value) = (step1["SessionId"].as_str()?, step1["Value"].as_str()?);
            let body = json!({"SessionId": id, "Value": key.answer(id, value).ok()?});
            Some((Request::post("/api/login", body.to_string()), "/SessionId"))
        }
        Kind::Token(Backend::Netid) => {
            let c = &step1["challenge"];
            let (id, value) = (c["session_id"].as_str()?, c["value"].as_str()?);
            let answer = key.answer(id, value).ok()?;
            let body = json!({"backend": "netid", "session_id": id, "answer": answer});
            Some((
                Request::post("/idbridge/v1/login", body.to_string()),
                "/token",
            ))
        }
        Kind::Native(Backend::Enos) | Kind::Token(Backend::Enos) => None,
    }
}

/// A status question about `credential` on `face`; `count` is the Net iD `Count` to send.
pub fn status(face: Face, credential: &str, count: u64) -> Request {
    match face {
        Face::Enos => Request::post("/enos-iam-service/v2.0/session/info", "{}").bearer(credential),
        Face::NetidRest => Request::post(
            "/api/login/status/get",
            json!({"SessionId": credential, "Count": count.to_string()}).to_string(),
        ),
        Face::NetidSoap => {
            let mut req = Request::post(
                "/portal/service.svc",
                soap("GetLoginStatus", credential, count),
            );
            req.headers = vec![
                ("Content-Type", "text/xml; charset=\"utf-8\"".into()),
                (
                    "SOAPAction",
                    format!("\"{NETID_NS}/IServiceSoap/GetLoginStatus\""),
                ),
            ];
            req
        }
        Face::Unified => Request::get("/idbridge/v1/session").bearer(credential),
        Face::ForwardAuth => Request::get("/idbridge/v1/auth").bearer(credential),
    }
}

fn soap(method: &str, session: &str, count: u64) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><{method} xmlns="{NETID_NS}"><Info><SessionId>{session}</SessionId><Count>{count}</Count></Info></{method}></s:Body></s:Envelope>"#
    )
}

/// The logout a client of `kind` would send, and how its answer is read: the backend's own
/// logout for a native session, the unified one for a token.
pub fn logout(kind: Kind, credential: &str, count: u64) -> Request {
    match kind {
        Kind::Native(Backend::Enos) => {
            Request::post("/enos-iam-service/v2.0/logout", "{}").bearer(credential)
        }
        Kind::Native(Backend::Netid) => Request::post(
            "/api/logout",
            json!({"SessionId": credential, "Count": count.to_string()}).to_string(),
        ),
        Kind::Token(_) => Request::post("/idbridge/v1/logout", "").bearer(credential),
    }
}

/// Whether a logout answer says the session ended.
pub fn logged_out(kind: Kind, status: u16, body: &[u8]) -> Answer {
    match kind {
        Kind::Native(Backend::Enos) => match crate::judge::read_enos(status, body) {
            Answer::Valid => Answer::LoggedOut,
            other => other,
        },
        Kind::Native(Backend::Netid) => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            match (status, v["Status"]["Code"].as_str()) {
                (200, Some("Success")) => Answer::LoggedOut,
                (_, Some(code)) => Answer::Error(format!("http {status}, netid {code}")),
                _ => Answer::Error(format!("http {status}")),
            }
        }
        Kind::Token(_) if (200..300).contains(&status) => Answer::LoggedOut,
        Kind::Token(_) => Answer::Error(format!("http {status}")),
    }
}

/// EnOS `organization/info`, which the gateway passes through untouched.
pub fn pass_through(enos_session: &str) -> Request {
    Request::post(
        "/enos-iam-service/v2.0/organization/info",
        json!({"id": DEMO_ORGANIZATION}).to_string(),
    )
    .bearer(enos_session)
}

/// A hostile request and what a careful gateway answers it with.
#[derive(Debug)]
pub struct Hostile {
    pub name: &'static str,
    pub request: Request,
    /// Whether `(status, body)` is the right refusal.
    pub expect: fn(u16, &[u8]) -> bool,
}

/// The hostile requests of the soak, one of each.
pub fn hostile() -> Vec<Hostile> {
    let deep = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{}{}</s:Body></s:Envelope>"#,
        "<a>".repeat(5000),
        "</a>".repeat(5000)
    );
    let mut soap_deep = Request::post("/portal/service.svc", deep);
    soap_deep.headers = vec![
        ("Content-Type", "text/xml; charset=\"utf-8\"".into()),
        (
            "SOAPAction",
            format!("\"{NETID_NS}/IServiceSoap/GetLoginStatus\""),
        ),
    ];
    let mut huge_header = Request::post("/api/login/status/get", "{}");
    huge_header
        .headers
        .push(("X-Filler", "x".repeat(40 * 1024)));
    vec![
        Hostile {
            name: "EnOS login, truncated JSON",
            request: Request::post(
                "/enos-iam-service/v2.0/login",
                r#"{"authType":0,"principal":"#,
            ),
            // EnOS answers errors on HTTP 200 with its code (30400 for a bad request).
            expect: |s, b| s < 500 && !matches!(crate::judge::read_enos(s, b), Answer::Valid),
        },
        Hostile {
            name: "Net iD SOAP, 5000 nested elements",
            request: soap_deep,
            // SOAP 1.1 faults travel on HTTP 500, with a faultcode.
            expect: |s, b| {
                s == 400 || (s == 500 && String::from_utf8_lossy(b).contains("faultcode"))
            },
        },
        Hostile {
            name: "Net iD REST login, 100 KiB body",
            request: Request::post("/api/login", vec![b'['; 100 * 1024]),
            expect: |s, _| s == 413,
        },
        Hostile {
            name: "unified login, wrong types",
            request: Request::post("/idbridge/v1/login", r#"{"backend":7,"principal":[]}"#),
            expect: |s, _| s == 400,
        },
        Hostile {
            name: "EnOS session/info, bearer of no known form",
            request: Request::post("/enos-iam-service/v2.0/session/info", "{}").bearer("foo"),
            expect: |s, b| s < 500 && crate::judge::read_enos(s, b) == Answer::LoggedOut,
        },
        Hostile {
            name: "40 KiB header",
            request: huge_header,
            expect: |s, _| s == 431,
        },
    ]
}

/// How long a request may take before the client gives up on it: longer than the gateway's
/// upstream timeout (5 s), so a stalled backend shows as the gateway's answer, not as this.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(8);
