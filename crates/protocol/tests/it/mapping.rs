//! Cross-protocol round trips through the normalised session.

use std::time::Duration;

use idbridge_protocol::enos::{
    EnosReply, decode_response, login_response, session_from_enos, session_info_response,
};
use idbridge_protocol::netid::{
    LoginStatus, StatusCode, UsageItem, login_status_from_session, not_logged_in, rest,
    session_from_login_status, soap,
};
use idbridge_protocol::{DecodeError, Limits};
use idbridge_session::{AuthMethod, Backend, Organization, Session, SessionId, UnixTime};
use serde_json::{Value, json};

const ENOS_LOGIN: &str = include_str!("../data/enos-login-response.json");
const ENOS_INFO: &str = include_str!("../data/enos-session-info-response.json");
const NETID_SOAP: &str = include_str!("../data/netid-getloginstatus-response.xml");
const NETID_REST: &str = include_str!("../data/netid-getloginstatus-response.json");

const ENOS_NOW: UnixTime = UnixTime(1_562_850_052);
const NETID_NOW: UnixTime = UnixTime(1_677_050_100);

fn enos_session(sample: &str, now: UnixTime) -> Session {
    let EnosReply::Success(payload) =
        decode_response(sample.as_bytes(), &Limits::default()).unwrap()
    else {
        panic!("success expected")
    };
    session_from_enos(&payload["session"], now).unwrap()
}

fn netid_status() -> LoginStatus {
    soap::decode_login_status(NETID_SOAP.as_bytes(), &Limits::default()).unwrap()
}

fn sid() -> SessionId {
    SessionId::new("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=")
}

#[test]
fn enos_to_netid_and_back_keeps_id_name_and_organisation() {
    let enos = enos_session(ENOS_LOGIN, ENOS_NOW);
    let status = login_status_from_session(&enos, 5, ENOS_NOW);
    assert!(status.logged_in());
    assert_eq!(status.count, Some(5));
    assert_eq!(status.id.as_deref(), Some("u15578227990211"));
    assert_eq!(status.name.as_deref(), Some("portal_test01"));
    assert_eq!(status.organization_name.as_deref(), Some("portal_test01"));
    // EnOS says nothing of an image or of tasks: absent, not "0".
    assert_eq!(status.image_id, None);
    assert_eq!(status.task_counter, None);
    assert_eq!(status.idle_expiration, Some(7200));
    assert_eq!(status.date_time.as_deref(), Some("2019-07-11 12:55:46 UTC"));
    // The sample's user is an organisation administrator (`type` 2): Net iD's Admin usage.
    let names: Vec<&str> = status
        .usage_list
        .iter()
        .flatten()
        .map(|u| u.presentation_info.as_str())
        .collect();
    assert_eq!(names, ["Admin"]);
    // Resident and working organisation are the same one: nothing to add.
    assert_eq!(status.organization_list, Some(vec![]));

    // Through the wire, as a Net iD client would see it.
    let wire = rest::encode_login_status(&status);
    let status = rest::decode_login_status(&wire, &Limits::default()).unwrap();
    let netid = session_from_login_status(&status, enos.id.clone(), ENOS_NOW).unwrap();
    assert_eq!(netid.backend, Backend::NETID);
    assert_eq!(netid.created, enos.created);

    let back = login_response(&netid, ENOS_NOW);
    let user = &back["session"]["user"];
    assert_eq!(user["id"], "u15578227990211");
    assert_eq!(user["name"], "portal_test01");
    assert_eq!(
        back["session"]["workingOrganization"]["name"],
        "portal_test01"
    );
    assert_eq!(back["session"]["id"], enos.id.expose());
    assert_eq!(back["session"]["expires"], 7200);
}

#[test]
fn enos_resident_org_joins_the_organisation_list_when_it_differs() {
    let mut enos = enos_session(ENOS_INFO, ENOS_NOW);
    enos.home_org = Some(Box::new(Organization {
        id: "o-home".into(),
        name: "Home Org".into(),
        ..Organization::default()
    }));
    let status = login_status_from_session(&enos, 1, ENOS_NOW);
    let orgs = status.organization_list.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].id, "o-home");
    assert_eq!(orgs[0].presentation_info, "Home Org");
    assert_eq!(status.organization_name.as_deref(), Some("portal_test01"));
}

