//! Every encoded response goes back through the crate's hardened reader, and the `Session`
//! element read back equals the JSON face's `session_view` of the same session: the two faces
//! carry the same fields, and the XML is well-formed, namespaced and ordered as the WSDL says.

use std::time::Duration;

use idbridge_session::{
    AuthMethod, Backend, Organization, Session, SessionId, SubjectKind, UnixTime, Usage,
};
use serde_json::{Map, Value, json};

use super::*;
use crate::Limits;
use crate::netid::soap::xml::{self, Element};
use crate::unified::json::session_view;

const NOW: UnixTime = UnixTime(1_795_428_100);

/// `Session` children in the WSDL's order; the optional ones may be skipped.
const ORDER: [&str; 12] = [
    "Backend",
    "Subject",
    "Organization",
    "HomeOrganization",
    "Organizations",
    "Usages",
    "AuthMethod",
    "CreatedAt",
    "RefreshedAt",
    "ExpiresAt",
    "ExpiresIn",
    "IdleTimeout",
];

fn full() -> Session {
    let mut s = Session::new(
        Backend::ENOS,
        SessionId::new("IAM_S_secret"),
        UnixTime(1_795_428_000),
        Duration::from_secs(7_200),
    );
    s.subject.id = "u1".into();
    s.subject.name = "Åsa <O'Brien> & co".into();
    s.subject.email = Some("asa@example.com".into());
    s.subject.phone = Some(String::new());
    s.subject.kind = SubjectKind::OrgOwner;
    s.working_org = Some(Box::new(Organization {
        id: "o1".into(),
        name: "Work".into(),
        domain: Some("work.example".into()),
        ..Organization::default()
    }));
    s.home_org = Some(Box::new(Organization {
        id: "o2".into(),
        name: "Home".into(),
        ..Organization::default()
    }));
    s.organizations = vec![
        Organization {
            id: "9".into(),
            name: "Pointsharp AB".into(),
            domain: Some("not shown in lists".into()),
            ..Organization::default()
        },
        Organization {
            id: "10".into(),
            name: "Other".into(),
            ..Organization::default()
        },
    ];
    s.usages = vec![
        Usage {
            name: "User".into(),
            ..Usage::default()
        },
        Usage {
            name: "Self".into(),
            ..Usage::default()
        },
    ];
    s.auth_method = AuthMethod::Ldap {
        link: Some("corp".into()),
    };
    s.refreshed = UnixTime(1_795_428_060);
    s.idle_timeout = Some(Duration::from_secs(1_200));
    s.extra.insert("enos.user.resourceId", "r-secret");
    s
}

/// Every optional part absent, and already expired at `NOW`.
fn minimal() -> Session {
    let mut s = Session::new(
        Backend::NETID,
        SessionId::new("bmV0aWQ="),
        UnixTime(1_000),
        Duration::from_secs(60),
    );
    s.auth_method = AuthMethod::Certificate;
    s
}

fn read(xml: &str) -> Element {
    xml::parse(xml.as_bytes(), &Limits::default()).unwrap()
}

/// `s:Envelope/s:Body/<name>` in the face's namespace.
fn response_element(xml: &str, name: &str) -> Element {
    let root = read(xml);
    assert!(root.is(NS_SOAP_ENV, "Envelope"));
    assert_eq!(root.children.len(), 1);
    let body = root.children.into_iter().next().unwrap();
    assert!(body.is(NS_SOAP_ENV, "Body"));
    assert_eq!(body.children.len(), 1);
    let el = body.children.into_iter().next().unwrap();
    assert!(el.is(NS, name), "{}", el.local);
    el
}

fn child<'a>(el: &'a Element, name: &str) -> &'a Element {
    el.children
        .iter()
        .find(|c| c.local == name)
        .unwrap_or_else(|| panic!("no {name} in {}", el.local))
}

/// The element tree in the JSON face's vocabulary; absent optional parts become `null`.
fn to_view(session: &Element) -> Value {
    let names: Vec<&str> = session.children.iter().map(|c| c.local.as_str()).collect();
    let mut expected = ORDER.iter().filter(|n| names.contains(n));
    assert!(
        names.iter().all(|n| expected.next() == Some(n)),
        "out of order: {names:?}"
    );
    let mut view = Map::new();
    for name in ["organization", "home_organization", "idle_timeout"] {
        view.insert(name.into(), Value::Null);
    }
    for c in &session.children {
        assert_eq!(c.ns.as_deref(), Some(NS));
        let value = match c.local.as_str() {
            "Subject" => record(c, &["email", "phone"]),
            "Organization" | "HomeOrganization" => record(c, &["domain"]),
            "Organizations" => c.children.iter().map(|o| record(o, &[])).collect(),
            "Usages" => c.children.iter().map(|u| json!(u.text)).collect(),
            "ExpiresIn" | "IdleTimeout" => json!(c.text.parse::<i64>().unwrap()),
            _ => json!(c.text),
        };
        view.insert(snake(&c.local), value);
    }
    Value::Object(view)
}

