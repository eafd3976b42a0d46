//! Shared helpers: starting simulators, calling them, and comparing answers with the vendor
//! samples kept in `tests/data/`.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;

use idbridge_protocol::netid::proof::ClientKey;
use idbridge_sim::{Clock, SimOptions, Simulator};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};

pub const PORTAL_NS: &str = "http://www.pointsharp.com/netid/server/portal";
pub const ACTION_PREFIX: &str = "http://www.pointsharp.com/netid/server/portal/IServiceSoap/";
pub const DEMO_PASSWORD: &str = "Demo-Passw0rd";

/// Demo directory, a manual clock starting now (so the demo certificates are valid), 1200 s idle.
pub fn opts() -> SimOptions {
    SimOptions {
        clock: Clock::manual_now(),
        ..SimOptions::default()
    }
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn enos(opts: &SimOptions) -> Simulator {
    Simulator::start_enos(any_port(), opts).await.unwrap()
}

pub async fn netid(opts: &SimOptions) -> Simulator {
    Simulator::start_netid(any_port(), opts).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A file under `tests/data/`.
pub fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A file under `config/demo/`.
pub fn demo_file(name: &str) -> String {
    let path = format!("{}/../../config/demo/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

// --- EnOS -------------------------------------------------------------------------------------

pub fn enos_url(sim: &Simulator, op: &str) -> String {
    format!("{}/enos-iam-service/v2.0/{op}", sim.base_url())
}

/// POSTs a JSON body to an EnOS operation; answers (HTTP status, JSON body).
pub async fn enos_post(
    sim: &Simulator,
    op: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().post(enos_url(sim, op));
    if let Some(auth) = auth {
        req = req.header("Authorization", auth);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/json;charset=UTF-8");
    (status, resp.json().await.unwrap())
}

/// A Log In body for an EnOS account.
pub fn login_body(principal: &str, password: &str) -> Value {
    json!({"authType": 0, "principal": principal, "credentials": password})
}

/// Logs in; answers the whole response body (asserting success).
pub async fn enos_login_ok(sim: &Simulator, body: Value) -> Value {
    let (status, resp) = enos_post(sim, "login", None, Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(resp["status"], 0, "{resp}");
    resp
}

/// Asserts an EnOS failure envelope with `code` and exactly the seven envelope keys.
pub fn assert_enos_failure(resp: &Value, code: u64) {
    assert_eq!(resp["status"], code, "{resp}");
    assert_eq!(resp["fail"], true);
    assert_eq!(resp["failed"], true);
    assert_eq!(resp["success"], false);
    assert_eq!(resp["successful"], false);
    assert!(resp["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(resp["requestId"], Value::Null);
    let keys: BTreeSet<&str> = resp
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let envelope: BTreeSet<&str> = [
        "fail",
        "success",
        "failed",
        "successful",
        "status",
        "message",
        "requestId",
    ]
    .into();
    assert_eq!(keys, envelope, "{resp}");
}

/// Asserts both values have the same keys in the same order in every object, recursively
/// (arrays: element-wise over the shorter length; scalars are not compared). The order is the
/// document's: serde_json keeps it (`preserve_order`).
pub fn assert_same_keys_in_order(actual: &Value, sample: &Value, path: &str) {
    match (actual, sample) {
        (Value::Object(a), Value::Object(s)) => {
            let ak: Vec<&String> = a.keys().collect();
            let sk: Vec<&String> = s.keys().collect();
            assert_eq!(ak, sk, "keys differ (as a list) at {path}");
            for (k, v) in a {
                assert_same_keys_in_order(v, &s[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(s)) => {
            for (i, (av, sv)) in a.iter().zip(s).enumerate() {
                assert_same_keys_in_order(av, sv, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(_), _) | (_, Value::Object(_)) => {
            panic!("{path}: one side is an object, the other is not: {actual} vs {sample}")
        }
        _ => {}
    }
}

/// `IAM_S_` followed by exactly 128 ASCII alphanumerics.
pub fn is_enos_session_id(id: &str) -> bool {
    id.strip_prefix("IAM_S_")
        .is_some_and(|rest| rest.len() == 128 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

// --- Net iD -----------------------------------------------------------------------------------

/// POSTs a raw body to a REST path; answers (HTTP status, body text).
pub async fn rest_raw(
    sim: &Simulator,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let resp = client()
        .post(format!("{}{path}", sim.base_url()))
        .header("Content-Type", "application/json; charset=\"utf-8\"")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/json; charset=\"utf-8\"");
    (status, resp.text().await.unwrap())
}

/// POSTs JSON to a REST path; answers (HTTP status, parsed body).
pub async fn rest(sim: &Simulator, path: &str, body: Value) -> (u16, Value) {
    let (status, text) = rest_raw(sim, path, body.to_string()).await;
    (status, serde_json::from_str(&text).unwrap())
}

/// A Login request body (REST) with the given certificate text.
pub fn rest_login_body(certificate: &str) -> Value {
    json!({
        "Certificate": certificate.trim(),
        "DateTime": "2024-05-01T12:00:00Z",
        "Role": "Self",
        "Client": {"DeviceName": "test-pc", "ApplicationName": "sim-tests", "LanguageName": "en"}
    })
}

/// John Doe's demo private key, as a Net iD client holds it.
pub fn john_key() -> ClientKey {
    ClientKey::from_pem(&demo_file("john-doe.key")).unwrap()
}

/// Login step 1 for John Doe over REST: answers (SessionId, the sealed nonce `Value`).
pub async fn rest_login_begin(sim: &Simulator) -> (String, String) {
    let (status, body) = rest(
        sim,
        "/api/login",
        rest_login_body(&demo_file("john-doe.cer")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["Status"]["Code"], "Success", "{body}");
    (
        body["SessionId"].as_str().unwrap().to_owned(),
        body["Value"].as_str().unwrap().to_owned(),
    )
}

/// Logs John Doe in over REST, both steps; answers the SessionId.
pub async fn rest_login_john(sim: &Simulator) -> String {
    let (session, value) = rest_login_begin(sim).await;
    let answer = john_key().answer(&session, &value).unwrap();
    let (status, body) = rest(
        sim,
        "/api/login",
        json!({"SessionId": session, "Value": answer}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["Status"]["Code"], "Success", "{body}");
    assert_eq!(body["SessionId"], session.as_str());
    session
}

pub async fn rest_status(sim: &Simulator, session: &str, count: u64) -> Value {
    let (status, body) = rest(
        sim,
        "/api/login/status/get",
        json!({"SessionId": session, "Count": count.to_string()}),
    )
    .await;
    assert_eq!(status, 200);
    body
}

/// A SOAP request envelope, shaped like the vendor's request sample.
pub fn soap_envelope(method: &str, info: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><{method} xmlns="{PORTAL_NS}"><Info>{info}</Info></{method}></s:Body></s:Envelope>"#
    )
}

/// POSTs a SOAP body with the given `SOAPAction` value (sent as is); answers (status, body).
pub async fn soap_raw(
    sim: &Simulator,
    action: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let mut req = client()
        .post(format!("{}/portal/service.svc", sim.base_url()))
        .header("Content-Type", "text/xml; charset=\"utf-8\"")
        .body(body);
    if let Some(action) = action {
        req = req.header("SOAPAction", action);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "text/xml; charset=\"utf-8\"");
    (status, resp.text().await.unwrap())
}

/// Calls `method` over SOAP with the documented quoted action.
pub async fn soap(sim: &Simulator, method: &str, info: &str) -> (u16, String) {
    let action = format!("\"{ACTION_PREFIX}{method}\"");
    soap_raw(sim, Some(&action), soap_envelope(method, info)).await
}

/// Text of the first element with this local name.
pub fn xml_text(xml: &str, local: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    let mut inside = false;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.local_name().as_ref() == local => inside = true,
            Event::Text(t) if inside => return Some(t.xml10_content().into_owned()),
            Event::GeneralRef(_) if inside => panic!("references not expected in {local}"),
            Event::End(_) if inside => return Some(String::new()),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The local names of every start (or empty) element, in document order.
pub fn start_element_names(xml: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let mut names = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => names.push(e.local_name().as_ref().to_owned()),
            Event::Eof => return names,
            _ => {}
        }
    }
}

/// Asserts a SOAP Fault body with `s:Client`.
pub fn assert_fault(body: &str) {
    let names = start_element_names(body);
    assert_eq!(
        names,
        ["Envelope", "Body", "Fault", "faultcode", "faultstring"],
        "{body}"
    );
    assert_eq!(xml_text(body, "faultcode").as_deref(), Some("s:Client"));
}

// --- key order in raw JSON --------------------------------------------------------------------

/// The shape of a JSON document with object keys in the order they appear in the text
/// (`serde_json::Value` sorts them, so it cannot tell).
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    Object(Vec<(String, Shape)>),
    Array(Vec<Shape>),
    Scalar,
}

impl Shape {
    pub fn parse(text: &str) -> Shape {
        serde_json::from_str(text).unwrap()
    }

    pub fn keys(&self) -> Vec<&str> {
        match self {
            Shape::Object(fields) => fields.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            fields.push((key, map.next_value::<Shape>()?));
        }
        Ok(Shape::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Shape>()? {
            items.push(item);
        }
        Ok(Shape::Array(items))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_string<E: de::Error>(self, _: String) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
}
