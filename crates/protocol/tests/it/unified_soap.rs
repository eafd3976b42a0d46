//! The unified SOAP face's request parser: hand-written requests in every legal form parse; the
//! SOAPAction must match the body; malformed, foreign and hostile documents fail with typed
//! errors that never quote a value. (Golden files and zeep: `unified_soap_golden.rs`.)

use idbridge_protocol::enos::AuthType;
use idbridge_protocol::unified::soap::{Operation, UnifiedSoapRequest, parse_request, wsdl};
use idbridge_protocol::{DecodeError, Limits};

const ENDPOINT: &str = "http://127.0.0.1:8080/idbridge/soap";
const ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

fn limits() -> Limits {
    Limits::default()
}

/// A request envelope around `inner`.
fn envelope(inner: &str) -> String {
    format!(r#"<s:Envelope xmlns:s="{ENV}"><s:Body>{inner}</s:Body></s:Envelope>"#)
}

fn parse(body: &str, action: Option<&str>) -> Result<UnifiedSoapRequest, DecodeError> {
    parse_request(body.as_bytes(), &limits(), action)
}

fn login(fields: &str) -> Result<UnifiedSoapRequest, DecodeError> {
    parse(
        &envelope(&format!(
            r#"<Login xmlns="urn:idbridge:v1">{fields}</Login>"#
        )),
        None,
    )
}

// === hand-written requests ===

#[test]
fn prefixes_headers_declarations_and_whitespace_do_not_matter() {
    let body = format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
            "<soapenv:Envelope xmlns:soapenv=\"{env}\" xmlns:ib=\"urn:idbridge:v1\">\n",
            "  <soapenv:Header><ib:Trace>x</ib:Trace></soapenv:Header>\n",
            "  <soapenv:Body>\n",
            "    <ib:GetSession>\n      <ib:Token>\n  IAM_S_abc  \n</ib:Token>\n    </ib:GetSession>\n",
            "  </soapenv:Body>\n",
            "</soapenv:Envelope>\n"
        ),
        env = ENV
    );
    assert_eq!(
        parse(&body, None).unwrap(),
        UnifiedSoapRequest::GetSession {
            token: "IAM_S_abc".into()
        }
    );
}

#[test]
fn login_fields_keep_their_exact_text() {
    let r = login(concat!(
        "<Backend> enos </Backend><Principal>p</Principal>",
        "<Credentials> pass &amp; word </Credentials><AuthType> 1 </AuthType>",
        "<LinkName></LinkName>"
    ))
    .unwrap();
    let UnifiedSoapRequest::Login(l) = r else {
        panic!("a login")
    };
    let up = l.to_enos().unwrap();
    assert_eq!(up.credentials.expose(), " pass & word ");
    assert_eq!(up.auth_type, AuthType::Ldap);
    assert_eq!(up.link_name.as_deref(), Some(""));
}

