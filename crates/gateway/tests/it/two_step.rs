//! The two-step Net iD login through every face: a certificate alone (public by nature) never
//! yields a session or a token; the answer made with its private key does.

use serde_json::{Value, json};

use crate::common::{self, Harness, xml_text};

const UNIFIED_SOAP: &str = "/idbridge/soap";

/// A unified SOAP `Login` with these children (after `Backend`); answers (status, body).
async fn usoap_login(h: &Harness, children: &str) -> (u16, String) {
    let envelope = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Login xmlns="urn:idbridge:v1"><Backend>netid</Backend>{children}</Login></s:Body></s:Envelope>"#
    );
    let resp = h
        .http
        .post(h.url(UNIFIED_SOAP))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"urn:idbridge:v1/Login\"")
        .body(envelope)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// What the gateway says about `id` on the Net iD, EnOS and unified faces: none may call it a
/// live session.
async fn assert_not_logged_in(h: &Harness, id: &str) {
    let (_, v) = h.netid_status(id, 1).await;
    assert_ne!(v["IsLoggedIn"], "True", "{v}");
    assert_ne!(v["Status"]["Code"], "Success", "{v}");
    let (_, v) = h.enos_info(&format!("Bearer {id}")).await;
    assert_ne!(v["status"], 0, "{v}");
    assert_eq!(h.unified_session(id).await.0, 401);
}

#[tokio::test]
async fn a_certificate_alone_never_logs_in() {
    let h = common::start().await;
    let base = h.gw.base_url();

    // Native REST: the portal's challenge passes untouched, with no token and no session.
    let step1 = json!({"Certificate": common::demo_cert(), "DateTime": "2026-11-23T10:00:00Z"});
    let resp = h
        .http
        .post(h.url("/api/login"))
        .json(&step1)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("x-idbridge-token").is_none());
    let v: Value = resp.json().await.unwrap();
    let rest_id = v["SessionId"].as_str().unwrap().to_owned();
    assert_not_logged_in(&h, &rest_id).await;

    // Native SOAP: the same.
    let info = format!(
        "<Certificate>{}</Certificate><DateTime>2026-11-23T10:00:00Z</DateTime>",
        common::demo_cert()
    );
    let (status, xml) = h.soap("Login", &info).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml_text(&xml, "Value").is_some(), "{xml}");
    assert_not_logged_in(&h, &xml_text(&xml, "SessionId").unwrap()).await;

    // Unified REST: a challenge, never a token.
    let (status, v) = h
        .post_json(
            &base,
            "/idbridge/v1/login",
            None,
            json!({"backend": "netid", "certificate": common::demo_cert()}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["challenge"],
        "{v}"
    );
    let challenge = v["challenge"].clone();
    let id = challenge["session_id"].as_str().unwrap();
    assert_eq!(
        challenge["server_certificate"].as_str().map(str::len),
        Some(
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../config/demo/netid-server.cer"
            ))
            .unwrap()
            .trim()
            .len()
        )
    );
    assert_not_logged_in(&h, id).await;

    // Unified SOAP: a Challenge, never a Token.
    let cert = format!("<Certificate>{}</Certificate>", common::demo_cert());
    let (status, xml) = usoap_login(&h, &cert).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<Challenge><SessionId>"), "{xml}");
    assert!(!xml.contains("<Token>"), "{xml}");

    // A wrong answer is a failed login, and ends the attempt: the right one is too late.
    let value = challenge["value"].as_str().unwrap();
    let wrong = json!({"backend": "netid", "session_id": id, "answer": "d3Jvbmc="});
    let (status, v) = h.post_json(&base, "/idbridge/v1/login", None, wrong).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("bad_credentials")),
        "{v}"
    );
    let right = json!({"backend": "netid", "session_id": id, "answer": common::answer(id, value)});
    let (status, v) = h.post_json(&base, "/idbridge/v1/login", None, right).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("bad_credentials")),
        "{v}"
    );
    assert_not_logged_in(&h, id).await;

    // Step 2 with step 1's fields is refused before any upstream call.
    let mixed = json!({"backend": "netid", "session_id": id, "answer": "YQ==",
                       "certificate": common::demo_cert()});
    let logins = h.netid.count("netid.login");
    let (status, v) = h.post_json(&base, "/idbridge/v1/login", None, mixed).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{v}"
    );
    assert_eq!(h.netid.count("netid.login"), logins);

    let metrics = h.metrics().await;
    assert!(
        metrics.contains(r#"idbridge_logins_total{backend="netid",outcome="challenged"} 4"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"idbridge_logins_total{backend="netid",outcome="success"} 0"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn both_steps_log_in_through_every_face() {
    let h = common::start().await;

    // Native REST and SOAP: the session is John Doe's, answered from the cache afterwards.
    for id in [h.netid_login().await, h.netid_soap_login().await] {
        let (status, v) = h.netid_status(&id, 2).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            (v["IsLoggedIn"].as_str(), v["Name"].as_str()),
            (Some("True"), Some("John Doe")),
            "{v}"
        );
    }

    // Unified REST: step 2 answers the token and the session.
    let (status, v) = h.unified_netid_login().await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["session"]["subject"]["name"], "John Doe", "{v}");
    let token = v["token"].as_str().unwrap();
    assert_eq!(h.unified_session(token).await.0, 200);

    // Unified SOAP: the same two steps.
    let cert = format!("<Certificate>{}</Certificate>", common::demo_cert());
    let (_, xml) = usoap_login(&h, &cert).await;
    let id = xml_text(&xml, "SessionId").unwrap();
    let value = xml_text(&xml, "Value").unwrap();
    let answer = format!(
        "<SessionId>{id}</SessionId><Answer>{}</Answer>",
        common::answer(&id, &value)
    );
    let (status, xml) = usoap_login(&h, &answer).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<Token>"), "{xml}");
    assert!(xml.contains("<Name>John Doe</Name>"), "{xml}");

    let metrics = h.metrics().await;
    assert!(
        metrics.contains(r#"idbridge_logins_total{backend="netid",outcome="success"} 4"#),
        "{metrics}"
    );
    // A challenge is a step that went as it should, not a refusal.
    for face in ["netid_rest", "netid_soap"] {
        let ok = format!(
            r#"idbridge_requests_total{{backend="netid",face="{face}",operation="login",outcome="ok"}} 2"#
        );
        assert!(metrics.contains(&ok), "{ok}\n{metrics}");
    }
    assert!(
        !metrics.contains(r#"operation="login",outcome="rejected""#),
        "{metrics}"
    );
}
