//! Hostile and broken input: every case ends in a typed `DecodeError`, never a panic.

use idbridge_protocol::enos::{LoginRequest, decode_response};
use idbridge_protocol::netid::{rest, soap};
use idbridge_protocol::unified;
use idbridge_protocol::{DecodeError, Limits};

const SOAP_REQUEST: &str = include_str!("../data/netid-getloginstatus-request.xml");
const SOAP_RESPONSE: &str = include_str!("../data/netid-getloginstatus-response.xml");
const REST_REQUEST: &str = include_str!("../data/netid-getloginstatus-request.json");
const REST_RESPONSE: &str = include_str!("../data/netid-getloginstatus-response.json");

const ENV_OPEN: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus xmlns="http://www.pointsharp.com/netid/server/portal"><Info>"#;
const ENV_CLOSE: &str = "</Info></GetLoginStatus></s:Body></s:Envelope>";
const UNIFIED_OPEN: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetSession xmlns="urn:idbridge:v1">"#;
const UNIFIED_CLOSE: &str = "</GetSession></s:Body></s:Envelope>";

fn limits() -> Limits {
    Limits::default()
}

fn soap_status(body: &str) -> Result<(), DecodeError> {
    soap::parse_request(body.as_bytes(), &limits())
        .and_then(|r| soap::decode_status_request(&r))
        .map(|_| ())
}

fn soap_info(info: &str) -> Result<(), DecodeError> {
    soap_status(&format!("{ENV_OPEN}{info}{ENV_CLOSE}"))
}

/// Both SOAP faces (Net iD's and the unified one, which share the XML reader) over `inner`
/// placed inside their operation element, each body within the default 64 KiB.
fn both_soap_faces(inner: &str) -> [Result<(), DecodeError>; 2] {
    let netid = format!("{ENV_OPEN}{inner}{ENV_CLOSE}");
    let unified = format!("{UNIFIED_OPEN}{inner}{UNIFIED_CLOSE}");
    for body in [&netid, &unified] {
        assert!(
            body.len() <= Limits::DEFAULT_MAX_BODY,
            "{} bytes",
            body.len()
        );
    }
    [
        soap_status(&netid),
        unified::soap::parse_request(unified.as_bytes(), &limits(), None).map(|_| ()),
    ]
}

fn too_many_elements() -> Result<(), DecodeError> {
    Err(DecodeError::TooManyElements {
        limit: Limits::DEFAULT_MAX_ELEMENTS,
    })
}

fn too_many_attributes() -> Result<(), DecodeError> {
    Err(DecodeError::TooManyAttributes {
        limit: Limits::DEFAULT_MAX_ATTRIBUTES,
    })
}

fn too_much_text() -> Result<(), DecodeError> {
    Err(DecodeError::TooMuchText {
        limit: Limits::DEFAULT_MAX_TEXT_BYTES,
    })
}