#[test]
fn netid_sample_maps_to_the_expected_session() {
    let s = session_from_login_status(&netid_status(), sid(), NETID_NOW).unwrap();
    assert_eq!(s.backend, Backend::NETID);
    assert_eq!(s.subject.id, "1");
    assert_eq!(s.subject.name, "John Doe");
    assert_eq!(s.auth_method, AuthMethod::Certificate);
    let working = s.working_org.as_deref().unwrap();
    assert_eq!(
        (working.id.as_str(), working.name.as_str()),
        ("", "Contoso Ltd")
    );
    assert_eq!(s.organizations.len(), 1);
    assert_eq!(s.organizations[0].id, "9");
    assert_eq!(s.usages.len(), 4);
    assert_eq!(s.usages[2].activities[0].method, "GetObject");
    assert_eq!(s.created, UnixTime(1_677_050_043));
    assert_eq!(s.refreshed, NETID_NOW);
    assert_eq!(s.idle_timeout, Some(Duration::from_secs(1200)));
    assert_eq!(s.expires_at, UnixTime(NETID_NOW.0 + 1200));
    assert_eq!(s.extra.get_str("netid.ImageId").as_deref(), Some("35"));
    assert_eq!(s.extra.get_str("netid.TaskCounter").as_deref(), Some("0"));
}

#[test]
fn working_org_takes_its_id_from_the_list_when_named_there() {
    let mut status = netid_status();
    status.organization_name = Some("Pointsharp AB".into());
    let s = session_from_login_status(&status, sid(), NETID_NOW).unwrap();
    assert_eq!(s.working_org.unwrap().id, "9");
}

/// Net iD → Session → EnOS JSON (through bytes) → Session → Net iD equals the original, except
/// the per-call `Count` and `IdleExpiration`.
fn netid_round_trip(original: &LoginStatus) {
    let netid = session_from_login_status(original, sid(), NETID_NOW).unwrap();
    for render in [login_response, session_info_response] {
        let enos_bytes = serde_json::to_vec(&render(&netid, NETID_NOW)).unwrap();
        let EnosReply::Success(mut payload) =
            decode_response(&enos_bytes, &Limits::default()).unwrap()
        else {
            panic!("success expected")
        };
        // A Net iD id is not an EnOS session id: the EnOS shape says null, and the caller
        // names the session with the credential it already holds.
        assert_eq!(payload["session"]["id"], Value::Null);
        payload["session"]["id"] = Value::from(sid().expose());
        let via_enos = session_from_enos(&payload["session"], NETID_NOW).unwrap();
        assert_eq!(via_enos.id, sid());
        let later = UnixTime(NETID_NOW.0 + 100);
        let mut back = login_status_from_session(&via_enos, 99, later);
        assert_eq!(back.idle_expiration, Some(1100));
        back.count = original.count;
        back.idle_expiration = original.idle_expiration;
        assert_eq!(&back, original);
    }
}

#[test]
fn netid_soap_sample_survives_a_trip_through_enos() {
    netid_round_trip(&netid_status());
}

#[test]
fn netid_rest_sample_survives_a_trip_through_enos() {
    let status = rest::decode_login_status(NETID_REST.as_bytes(), &Limits::default()).unwrap();
    netid_round_trip(&status);
}

