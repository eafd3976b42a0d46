//! The unified SOAP face against its golden files: the WSDL and the encoded responses are exactly
//! the files that `scripts/soap_client_check.py --offline` loads in zeep (and validates against
//! the WSDL's schema), and the requests zeep builds from that WSDL parse.
//!
//! Regenerate the golden files after a deliberate change with `IDBRIDGE_BLESS=1 cargo test -p
//! idbridge-protocol --test unified_soap_golden`, then re-run the zeep check on them.

use std::path::PathBuf;

use idbridge_protocol::enos::{AuthType, EnosReply, decode_response, session_from_enos};
use idbridge_protocol::netid::{Role, rest, session_from_login_status};
use idbridge_protocol::unified::soap::{
    FaultCode, UnifiedSoapRequest, encode_challenge_response, encode_fault, encode_login_response,
    encode_logout_response, encode_session_response, parse_request, wsdl,
};
use idbridge_protocol::unified::{Challenge, LoginRequest};
use idbridge_protocol::{DecodeError, Limits};
use idbridge_session::{Session, SessionId, UnixTime};

const ENOS_LOGIN: &str = include_str!("../data/enos-login-response.json");
const NETID_STATUS: &str = include_str!("../data/netid-getloginstatus-response.json");
const ENOS_NOW: UnixTime = UnixTime(1_562_850_052);
const NETID_NOW: UnixTime = UnixTime(1_677_050_100);
/// The endpoint the golden WSDL advertises (the demo gateway's).
const ENDPOINT: &str = "http://127.0.0.1:8080/idbridge/soap";

fn limits() -> Limits {
    Limits::default()
}

fn enos_session() -> Session {
    let EnosReply::Success(payload) = decode_response(ENOS_LOGIN.as_bytes(), &limits()).unwrap()
    else {
        panic!("the sample is a success")
    };
    session_from_enos(&payload["session"], ENOS_NOW).unwrap()
}

fn netid_session() -> Session {
    let status = rest::decode_login_status(NETID_STATUS.as_bytes(), &limits()).unwrap();
    session_from_login_status(&status, SessionId::new("c2Vzc2lvbi1zZWNyZXQ="), NETID_NOW).unwrap()
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/unified")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `actual` must equal the golden file, which the zeep check reads; `IDBRIDGE_BLESS` rewrites it.
fn golden(name: &str, actual: &str) {
    if std::env::var_os("IDBRIDGE_BLESS").is_some() {
        std::fs::write(data(name), actual).unwrap();
        return;
    }
    assert_eq!(
        actual,
        read(name),
        "{name} differs from the encoder: rerun with IDBRIDGE_BLESS=1, then run \
         scripts/soap_client_check.py --offline on the result"
    );
}

fn parse(body: &str, action: Option<&str>) -> Result<UnifiedSoapRequest, DecodeError> {
    parse_request(body.as_bytes(), &limits(), action)
}

// === golden files ===

#[test]
fn wsdl_is_the_golden_file() {
    golden("idbridge.wsdl", &wsdl(ENDPOINT));
}

#[test]
fn responses_are_the_golden_files() {
    let enos = enos_session();
    let netid = netid_session();
    golden(
        "login-response-enos.xml",
        &encode_login_response(&enos, "eyJ.test.token", 900, ENOS_NOW),
    );
    golden(
        "session-response-enos.xml",
        &encode_session_response(&enos, ENOS_NOW),
    );
    golden(
        "session-response-netid.xml",
        &encode_session_response(&netid, NETID_NOW),
    );
    golden("logout-response.xml", &encode_logout_response());
    golden(
        "login-challenge-netid.xml",
        &encode_challenge_response(&Challenge {
            session_id: "c2Vzc2lvbi1zZWNyZXQ=".into(),
            value: "c2VhbGVkLW5vbmNl".into(),
            server_certificate: Some("MIIBzDCCAXagAwIBAgIUU2VydmVy".into()),
        }),
    );
    golden(
        "fault-client.xml",
        &encode_fault(
            FaultCode::Client,
            "invalid_token",
            "The token <is> not valid",
        ),
    );
    golden(
        "fault-server.xml",
        &encode_fault(FaultCode::Server, "backend_unavailable", "Try again later"),
    );
}

#[test]
fn responses_never_carry_the_session_id_or_extras() {
    let enos = enos_session();
    let netid = netid_session();
    for xml in [
        encode_login_response(&enos, "t", 1, ENOS_NOW),
        encode_session_response(&enos, ENOS_NOW),
        encode_session_response(&netid, NETID_NOW),
    ] {
        assert!(!xml.contains("IAM_S_"));
        assert!(!xml.contains("c2Vzc2lvbi1zZWNyZXQ="));
        assert!(!xml.contains("r15578227990212"), "enos.user.resourceId");
        assert!(!xml.contains("<ImageId>"));
    }
}

// === requests as zeep builds them ===

/// The requests `soap_client_check.py --offline --write-requests` captured from zeep, with the
/// SOAPAction zeep sends for each.
#[test]
fn zeep_requests_parse() {
    let r = parse(
        &read("zeep-login-enos.xml"),
        Some("\"urn:idbridge:v1/Login\""),
    )
    .unwrap();
    let UnifiedSoapRequest::Login(login) = r else {
        panic!("a login")
    };
    let up = login.to_enos().unwrap();
    assert_eq!(up.principal, "portal_test01");
    assert_eq!(up.credentials.expose(), "Demo-Passw0rd");
    assert_eq!(up.auth_type, AuthType::Enos);
    assert_eq!(up.link_name, None);
    assert_eq!(up.expire_interval, None);

    let r = parse(&read("zeep-login-ldap.xml"), Some("urn:idbridge:v1/Login")).unwrap();
    let UnifiedSoapRequest::Login(login) = r else {
        panic!("a login")
    };
    let up = login.to_enos().unwrap();
    assert_eq!(up.auth_type, AuthType::Ldap);
    assert_eq!(up.link_name.as_deref(), Some("corp-ldap"));
    assert_eq!(up.expire_interval, Some(3600));

    let r = parse(
        &read("zeep-login-netid.xml"),
        Some("\"urn:idbridge:v1/Login\""),
    )
    .unwrap();
    assert_eq!(
        r,
        UnifiedSoapRequest::Login(LoginRequest::Netid {
            certificate: "MIIBzDCCAXagAwIBAgIUQ2VydA==".into(),
            role: Role::Officer,
        })
    );
    let r = parse(&read("zeep-login-netid-answer.xml"), None).unwrap();
    assert_eq!(
        r,
        UnifiedSoapRequest::Login(LoginRequest::NetidAnswer {
            session_id: "c2Vzc2lvbi1zZWNyZXQ=".into(),
            answer: "YW5zd2VyLW9mLXRoZS1jaGFsbGVuZ2U=".into(),
        })
    );

    let r = parse(
        &read("zeep-getsession.xml"),
        Some("\"urn:idbridge:v1/GetSession\""),
    )
    .unwrap();
    assert_eq!(
        r,
        UnifiedSoapRequest::GetSession {
            token: "eyJ.test.token".into()
        }
    );
    let r = parse(&read("zeep-logout.xml"), Some("\"urn:idbridge:v1/Logout\"")).unwrap();
    assert_eq!(
        r,
        UnifiedSoapRequest::Logout {
            token: "eyJ.test.token".into()
        }
    );
}
