//! The Net iD vendor samples decode, and re-encode to the same JSON (same top-level key order)
//! or the same XML elements in the same order with the same text.

use std::fmt;

use idbridge_protocol::Limits;
use idbridge_protocol::netid::{ActivityObj, StatusCode, rest, soap};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

const SOAP_REQUEST: &str = include_str!("../data/netid-getloginstatus-request.xml");
const SOAP_RESPONSE: &str = include_str!("../data/netid-getloginstatus-response.xml");
const REST_REQUEST: &str = include_str!("../data/netid-getloginstatus-request.json");
const REST_RESPONSE: &str = include_str!("../data/netid-getloginstatus-response.json");

fn limits() -> Limits {
    Limits::default()
}

/// The top-level keys of a JSON object, in text order.
struct KeyOrder(Vec<String>);

impl<'de> Deserialize<'de> for KeyOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(KeyOrder(keys))
            }
        }
        d.deserialize_map(V)
    }
}

fn key_order(text: &[u8]) -> Vec<String> {
    serde_json::from_slice::<KeyOrder>(text).unwrap().0
}

/// (local name, trimmed text) for every element, in document order.
fn walk(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut out: Vec<(String, String)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                open.push(out.len());
                out.push((local(e.name().as_ref()), String::new()));
            }
            Event::Empty(e) => out.push((local(e.name().as_ref()), String::new())),
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].1.push_str(t.xml10_content().trim());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn local(qname: &str) -> String {
    qname.rsplit(':').next().unwrap().to_owned()
}

/// The sample with the whitespace between tags that the page's line breaks became removed.
fn compact(xml: &str) -> String {
    let mut out = xml.trim().replace("> <", "><");
    while out.contains("> <") {
        out = out.replace("> <", "><");
    }
    out
}

#[test]
fn rest_request_round_trips() {
    let req = rest::decode_status_request(REST_REQUEST.as_bytes(), &limits()).unwrap();
    assert_eq!(req.session_id.expose(), "");
    assert_eq!(req.count, 1);
    assert_eq!(req.blob, None);
    let out = rest::encode_status_request(&req);
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap(),
        serde_json::from_str::<Value>(REST_REQUEST).unwrap()
    );
    assert_eq!(key_order(&out), key_order(REST_REQUEST.as_bytes()));
}

#[test]
fn rest_response_round_trips() {
    let status = rest::decode_login_status(REST_RESPONSE.as_bytes(), &limits()).unwrap();
    assert_eq!(status.count, Some(1));
    assert_eq!(status.id.as_deref(), Some("1"));
    assert_eq!(status.is_logged_in, Some(true));
    assert_eq!(status.idle_expiration, Some(1200));
    assert_eq!(status.status.code, StatusCode::Success);
    let usages = status.usage_list.as_ref().unwrap();
    assert_eq!(usages.len(), 4);
    assert_eq!(usages[0].activity_list, None);
    assert_eq!(
        usages[2].activity_list.as_deref(),
        Some(
            &[ActivityObj {
                method: "GetObject".into(),
                kind: "User".into(),
                id: "21".into()
            }][..]
        )
    );
    let out = rest::encode_login_status(&status);
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap(),
        serde_json::from_str::<Value>(REST_RESPONSE).unwrap()
    );
    assert_eq!(key_order(&out), key_order(REST_RESPONSE.as_bytes()));
}

#[test]
fn soap_request_round_trips() {
    let req = soap::parse_request(SOAP_REQUEST.as_bytes(), &limits())
        .and_then(|r| soap::decode_status_request(&r))
        .unwrap();
    assert_eq!(req.session_id.expose(), "");
    assert_eq!(req.count, 1);
    let out = soap::encode_status_request(&req);
    assert_eq!(walk(&out), walk(SOAP_REQUEST));
    // Byte for byte the sample's style, plus the XML declaration.
    assert_eq!(
        out,
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>{}"#,
            compact(SOAP_REQUEST)
        )
    );
}

#[test]
fn soap_response_round_trips_byte_for_byte() {
    let status = soap::decode_login_status(SOAP_RESPONSE.as_bytes(), &limits()).unwrap();
    assert_eq!(status.date_time.as_deref(), Some("2023-02-22 07:14:03 UTC"));
    let orgs = status.organization_list.as_ref().unwrap();
    assert_eq!(orgs[0].id, "9");
    assert_eq!(
        orgs[0].additional_info.as_deref(),
        Some("Style=black,#000000,#FFFFFF,#999999;#232C2E;#D21041;#FFFFFF")
    );
    let out = soap::encode_login_status(&status);
    assert_eq!(walk(&out), walk(SOAP_RESPONSE));
    assert_eq!(out, compact(SOAP_RESPONSE));
}

#[test]
fn soap_and_rest_samples_carry_the_same_status_but_for_the_activity_id() {
    let from_soap = soap::decode_login_status(SOAP_RESPONSE.as_bytes(), &limits()).unwrap();
    let mut from_rest = rest::decode_login_status(REST_RESPONSE.as_bytes(), &limits()).unwrap();
    from_rest.usage_list.as_mut().unwrap()[2]
        .activity_list
        .as_mut()
        .unwrap()[0]
        .id = "1".into();
    assert_eq!(from_soap, from_rest);
}

#[test]
fn cross_binding_encoding_matches_the_other_sample() {
    let from_rest = rest::decode_status_request(REST_REQUEST.as_bytes(), &limits()).unwrap();
    assert_eq!(
        walk(&soap::encode_status_request(&from_rest)),
        walk(SOAP_REQUEST)
    );
}

#[test]
fn parse_request_exposes_the_generic_view() {
    let msg = soap::parse_request(SOAP_REQUEST.as_bytes(), &limits()).unwrap();
    assert_eq!(msg.method, "GetLoginStatus");
    assert_eq!(msg.payload, "Info");
    let names: Vec<_> = msg.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["SessionId", "Count"]);
    assert_eq!(
        msg.field("Count"),
        Some(&soap::FieldValue::Text("1".into()))
    );
    let resp = soap::parse_request(SOAP_RESPONSE.as_bytes(), &limits()).unwrap();
    assert_eq!(resp.method, "GetLoginStatusResponse");
    assert_eq!(resp.payload, "GetLoginStatusResult");
    assert!(matches!(
        resp.field("UsageList"),
        Some(soap::FieldValue::Nested(items)) if items.len() == 4
    ));
}