#[test]
fn soap_action_must_match_the_body() {
    let body = envelope(r#"<Logout xmlns="urn:idbridge:v1"><Token>t</Token></Logout>"#);
    assert!(parse(&body, Some("\"urn:idbridge:v1/Logout\"")).is_ok());
    assert!(
        parse(&body, Some("\"\"")).is_ok(),
        "empty: the body decides"
    );
    for action in [
        "\"urn:idbridge:v1/GetSession\"",
        "\"urn:idbridge:v1/Login\"",
        "\"urn:idbridge:v1/logout\"",
        "\"http://www.pointsharp.com/netid/server/portal/IServiceSoap/Logout\"",
        "\"urn:idbridge:v1/Logout",
    ] {
        assert!(
            matches!(
                parse(&body, Some(action)),
                Err(DecodeError::UnknownAction(_))
            ),
            "{action}"
        );
    }
}

#[test]
fn login_rules_give_typed_errors() {
    let cases: [(&str, DecodeError); 6] = [
        ("", DecodeError::MissingField("Backend")),
        (
            "<Backend>enos</Backend><Principal>p</Principal>",
            DecodeError::MissingField("Credentials"),
        ),
        (
            "<Backend>netid</Backend>",
            DecodeError::MissingField("Certificate"),
        ),
        (
            "<Backend>enos</Backend><Backend>netid</Backend>",
            DecodeError::Duplicate("Backend".into()),
        ),
        (
            "<Backend>enos</Backend><Credentials>c</Credentials><Principal>p</Principal>",
            DecodeError::UnexpectedElement("Principal (out of order)".into()),
        ),
        (
            "<Backend>enos</Backend><Password>c</Password>",
            DecodeError::UnexpectedElement("Password".into()),
        ),
    ];
    for (fields, expected) in cases {
        assert_eq!(login(fields), Err(expected), "{fields}");
    }
    for (fields, field) in [
        ("<Backend>Enos</Backend>", "Backend"),
        (
            "<Backend>enos</Backend><Principal>p</Principal><Credentials>c</Credentials><AuthType>2</AuthType>",
            "AuthType",
        ),
        (
            "<Backend>enos</Backend><Principal>p</Principal><Credentials>c</Credentials><ExpireInterval>-1</ExpireInterval>",
            "ExpireInterval",
        ),
        (
            "<Backend>enos</Backend><Principal>p</Principal><Credentials>c</Credentials><Certificate>x</Certificate>",
            "Certificate",
        ),
        (
            "<Backend>netid</Backend><Principal>p</Principal><Certificate>x</Certificate>",
            "Principal",
        ),
        (
            "<Backend>netid</Backend><Certificate>x</Certificate><Role>admin</Role>",
            "Role",
        ),
        (
            "<Backend>netid</Backend><Certificate>  </Certificate>",
            "Certificate",
        ),
        (
            "<Backend>enos</Backend><Principal></Principal><Credentials>c</Credentials>",
            "Principal",
        ),
    ] {
        match login(fields) {
            Err(DecodeError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{fields}"),
            other => panic!("{fields}: {other:?}"),
        }
    }
}

#[test]
fn tokens_must_be_one_clean_word() {
    let get = |token: &str| {
        parse(
            &envelope(&format!(
                r#"<GetSession xmlns="urn:idbridge:v1">{token}</GetSession>"#
            )),
            None,
        )
    };
    assert_eq!(get(""), Err(DecodeError::MissingField("Token")));
    for bad in ["<Token/>", "<Token>a b</Token>", "<Token>a&#9;b</Token>"] {
        assert!(
            matches!(
                get(bad),
                Err(DecodeError::InvalidField { field: "Token", .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        get("<Token><X/></Token>"),
        Err(DecodeError::UnexpectedElement(_))
    ));
    assert!(matches!(
        get("text<Token>t</Token>"),
        Err(DecodeError::Xml(_))
    ));
}

#[test]
fn foreign_envelopes_and_elements_are_refused() {
    let token = "<Token>t</Token>";
    for body in [
        // SOAP 1.2 envelope.
        format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSession xmlns="urn:idbridge:v1">{token}</GetSession></s:Body></s:Envelope>"#
        ),
        // The operation in the Net iD namespace, or in none.
        envelope(&format!(
            r#"<GetSession xmlns="http://www.pointsharp.com/netid/server/portal">{token}</GetSession>"#
        )),
        envelope(&format!("<GetSession>{token}</GetSession>")),
        // A field in no namespace.
        envelope(r#"<ib:GetSession xmlns:ib="urn:idbridge:v1"><Token>t</Token></ib:GetSession>"#),
        // An operation the face does not have.
        envelope(&format!(
            r#"<GetLoginStatus xmlns="urn:idbridge:v1">{token}</GetLoginStatus>"#
        )),
        // Two operations in one body.
        envelope(&format!(
            r#"<GetSession xmlns="urn:idbridge:v1">{token}</GetSession><Logout xmlns="urn:idbridge:v1">{token}</Logout>"#
        )),
    ] {
        assert!(
            matches!(parse(&body, None), Err(DecodeError::UnexpectedElement(_))),
            "{body}"
        );
    }
    assert_eq!(
        parse(&format!(r#"<s:Envelope xmlns:s="{ENV}"/>"#), None),
        Err(DecodeError::MissingField("Body"))
    );
    assert_eq!(
        parse(&envelope(""), None),
        Err(DecodeError::MissingField("operation element"))
    );
}

#[test]
fn hostile_documents_fail_with_typed_errors() {
    let doctype = format!(
        r#"<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#,
        envelope(r#"<GetSession xmlns="urn:idbridge:v1"><Token>&x;</Token></GetSession>"#)
    );
    assert_eq!(parse(&doctype, None), Err(DecodeError::Doctype));
    let entity = envelope(r#"<GetSession xmlns="urn:idbridge:v1"><Token>&x;</Token></GetSession>"#);
    assert_eq!(parse(&entity, None), Err(DecodeError::EntityReference));

    let deep = envelope(&format!(
        r#"<GetSession xmlns="urn:idbridge:v1"><Token>{}t{}</Token></GetSession>"#,
        "<a>".repeat(40),
        "</a>".repeat(40)
    ));
    assert_eq!(
        parse(&deep, None),
        Err(DecodeError::TooDeep {
            limit: Limits::DEFAULT_MAX_DEPTH
        })
    );

    let big = envelope(&format!(
        r#"<GetSession xmlns="urn:idbridge:v1"><Token>{}</Token></GetSession>"#,
        "a".repeat(Limits::DEFAULT_MAX_BODY)
    ));
    assert_eq!(
        parse(&big, None),
        Err(DecodeError::TooLarge {
            limit: Limits::DEFAULT_MAX_BODY
        })
    );

    let mut bytes = envelope(r#"<GetSession xmlns="urn:idbridge:v1"><Token>"#).into_bytes();
    bytes.truncate(bytes.len() - "</s:Body></s:Envelope>".len());
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"</Token></GetSession></s:Body></s:Envelope>");
    assert_eq!(
        parse_request(&bytes, &limits(), None),
        Err(DecodeError::NotUtf8)
    );

    for broken in [
        "",
        "<s:Envelope",
        "not xml",
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>",
    ] {
        assert!(
            matches!(parse(broken, None), Err(DecodeError::Xml(_))),
            "{broken}"
        );
    }
}

#[test]
fn a_bad_soap_action_fails_before_the_body_is_read() {
    // The body is not even XML: the header alone decides.
    assert!(matches!(
        parse("junk", Some("\"urn:idbridge:v1/Nope\"")),
        Err(DecodeError::UnknownAction(_))
    ));
}

#[test]
fn error_messages_never_quote_values() {
    let secret = "S3cretPassw0rd";
    let errors = [
        login(&format!("<Backend>{secret}</Backend>")),
        login(&format!(
            "<Backend>enos</Backend><Principal>p</Principal><Credentials>c</Credentials><AuthType>{secret}</AuthType>"
        )),
        login(&format!(
            "<Backend>netid</Backend><Certificate>x</Certificate><Credentials>{secret}</Credentials>"
        )),
    ];
    for e in errors {
        let e = e.unwrap_err();
        assert!(!e.to_string().contains(secret), "{e}");
    }
}

#[test]
fn operations_are_named_like_the_wsdl() {
    let w = wsdl(ENDPOINT);
    for op in Operation::ALL {
        assert!(w.contains(&format!(r#"<xsd:element name="{}">"#, op.name())));
        assert!(w.contains(&format!(r#"<xsd:element name="{}Response">"#, op.name())));
    }
    assert!(w.contains(&format!(r#"<soap:address location="{ENDPOINT}"/>"#)));
}