/// A leaf-only element as an object with snake_case keys; `optional` keys default to `null`.
fn record(el: &Element, optional: &[&str]) -> Value {
    let mut map: Map<String, Value> = optional
        .iter()
        .map(|k| ((*k).to_owned(), Value::Null))
        .collect();
    for c in &el.children {
        assert!(c.children.is_empty());
        assert_eq!(c.ns.as_deref(), Some(NS));
        map.insert(snake(&c.local), json!(c.text));
    }
    Value::Object(map)
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

#[test]
fn session_response_reads_back_as_the_json_view() {
    for s in [full(), minimal()] {
        let el = response_element(&encode_session_response(&s, NOW), "GetSessionResponse");
        assert_eq!(el.children.len(), 1);
        let view = to_view(child(&el, "Session"));
        assert_eq!(view, serde_json::to_value(session_view(&s, NOW)).unwrap());
    }
}

#[test]
fn login_response_reads_back() {
    let s = full();
    let xml = encode_login_response(&s, "eyJ<&>", 900, NOW);
    let el = response_element(&xml, "LoginResponse");
    let names: Vec<&str> = el.children.iter().map(|c| c.local.as_str()).collect();
    assert_eq!(names, ["Token", "TokenType", "ExpiresIn", "Session"]);
    assert_eq!(child(&el, "Token").text, "eyJ<&>");
    assert_eq!(child(&el, "TokenType").text, "Bearer");
    assert_eq!(child(&el, "ExpiresIn").text, "900");
    assert_eq!(
        to_view(child(&el, "Session")),
        serde_json::to_value(session_view(&s, NOW)).unwrap()
    );
    let huge = encode_login_response(&s, "t", u64::MAX, NOW);
    let el = response_element(&huge, "LoginResponse");
    assert_eq!(child(&el, "ExpiresIn").text, i64::MAX.to_string());
}

#[test]
fn logout_response_reads_back() {
    let el = response_element(&encode_logout_response(), "LogoutResponse");
    assert_eq!(el.children.len(), 1);
    assert!(child(&el, "LoggedOut").is(NS, "LoggedOut"));
    assert_eq!(child(&el, "LoggedOut").text, "true");
}

#[test]
fn faults_read_back_with_their_detail() {
    for (code, qname) in [
        (FaultCode::Client, "s:Client"),
        (FaultCode::Server, "s:Server"),
    ] {
        let xml = encode_fault(code, "bad_<code>", "a & b\u{1}");
        let root = read(&xml);
        let fault = &root.children[0].children[0];
        assert!(fault.is(NS_SOAP_ENV, "Fault"));
        let names: Vec<&str> = fault.children.iter().map(|c| c.local.as_str()).collect();
        assert_eq!(names, ["faultcode", "faultstring", "detail"]);
        assert_eq!(fault.children[0].ns, None);
        assert_eq!(fault.children[0].text, qname);
        assert_eq!(fault.children[1].text, "a & b\u{FFFD}");
        let error = &fault.children[2].children[0];
        assert!(error.is(NS, "Error"));
        assert!(error.children[0].is(NS, "Code"));
        assert_eq!(error.children[0].text, "bad_<code>");
        // The Net iD fault decoder reads it too: the envelope is plain SOAP 1.1.
        let decoded = crate::netid::soap::decode_fault(xml.as_bytes(), &Limits::default());
        assert_eq!(decoded.unwrap().code, qname);
    }
}

#[test]
fn secrets_and_extras_stay_out() {
    let s = full();
    for xml in [
        encode_session_response(&s, NOW),
        encode_login_response(&s, "t", 1, NOW),
    ] {
        assert!(!xml.contains("IAM_S_secret"));
        assert!(!xml.contains("r-secret"));
        assert!(!xml.contains("corp"), "the LDAP link name is not shown");
        assert!(!xml.contains("not shown in lists"));
    }
}