#[test]
fn invalid_utf8_is_refused() {
    let mut json = br#"{"SessionId":""#.to_vec();
    json.extend_from_slice(&[0xff, 0xfe]);
    json.extend_from_slice(br#"","Count":"1"}"#);
    assert_eq!(
        rest::decode_status_request(&json, &limits()),
        Err(DecodeError::NotUtf8)
    );
    let mut bytes = format!("{ENV_OPEN}<SessionId>").into_bytes();
    bytes.extend_from_slice(&[0xc3, 0x28]);
    bytes.extend_from_slice(format!("</SessionId><Count>1</Count>{ENV_CLOSE}").as_bytes());
    assert_eq!(
        soap::parse_request(&bytes, &limits()).and_then(|r| soap::decode_status_request(&r)),
        Err(DecodeError::NotUtf8)
    );
}

#[test]
fn truncated_documents_fail_cleanly() {
    let json = &REST_RESPONSE[..REST_RESPONSE.len() / 2];
    assert!(matches!(
        rest::decode_login_status(json.as_bytes(), &limits()),
        Err(DecodeError::Json(_))
    ));
    let xml = &SOAP_RESPONSE[..SOAP_RESPONSE.len() / 2];
    assert!(matches!(
        soap::decode_login_status(xml.as_bytes(), &limits()),
        Err(DecodeError::Xml(_))
    ));
}

#[test]
fn deep_json_is_too_deep() {
    let body = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    assert_eq!(
        rest::decode_status_request(body.as_bytes(), &limits()),
        Err(DecodeError::TooDeep { limit: 32 })
    );
    let body = format!(
        r#"{{"SessionId":"","Count":"1","x":{}1{}}}"#,
        r#"{"a":"#.repeat(1000),
        "}".repeat(1000)
    );
    assert_eq!(
        rest::decode_status_request(body.as_bytes(), &limits()),
        Err(DecodeError::TooDeep { limit: 32 })
    );
    assert_eq!(
        decode_response(body.as_bytes(), &limits()),
        Err(DecodeError::TooDeep { limit: 32 })
    );
}

#[test]
fn deep_xml_is_too_deep() {
    let body = format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000));
    assert_eq!(soap_status(&body), Err(DecodeError::TooDeep { limit: 32 }));
    assert_eq!(
        soap_info(&format!("{}{}", "<x>".repeat(1000), "</x>".repeat(1000))),
        Err(DecodeError::TooDeep { limit: 32 })
    );
}

