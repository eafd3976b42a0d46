//! The EnOS vendor samples decode, and re-encode to the same JSON.

use idbridge_protocol::Limits;
use idbridge_protocol::enos::{
    AuthType, EnosReply, LoginRequest, decode_response, login_response, session_from_enos,
    session_info_response, session_json, to_vec,
};
use idbridge_session::{AuthMethod, Backend, Session, SubjectKind, UnixTime};
use serde_json::Value;

const LOGIN_REQUEST: &str = include_str!("../data/enos-login-request.json");
const LOGIN_RESPONSE: &str = include_str!("../data/enos-login-response.json");
const SESSION_INFO: &str = include_str!("../data/enos-session-info-response.json");

/// The samples' `refreshTime`: at this instant the full `expires` is still ahead.
const NOW: UnixTime = UnixTime(1_562_850_052);

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn session_of(sample: &str) -> Session {
    let EnosReply::Success(payload) =
        decode_response(sample.as_bytes(), &Limits::default()).expect("sample decodes")
    else {
        panic!("sample is a success")
    };
    session_from_enos(&payload["session"], NOW).expect("session maps")
}

#[test]
fn login_request_round_trips() {
    let req = LoginRequest::decode(LOGIN_REQUEST.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(req.auth_type, AuthType::Enos);
    assert_eq!(req.link_name.as_deref(), Some(""));
    assert_eq!(req.principal, "xxxx");
    assert_eq!(req.credentials.expose(), "xxx");
    assert_eq!(req.key_id.as_deref(), Some("yyy"));
    assert_eq!(req.captcha.as_deref(), Some("xxxx"));
    assert_eq!(req.client_ip.as_deref(), Some("1.1.1.1"));
    assert_eq!(req.expire_interval, Some(3600));
    let back: Value = serde_json::from_slice(&req.encode()).unwrap();
    assert_eq!(back, json(LOGIN_REQUEST));
}

#[test]
fn login_response_payload_is_captcha_and_session() {
    let EnosReply::Success(payload) =
        decode_response(LOGIN_RESPONSE.as_bytes(), &Limits::default()).unwrap()
    else {
        panic!("success expected")
    };
    let mut keys: Vec<_> = payload.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["captcha", "session"]);
}

#[test]
fn login_response_maps_to_the_expected_session() {
    let s = session_of(LOGIN_RESPONSE);
    assert_eq!(s.backend, Backend::ENOS);
    assert!(s.id.expose().starts_with("IAM_S_HbH8y6sP77T5uUDgqLfz"));
    assert_eq!(s.subject.id, "u15578227990211");
    assert_eq!(s.subject.name, "portal_test01");
    assert_eq!(
        s.subject.email.as_deref(),
        Some("congcong1.chen@envision-digital.com")
    );
    assert_eq!(s.subject.phone.as_deref(), Some(""));
    assert_eq!(s.subject.kind, SubjectKind::OrgAdmin);
    assert_eq!(s.auth_method, AuthMethod::Password);
    let working = s.working_org.as_deref().unwrap();
    assert_eq!(working.id, "o15578227985571");
    assert_eq!(working.domain.as_deref(), Some("db_portal_test01"));
    assert_eq!(s.home_org.as_deref().unwrap().domain, None);
    assert_eq!(s.created, UnixTime(1_562_849_746));
    assert_eq!(s.refreshed, NOW);
    assert_eq!(s.expires_at, UnixTime(1_562_850_052 + 7200));
    assert_eq!(s.idle_timeout, Some(std::time::Duration::from_secs(7200)));
    assert_eq!(
        s.extra.get_str("enos.user.resourceId").as_deref(),
        Some("r15578227990212")
    );
}

#[test]
fn login_response_renders_back_exactly() {
    let s = session_of(LOGIN_RESPONSE);
    assert_eq!(login_response(&s, NOW), json(LOGIN_RESPONSE));
}

#[test]
fn session_info_response_renders_back_exactly() {
    let s = session_of(SESSION_INFO);
    assert_eq!(
        s.extra.get("enos.user.password_expire_time"),
        Some(serde_json::json!(1.601192046E12))
    );
    assert_eq!(session_info_response(&s, NOW), json(SESSION_INFO));
    assert_eq!(session_json(&s, NOW), json(SESSION_INFO)["session"]);
}

/// The sample's text without the whitespace between tokens: what EnOS puts on the wire.
fn compact(sample: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in sample.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[test]
fn rendered_bytes_are_the_samples_keys_in_order_and_numbers_as_written() {
    // Byte for byte: every key in the sample's order (compared as a list, not a set), and
    // `1.601192046E12` / `0.0` as EnOS (Java) writes them.
    for (sample, render) in [
        (
            SESSION_INFO,
            session_info_response as fn(&Session, UnixTime) -> Value,
        ),
        (LOGIN_RESPONSE, login_response),
    ] {
        let s = session_of(sample);
        let bytes = to_vec(&render(&s, NOW));
        assert_eq!(String::from_utf8(bytes).unwrap(), compact(sample));
    }
}

#[test]
fn session_info_rendered_as_login_is_the_login_sample() {
    // The two samples describe the same session; the Log In user lacks the 4 info-only keys.
    let s = session_of(SESSION_INFO);
    assert_eq!(login_response(&s, NOW), json(LOGIN_RESPONSE));
}

#[test]
fn login_sample_rendered_as_session_info_gains_the_info_keys() {
    let s = session_of(LOGIN_RESPONSE);
    let info = session_info_response(&s, NOW);
    let user = info["session"]["user"].as_object().unwrap();
    assert_eq!(user.len(), 25);
    for key in [
        "guestOrganizations",
        "password_strength",
        "password_state",
        "password_expire_time",
    ] {
        assert_eq!(user[key], Value::Null, "{key}");
    }
}

#[test]
fn later_rendering_keeps_expires_as_enos_writes_it() {
    // EnOS's `expires` is the lifetime from `refreshTime` (the Log In sample: 7200), not a
    // countdown: a cached session answered later says the same, and the expiry it implies,
    // refreshTime + expires, is the session's.
    let s = session_of(LOGIN_RESPONSE);
    let later = UnixTime(NOW.0 + 1000);
    let v = session_info_response(&s, later);
    assert_eq!(v["session"]["expires"], 7200);
    assert_eq!(v["session"]["refreshTime"], NOW.0);
    assert_eq!(NOW.0 + 7200, s.expires_at.as_secs());
}
