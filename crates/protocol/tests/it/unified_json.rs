//! The unified REST/JSON face: the session view of both backends' golden samples, the other
//! response bodies, and the Log In request decoder.

use idbridge_protocol::enos::{AuthType, EnosReply, decode_response, session_from_enos};
use idbridge_protocol::netid::{Role, rest, session_from_login_status, soap};
use idbridge_protocol::unified::LoginRequest;
use idbridge_protocol::unified::json as rendered;
use idbridge_protocol::unified::json::{decode_login_request, error_body, logout_response};
use idbridge_protocol::{DecodeError, Limits};
use idbridge_session::{Session, SessionId, UnixTime};
use serde_json::{Value, json};

const ENOS_LOGIN: &str = include_str!("../data/enos-login-response.json");
const ENOS_INFO: &str = include_str!("../data/enos-session-info-response.json");
const NETID_REST: &str = include_str!("../data/netid-getloginstatus-response.json");
const NETID_SOAP: &str = include_str!("../data/netid-getloginstatus-response.xml");
const ENOS_NOW: UnixTime = UnixTime(1_562_850_052);
const NETID_NOW: UnixTime = UnixTime(1_677_050_100);
const NETID_SID: &str = "c2Vzc2lvbi1zZWNyZXQ=";

fn limits() -> Limits {
    Limits::default()
}

fn enos_session(sample: &str) -> Session {
    let EnosReply::Success(payload) = decode_response(sample.as_bytes(), &limits()).unwrap() else {
        panic!("the sample is a success")
    };
    session_from_enos(&payload["session"], ENOS_NOW).unwrap()
}

fn netid_session() -> Session {
    let status = rest::decode_login_status(NETID_REST.as_bytes(), &limits()).unwrap();
    session_from_login_status(&status, SessionId::new(NETID_SID), NETID_NOW).unwrap()
}

fn decode(body: &str) -> Result<LoginRequest, DecodeError> {
    decode_login_request(body.as_bytes(), &limits())
}

// === renderers ===

#[test]
fn enos_sample_session_view() {
    let view = session_view(&enos_session(ENOS_LOGIN), ENOS_NOW);
    assert_eq!(
        view,
        json!({
            "backend": "enos",
            "subject": {
                "id": "u15578227990211",
                "name": "portal_test01",
                "email": "congcong1.chen@envision-digital.com",
                "phone": "",
                "kind": "org_admin",
            },
            "organization": {"id": "o15578227985571", "name": "portal_test01", "domain": "db_portal_test01"},
            "home_organization": {"id": "o15578227985571", "name": "portal_test01", "domain": null},
            "organizations": [],
            "usages": [],
            "auth_method": "password",
            "created_at": "2019-07-11T12:55:46Z",
            "refreshed_at": "2019-07-11T13:00:52Z",
            "expires_at": "2019-07-11T15:00:52Z",
            "expires_in": 7200,
            "idle_timeout": 7200,
        })
    );
    // The session/info sample describes the same session.
    assert_eq!(session_view(&enos_session(ENOS_INFO), ENOS_NOW), view);
}

#[test]
fn netid_sample_session_view() {
    let view = session_view(&netid_session(), NETID_NOW);
    assert_eq!(
        view,
        json!({
            "backend": "netid",
            "subject": {"id": "1", "name": "John Doe", "email": null, "phone": null, "kind": "user"},
            // The sample's OrganizationName is not in its OrganizationList, so its id is unknown.
            "organization": {"id": "", "name": "Contoso Ltd", "domain": null},
            "home_organization": null,
            "organizations": [{"id": "9", "name": "Pointsharp AB"}],
            "usages": ["User", "Token", "Self", "AuditLog"],
            "auth_method": "certificate",
            "created_at": "2023-02-22T07:14:03Z",
            "refreshed_at": "2023-02-22T07:15:00Z",
            "expires_at": "2023-02-22T07:35:00Z",
            "expires_in": 1200,
            "idle_timeout": 1200,
        })
    );
    // The SOAP binding of the same sample gives the same session.
    let status = soap::decode_login_status(NETID_SOAP.as_bytes(), &limits()).unwrap();
    let from_soap = session_from_login_status(&status, SessionId::new(NETID_SID), NETID_NOW);
    assert_eq!(session_view(&from_soap.unwrap(), NETID_NOW), view);
}

#[test]
fn expires_in_counts_down_to_zero() {
    let s = enos_session(ENOS_LOGIN);
    assert_eq!(
        session_view(&s, UnixTime(ENOS_NOW.0 + 1_000))["expires_in"],
        6_200
    );
    assert_eq!(
        session_view(&s, UnixTime(ENOS_NOW.0 + 7_200))["expires_in"],
        0
    );
    assert_eq!(
        session_view(&s, UnixTime(ENOS_NOW.0 + 99_999))["expires_in"],
        0
    );
}