/// The reproduced attack: a 28 KB namespace URI declared once and 9,000 empty elements in it.
/// Each element used to hold its own copy of the URI (250 MB for one 64 KiB body); now the
/// element cap stops the document long before that (the shared URI is tested in `xml.rs`).
#[test]
fn namespace_bomb_is_too_many_elements() {
    let uri = format!("urn:{}", "n".repeat(28_000));
    let bomb = format!(r#"<Bomb xmlns="{uri}">{}</Bomb>"#, "<c/>".repeat(9_000));
    assert_eq!(
        both_soap_faces(&bomb),
        [too_many_elements(), too_many_elements()]
    );
}

#[test]
fn ten_thousand_empty_siblings_are_too_many_elements() {
    let siblings = "<x/>".repeat(10_000);
    assert_eq!(
        both_soap_faces(&siblings),
        [too_many_elements(), too_many_elements()]
    );
}

#[test]
fn attribute_floods_are_too_many_attributes() {
    // All on one element (quick-xml's own duplicate check stays linear; the cap stops the walk).
    let one_element: String = (0..1_001).map(|i| format!(r#" a{i}="""#)).collect();
    // Namespace declarations count too, and spread over siblings they stay in scope one at a
    // time (quick-xml bounds only the declarations in scope at once).
    let declarations = r#"<x xmlns:p="urn:p" xmlns:q="urn:q"/>"#.repeat(600);
    for inner in [format!("<x{one_element}/>"), declarations] {
        assert_eq!(
            both_soap_faces(&inner),
            [too_many_attributes(), too_many_attributes()]
        );
    }
}

#[test]
fn text_floods_are_too_much_text() {
    let flood = "a".repeat(40_000);
    let floods = [
        format!("<x>{flood}</x>"),
        format!("<x><![CDATA[{flood}]]></x>"),
        // Whitespace between elements is kept in the tree, so it counts.
        format!("<x>{}</x>", " ".repeat(40_000)),
        // Many small pieces add up (900 elements: under the element cap).
        format!("<x>{}</x>", "a".repeat(40)).repeat(900),
    ];
    for inner in floods {
        assert_eq!(both_soap_faces(&inner), [too_much_text(), too_much_text()]);
    }
}

/// The new limits' messages name the limit and nothing from the document.
#[test]
fn limit_errors_never_echo_values() {
    let secret = "c2VjcmV0LXNlc3Npb24taWQ";
    let cases = [
        (format!("<{secret}/>").repeat(1_500), "1000 elements"),
        (
            format!(r#"<x a="{secret}" b="{secret}"/>"#).repeat(600),
            "1000 attributes",
        ),
        (format!("<x>{}</x>", secret.repeat(1_500)), "32768 bytes"),
    ];
    for (inner, limit) in &cases {
        for result in both_soap_faces(inner) {
            let message = result.unwrap_err().to_string();
            assert!(!message.contains(secret), "{message}");
            assert!(message.contains(limit), "{message}");
        }
    }
}

#[test]
fn billion_laughs_is_a_doctype_error() {
    let body = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus xmlns="http://www.pointsharp.com/netid/server/portal"><Info><SessionId>&lol9;</SessionId><Count>1</Count></Info></GetLoginStatus></s:Body></s:Envelope>"#;
    assert_eq!(soap_status(body), Err(DecodeError::Doctype));
}

#[test]
fn external_entity_is_a_doctype_error() {
    let body = format!(
        r#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{ENV_OPEN}<SessionId>&xxe;</SessionId><Count>1</Count>{ENV_CLOSE}"#
    );
    assert_eq!(soap_status(&body), Err(DecodeError::Doctype));
}

#[test]
fn undefined_entity_is_an_entity_error() {
    assert_eq!(
        soap_info("<SessionId>&xxe;</SessionId><Count>1</Count>"),
        Err(DecodeError::EntityReference)
    );
    // Predefined entities and character references are fine and resolved.
    let body =
        format!("{ENV_OPEN}<SessionId>a&amp;b&#x3D;</SessionId><Count>&#49;</Count>{ENV_CLOSE}");
    let req = soap::parse_request(body.as_bytes(), &limits())
        .and_then(|r| soap::decode_status_request(&r))
        .unwrap();
    assert_eq!(req.session_id.expose(), "a&b=");
    assert_eq!(req.count, 1);
}

#[test]
fn envelope_namespace_and_structure_are_checked() {
    let portal = "http://www.pointsharp.com/netid/server/portal";
    let info = "<Info><SessionId/><Count>1</Count></Info>";
    // Any envelope prefix is fine.
    let other_prefix = format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:GetLoginStatus xmlns:p="{portal}">{info}</p:GetLoginStatus></soap:Body></soap:Envelope>"#
    );
    assert_eq!(soap_status(&other_prefix), Ok(()));
    // SOAP 1.2 envelope namespace.
    let soap12 = format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetLoginStatus xmlns="{portal}">{info}</GetLoginStatus></s:Body></s:Envelope>"#
    );
    assert!(matches!(
        soap_status(&soap12),
        Err(DecodeError::UnexpectedElement(_))
    ));
    // Method in a foreign namespace, or in none.
    for ns in [r#" xmlns="http://tempuri.org/""#, ""] {
        let body = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus{ns}>{info}</GetLoginStatus></s:Body></s:Envelope>"#
        );
        assert!(
            matches!(soap_status(&body), Err(DecodeError::UnexpectedElement(_))),
            "{ns}"
        );
    }
    // Missing Body.
    let no_body =
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"></s:Envelope>"#;
    assert_eq!(soap_status(no_body), Err(DecodeError::MissingField("Body")));
    let header_only = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>"#;
    assert_eq!(
        soap_status(header_only),
        Err(DecodeError::MissingField("Body"))
    );
    // Two Bodies.
    let two = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus xmlns="{portal}">{info}</GetLoginStatus></s:Body><s:Body/></s:Envelope>"#
    );
    assert!(matches!(
        soap_status(&two),
        Err(DecodeError::UnexpectedElement(_))
    ));
    // Not an envelope at all.
    assert!(matches!(
        soap_status("<Envelope/>"),
        Err(DecodeError::UnexpectedElement(_))
    ));
    // Right envelope, wrong method for this decoder.
    let logout = SOAP_REQUEST.replace("GetLoginStatus", "Logout");
    assert!(matches!(
        soap_status(&logout),
        Err(DecodeError::UnexpectedElement(_))
    ));
    assert!(
        soap::parse_request(logout.as_bytes(), &limits())
            .and_then(|r| soap::decode_logout_request(&r))
            .is_ok()
    );
}