#[test]
fn netid_data_rides_in_enos_user_extra() {
    let netid = session_from_login_status(&netid_status(), sid(), NETID_NOW).unwrap();
    let v = login_response(&netid, NETID_NOW);
    let extra = &v["session"]["user"]["extra"];
    assert_eq!(extra["netid.ImageId"], "35");
    assert_eq!(extra["netid.TaskCounter"], "0");
    assert_eq!(extra["netid.UsageList"].as_array().unwrap().len(), 4);
    assert_eq!(extra["netid.OrganizationList"][0]["Id"], "9");
    assert_eq!(v["session"]["user"].as_object().unwrap().len(), 21);
    assert_eq!(v["session"]["expires"], 1200);
    assert_eq!(v["session"]["createTime"], 1_677_050_043);
    // Net iD names a working organisation only; its id is the OrganizationList entry's.
    assert_eq!(v["session"]["residentOrganization"], Value::Null);
    assert_eq!(
        v["session"]["workingOrganization"],
        json!({"domain": null, "name": "Contoso Ltd", "id": null})
    );
    assert_eq!(v["session"]["user"]["authType"], Value::Null);
    assert_eq!(v["captcha"], Value::String(String::new()));
}

#[test]
fn not_logged_in_replies_do_not_become_sessions() {
    let reply = not_logged_in(3);
    assert_eq!(reply.status.code, StatusCode::InvalidSession);
    assert_eq!(
        session_from_login_status(&reply, sid(), NETID_NOW),
        Err(DecodeError::NotLoggedIn)
    );
    let mut denied = netid_status();
    denied.status.code = StatusCode::AccessDenied;
    assert_eq!(
        session_from_login_status(&denied, sid(), NETID_NOW),
        Err(DecodeError::NotLoggedIn)
    );
    let mut no_idle = netid_status();
    no_idle.idle_expiration = None;
    assert_eq!(
        session_from_login_status(&no_idle, sid(), NETID_NOW),
        Err(DecodeError::MissingField("IdleExpiration"))
    );
    let mut bad_time = netid_status();
    bad_time.date_time = Some("tomorrow".into());
    assert!(matches!(
        session_from_login_status(&bad_time, sid(), NETID_NOW),
        Err(DecodeError::InvalidField {
            field: "DateTime",
            ..
        })
    ));
}

#[test]
fn expired_and_idle_expired_sessions_render_as_not_logged_in() {
    let s = session_from_login_status(&netid_status(), sid(), NETID_NOW).unwrap();
    let at_expiry = UnixTime(NETID_NOW.0 + 1200);
    assert_eq!(
        login_status_from_session(&s, 7, at_expiry),
        not_logged_in(7)
    );
    let mut idle = s.clone();
    idle.expires_at = UnixTime(NETID_NOW.0 + 10_000);
    assert_eq!(
        login_status_from_session(&idle, 7, at_expiry),
        not_logged_in(7)
    );
    let live = login_status_from_session(&idle, 7, UnixTime(NETID_NOW.0 + 1199));
    assert_eq!(live.idle_expiration, Some(1));
    assert_eq!(live.is_logged_in, Some(true));
}

#[test]
fn user_type_and_the_admin_usage_map_both_ways() {
    // EnOS → Net iD: a plain user (type 0) has no usage EnOS could vouch for.
    let mut enos = enos_session(ENOS_LOGIN, ENOS_NOW);
    enos.subject.kind = idbridge_session::SubjectKind::User;
    let status = login_status_from_session(&enos, 1, ENOS_NOW);
    assert_eq!(status.usage_list, Some(vec![]));
    let v: Value = serde_json::from_slice(&rest::encode_login_status(&status)).unwrap();
    assert!(
        v.get("ImageId").is_none() && v.get("TaskCounter").is_none(),
        "{v}"
    );

    // Net iD → EnOS: the sample lists Admin? No (User, Token, Self, AuditLog): type 0.
    let netid = session_from_login_status(&netid_status(), sid(), NETID_NOW).unwrap();
    assert_eq!(
        login_response(&netid, NETID_NOW)["session"]["user"]["type"],
        0
    );
    // With the Admin usage, an administrator: type 2.
    let mut admin = netid_status();
    if let Some(list) = admin.usage_list.as_mut() {
        list.push(UsageItem {
            presentation_info: "Admin".into(),
            activity_list: None,
        });
    }
    let netid = session_from_login_status(&admin, sid(), NETID_NOW).unwrap();
    assert_eq!(
        login_response(&netid, NETID_NOW)["session"]["user"]["type"],
        2
    );
}