#[test]
fn views_never_show_the_session_id_or_extras() {
    let enos = enos_session(ENOS_INFO);
    let netid = netid_session();
    assert!(!enos.extra.is_empty() && !netid.extra.is_empty());
    for text in [
        session_view(&enos, ENOS_NOW).to_string(),
        session_view(&netid, NETID_NOW).to_string(),
        login_response(&enos, "t", 1, ENOS_NOW).to_string(),
        session_response(&netid, NETID_NOW).to_string(),
    ] {
        assert!(!text.contains("IAM_S_"), "EnOS session id");
        assert!(!text.contains(NETID_SID), "Net iD session id");
        for extra in ["r15578227990212", "MEDIUM", "u15440200922941", "\"35\""] {
            assert!(!text.contains(extra), "extra {extra}");
        }
    }
}

#[test]
fn envelopes_of_the_other_responses() {
    let s = enos_session(ENOS_LOGIN);
    assert_eq!(
        login_response(&s, "eyJ.a.b", 900, ENOS_NOW),
        json!({
            "token": "eyJ.a.b",
            "token_type": "Bearer",
            "expires_in": 900,
            "session": session_view(&s, ENOS_NOW),
        })
    );
    assert_eq!(
        session_response(&s, ENOS_NOW),
        json!({"session": session_view(&s, ENOS_NOW)})
    );
    assert_eq!(logout_response(), json!({"logged_out": true}));
    assert_eq!(
        error_body("invalid_token", "The token is not valid."),
        json!({"error": {"code": "invalid_token", "message": "The token is not valid."}})
    );
    assert_eq!(
        login_response(&s, "t", u64::MAX, ENOS_NOW)["expires_in"],
        json!(i64::MAX)
    );
}

// === Log In request ===