#[test]
fn two_roots_and_trailing_garbage_are_refused() {
    for suffix in ["<s:Envelope/>", "garbage", "<x/>", "&amp;"] {
        let body = format!("{SOAP_REQUEST}{suffix}");
        assert!(
            matches!(soap_status(&body), Err(DecodeError::Xml(_))),
            "{suffix}"
        );
    }
    let json = format!("{REST_REQUEST} {{}}");
    assert!(matches!(
        rest::decode_status_request(json.as_bytes(), &limits()),
        Err(DecodeError::Json(_))
    ));
}

#[test]
fn duplicate_fields_are_refused_in_both_bindings() {
    assert_eq!(
        soap_info("<SessionId>a</SessionId><SessionId>b</SessionId><Count>1</Count>"),
        Err(DecodeError::Duplicate("SessionId".into()))
    );
    assert_eq!(
        rest::decode_status_request(
            br#"{"SessionId":"a","SessionId":"b","Count":"1"}"#,
            &limits()
        ),
        Err(DecodeError::Duplicate("SessionId".into()))
    );
    assert_eq!(
        LoginRequest::decode(
            br#"{"authType":0,"principal":"a","credentials":"x","credentials":"y"}"#,
            &limits()
        ),
        Err(DecodeError::Duplicate("credentials".into()))
    );
}

#[test]
fn wrong_json_types_are_field_errors() {
    let cases: [(&[u8], &str); 4] = [
        (br#"{"SessionId":{"a":1},"Count":"1"}"#, "SessionId"),
        (br#"{"SessionId":"s","Count":true}"#, "Count"),
        (br#"{"SessionId":"s","Count":"1","Blob":[1]}"#, "Blob"),
        (br#"{"SessionId":["s"],"Count":"1"}"#, "SessionId"),
    ];
    for (body, field) in cases {
        match rest::decode_status_request(body, &limits()) {
            Err(DecodeError::InvalidField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let bad_list = br#"{"Count":"1","UsageList":"User","Status":{"Code":"Success"}}"#;
    assert!(matches!(
        rest::decode_login_status(bad_list, &limits()),
        Err(DecodeError::InvalidField {
            field: "UsageList",
            ..
        })
    ));
    let bad_bool = br#"{"Count":"1","IsLoggedIn":"yes","Status":{"Code":"Success"}}"#;
    assert!(matches!(
        rest::decode_login_status(bad_bool, &limits()),
        Err(DecodeError::InvalidField {
            field: "IsLoggedIn",
            ..
        })
    ));
    let enos = br#"{"authType":0,"principal":["p"],"credentials":"c"}"#;
    assert!(matches!(
        LoginRequest::decode(enos, &limits()),
        Err(DecodeError::InvalidField {
            field: "principal",
            ..
        })
    ));
    assert!(matches!(
        decode_response(br#"[1,2]"#, &limits()),
        Err(DecodeError::Json(_))
    ));
}

#[test]
fn non_numeric_count_is_a_field_error_in_both_bindings() {
    assert!(matches!(
        soap_info("<SessionId>s</SessionId><Count>one</Count>"),
        Err(DecodeError::InvalidField { field: "Count", .. })
    ));
    assert!(matches!(
        soap_info("<SessionId>s</SessionId><Count><N>1</N></Count>"),
        Err(DecodeError::InvalidField { field: "Count", .. })
    ));
    assert!(matches!(
        rest::decode_status_request(br#"{"SessionId":"s","Count":"0x10"}"#, &limits()),
        Err(DecodeError::InvalidField { field: "Count", .. })
    ));
    assert_eq!(
        soap_info("<SessionId>s</SessionId>"),
        Err(DecodeError::MissingField("Count"))
    );
}

#[test]
fn soap_action_variants() {
    let prefix = soap::ACTION_PREFIX;
    let ok = soap::SoapAction::parse(&format!("{prefix}GetLoginStatus")).unwrap();
    assert_eq!(ok.method(), &soap::Method::GetLoginStatus);
    let lower = soap::SoapAction::parse(&format!("\"{prefix}getloginstatus\"")).unwrap();
    assert!(matches!(lower.method(), soap::Method::Other(_)));
    assert!(matches!(
        soap::SoapAction::parse("\"http://evil.example/IServiceSoap/GetLoginStatus\""),
        Err(DecodeError::UnknownAction(_))
    ));
}