#[test]
fn enos_login_requests() {
    let r =
        decode(r#"{"backend":"enos","principal":"portal_test01","credentials":"Demo-Passw0rd"}"#)
            .unwrap();
    let up = r.to_enos().unwrap();
    assert_eq!(up.principal, "portal_test01");
    assert_eq!(up.credentials.expose(), "Demo-Passw0rd");
    assert_eq!(up.auth_type, AuthType::Enos);
    assert_eq!((&up.link_name, up.expire_interval), (&None, None));
    // Upstream, the body is the vendor's Log In shape.
    let wire: Value = serde_json::from_slice(&up.encode()).unwrap();
    assert_eq!(
        wire,
        json!({"authType": 0, "principal": "portal_test01", "credentials": "Demo-Passw0rd"})
    );

    let r = decode(
        r#"{"backend":"enos","principal":"ldap_user01","credentials":"x","auth_type":1,"link_name":"corp-ldap","expire_interval":3600}"#,
    )
    .unwrap();
    let up = r.to_enos().unwrap();
    assert_eq!(up.auth_type, AuthType::Ldap);
    assert_eq!(up.link_name.as_deref(), Some("corp-ldap"));
    assert_eq!(up.expire_interval, Some(3600));
}

#[test]
fn netid_login_requests() {
    assert_eq!(
        decode(r#"{"backend":"netid","certificate":"MIIBzDCC"}"#).unwrap(),
        LoginRequest::Netid {
            certificate: "MIIBzDCC".into(),
            role: Role::SelfService
        }
    );
    let r = decode(r#"{"backend":"netid","certificate":"MIIBzDCC","role":"Officer"}"#).unwrap();
    let Some(idbridge_protocol::netid::LoginStep::Begin(up)) = r.to_netid(NETID_NOW) else {
        panic!("step 1 expected")
    };
    assert_eq!(up.role, Role::Officer);
    assert_eq!(up.date_time, "2023-02-22T07:15:00Z");
    // Step 2 names the session and the answer, and nothing of step 1.
    assert_eq!(
        decode(r#"{"backend":"netid","session_id":"c2lk","answer":"YW5z"}"#).unwrap(),
        LoginRequest::NetidAnswer {
            session_id: "c2lk".into(),
            answer: "YW5z".into()
        }
    );
    assert!(
        decode(r#"{"backend":"netid","session_id":"c2lk","answer":"YW5z","role":"Self"}"#).is_err()
    );
    assert!(
        decode(r#"{"backend":"enos","principal":"p","credentials":"c","answer":"YW5z"}"#).is_err()
    );
}

#[test]
fn login_request_errors_are_typed() {
    let cases: [(&str, DecodeError); 7] = [
        (
            r#"{"principal":"p","credentials":"c"}"#,
            DecodeError::MissingField("backend"),
        ),
        (
            r#"{"backend":"enos","credentials":"c"}"#,
            DecodeError::MissingField("principal"),
        ),
        (
            r#"{"backend":"enos","principal":"p"}"#,
            DecodeError::MissingField("credentials"),
        ),
        (
            r#"{"backend":"netid"}"#,
            DecodeError::MissingField("certificate"),
        ),
        (
            r#"{"backend":"netid","certificate":null}"#,
            DecodeError::MissingField("certificate"),
        ),
        (
            r#"{"backend":"enos","principal":"p","credentials":"c","authType":0}"#,
            DecodeError::UnexpectedElement("authType".into()),
        ),
        (
            r#"{"backend":"enos","principal":"p","principal":"q","credentials":"c"}"#,
            DecodeError::Duplicate("principal".into()),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(decode(body), Err(expected), "{body}");
    }
    for (body, field) in [
        (
            r#"{"backend":"ENOS","principal":"p","credentials":"c"}"#,
            "backend",
        ),
        (r#"{"backend":1}"#, "backend"),
        (
            r#"{"backend":"enos","principal":1,"credentials":"c"}"#,
            "principal",
        ),
        (
            r#"{"backend":"enos","principal":"","credentials":"c"}"#,
            "principal",
        ),
        (
            r#"{"backend":"enos","principal":"p","credentials":""}"#,
            "credentials",
        ),
        (
            r#"{"backend":"enos","principal":"p","credentials":"c","auth_type":"0"}"#,
            "auth_type",
        ),
        (
            r#"{"backend":"enos","principal":"p","credentials":"c","expire_interval":"60"}"#,
            "expire_interval",
        ),
        (
            r#"{"backend":"enos","principal":"p","credentials":"c","link_name":7}"#,
            "link_name",
        ),
        (
            r#"{"backend":"enos","principal":"p","credentials":"c","certificate":"x"}"#,
            "certificate",
        ),
        (
            r#"{"backend":"netid","certificate":"x","credentials":"c"}"#,
            "credentials",
        ),
        (
            r#"{"backend":"netid","certificate":"x","role":"self"}"#,
            "role",
        ),
    ] {
        match decode(body) {
            Err(DecodeError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn malformed_and_hostile_bodies() {
    assert!(matches!(decode(""), Err(DecodeError::Json(_))));
    assert!(matches!(decode("[]"), Err(DecodeError::Json(_))));
    assert!(matches!(
        decode(r#"{"backend":"enos""#),
        Err(DecodeError::Json(_))
    ));
    assert_eq!(
        decode_login_request(b"{\"backend\":\"\xff\"}", &limits()),
        Err(DecodeError::NotUtf8)
    );
    let deep = format!(
        r#"{{"backend":"enos","principal":"p","credentials":"c","link_name":{}1{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    assert_eq!(
        decode(&deep),
        Err(DecodeError::TooDeep {
            limit: Limits::DEFAULT_MAX_DEPTH
        })
    );
    let big = format!(
        r#"{{"backend":"netid","certificate":"{}"}}"#,
        "A".repeat(Limits::DEFAULT_MAX_BODY)
    );
    assert_eq!(
        decode(&big),
        Err(DecodeError::TooLarge {
            limit: Limits::DEFAULT_MAX_BODY
        })
    );
}

#[test]
fn secrets_stay_out_of_errors_and_debug() {
    let secret = "S3cretPassw0rd";
    for body in [
        format!(r#"{{"backend":"{secret}"}}"#),
        format!(r#"{{"backend":"netid","certificate":"x","credentials":"{secret}"}}"#),
    ] {
        let e = decode(&body).unwrap_err();
        assert!(!e.to_string().contains(secret), "{e}");
    }
    let r = decode(&format!(
        r#"{{"backend":"enos","principal":"p","credentials":"{secret}"}}"#
    ))
    .unwrap();
    assert!(!format!("{r:?}").contains(secret));
    let r = decode(&format!(
        r#"{{"backend":"netid","certificate":"{secret}"}}"#
    ))
    .unwrap();
    assert!(!format!("{r:?}").contains(secret));
}

// The renderers serialise borrowed structs; the tests compare their JSON.
pub(crate) fn session_view(s: &Session, now: UnixTime) -> Value {
    serde_json::to_value(rendered::session_view(s, now)).unwrap()
}

pub(crate) fn session_response(s: &Session, now: UnixTime) -> Value {
    serde_json::to_value(rendered::session_response(s, now)).unwrap()
}

pub(crate) fn login_response(s: &Session, token: &str, expires_in: u64, now: UnixTime) -> Value {
    serde_json::to_value(rendered::login_response(s, token, expires_in, now)).unwrap()
}
