//! EnOS IAM: the happy paths and the response shapes against the vendor samples.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn login_with_the_vendor_request_shape_answers_the_log_in_sample_keys() {
    let opts = opts();
    let sim = enos(&opts).await;
    let mut body: Value = serde_json::from_str(&data("enos-login-request.json")).unwrap();
    body["principal"] = json!("portal_test01");
    body["credentials"] = json!(DEMO_PASSWORD);
    let resp = enos_login_ok(&sim, body).await;

    let sample: Value = serde_json::from_str(&data("enos-login-response.json")).unwrap();
    assert_same_keys_in_order(&resp, &sample, "$");
    for key in [
        "fail",
        "success",
        "failed",
        "successful",
        "status",
        "message",
        "requestId",
    ] {
        assert_eq!(resp[key], sample[key], "{key}");
    }
    assert_eq!(resp["captcha"], "");

    let session = &resp["session"];
    assert!(
        is_enos_session_id(session["id"].as_str().unwrap()),
        "{session}"
    );
    // The sample request asks for 3600 s, inside the clamp range.
    assert_eq!(session["expires"], 3600);
    let now = opts.clock.now_secs();
    assert_eq!(session["createTime"], now);
    assert_eq!(session["refreshTime"], now);
    // The demo account carries the vendor sample's data.
    assert_eq!(session["user"], sample["session"]["user"]);
    assert_eq!(
        session["workingOrganization"],
        sample["session"]["workingOrganization"]
    );
    assert_eq!(
        session["residentOrganization"],
        sample["session"]["residentOrganization"]
    );
    assert_eq!(sim.count("enos.login"), 1);
}

#[tokio::test]
async fn session_info_accepts_bearer_and_bare_ids_and_answers_the_sample_keys() {
    let opts = opts();
    let sim = enos(&opts).await;
    let login = enos_login_ok(&sim, login_body("portal_test01", DEMO_PASSWORD)).await;
    let id = login["session"]["id"].as_str().unwrap().to_owned();
    assert_eq!(login["session"]["expires"], 7200, "the default lifetime");
    let sample: Value = serde_json::from_str(&data("enos-session-info-response.json")).unwrap();

    // Numbers as EnOS (Java) writes them, as in the sample.
    let text = client()
        .post(enos_url(&sim, "session/info"))
        .header("Authorization", &id)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for written in [
        r#""password_state":0.0,"password_expire_time":1.601192046E12,"#,
        r#""expires":7200,"#,
    ] {
        assert!(text.contains(written), "{written} in {text}");
    }

    for auth in [format!("Bearer {id}"), id.clone()] {
        let (status, resp) = enos_post(&sim, "session/info", Some(&auth), None).await;
        assert_eq!(status, 200);
        assert_eq!(resp["status"], 0, "{resp}");
        assert_same_keys_in_order(&resp, &sample, "$");
        assert_eq!(resp["session"]["id"], id.as_str());
        assert_eq!(resp["session"]["user"]["id"], "u15578227990211");
        assert_eq!(
            resp["session"]["user"]["email"],
            "congcong1.chen@envision-digital.com"
        );
        assert_eq!(resp["session"]["user"]["password_strength"], "MEDIUM");
        assert_eq!(
            resp["session"]["workingOrganization"]["domain"],
            "db_portal_test01"
        );
        assert_eq!(
            resp["session"]["residentOrganization"]["domain"],
            Value::Null
        );
    }
    assert_eq!(sim.count("enos.session_info"), 3);
}

#[tokio::test]
async fn session_info_slides_the_expiry() {
    let opts = opts();
    let sim = enos(&opts).await;
    let mut body = login_body("portal_test01", DEMO_PASSWORD);
    body["expireInterval"] = json!(1000);
    let login = enos_login_ok(&sim, body).await;
    let id = login["session"]["id"].as_str().unwrap().to_owned();
    let created = login["session"]["createTime"].as_u64().unwrap();

    // Refreshing every 900 s keeps a 1000 s session alive well past its first 1000 s.
    for step in 1..=3u64 {
        opts.clock.advance(Duration::from_secs(900));
        let (_, resp) = enos_post(&sim, "session/info", Some(&id), None).await;
        assert_eq!(resp["status"], 0, "step {step}: {resp}");
        assert_eq!(resp["session"]["createTime"], created);
        assert_eq!(resp["session"]["refreshTime"], created + 900 * step);
        assert_eq!(resp["session"]["expires"], 1000);
    }
}

#[tokio::test]
async fn expire_interval_is_clamped_both_ways() {
    let sim = enos(&opts()).await;
    for (asked, got) in [
        (60, 900),
        (10_000_000, 864_000),
        (900, 900),
        (864_000, 864_000),
    ] {
        let mut body = login_body("portal_test01", DEMO_PASSWORD);
        body["expireInterval"] = json!(asked);
        let resp = enos_login_ok(&sim, body).await;
        assert_eq!(resp["session"]["expires"], got, "asked {asked}");
    }
}

#[tokio::test]
async fn ldap_login_through_the_link() {
    let sim = enos(&opts()).await;
    let body = json!({
        "authType": 1, "linkName": "corp-ldap",
        "principal": "ldap_user01", "credentials": DEMO_PASSWORD,
    });
    let resp = enos_login_ok(&sim, body).await;
    assert_eq!(resp["session"]["user"]["authType"], 1);
    assert_eq!(
        resp["session"]["workingOrganization"]["id"],
        "o16000000000001"
    );
    // The LDAP account is not an EnOS (authType 0) account.
    let (_, resp) = enos_post(
        &sim,
        "login",
        None,
        Some(login_body("ldap_user01", DEMO_PASSWORD)),
    )
    .await;
    assert_enos_failure(&resp, 30400);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let sim = enos(&opts()).await;
    let login = enos_login_ok(&sim, login_body("portal_test01", DEMO_PASSWORD)).await;
    let auth = format!("Bearer {}", login["session"]["id"].as_str().unwrap());

    let (status, resp) = enos_post(&sim, "logout", Some(&auth), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        resp,
        json!({"fail": false, "success": true, "failed": false, "successful": true,
               "status": 0, "message": "", "requestId": null})
    );
    // A logged-out id is a revoked token: "not valid", not "not found".
    let (_, resp) = enos_post(&sim, "session/info", Some(&auth), None).await;
    assert_enos_failure(&resp, 30401);
    let (_, resp) = enos_post(&sim, "logout", Some(&auth), None).await;
    assert_enos_failure(&resp, 30401);
    let (_, resp) = enos_post(&sim, "logout", None, None).await;
    assert_enos_failure(&resp, 30401);
    assert_eq!(sim.count("enos.logout"), 3);
}

#[tokio::test]
async fn organization_info_answers_directory_organisations() {
    let sim = enos(&opts()).await;
    let login = enos_login_ok(&sim, login_body("portal_test01", DEMO_PASSWORD)).await;
    let id = login["session"]["id"].as_str().unwrap().to_owned();

    let body = json!({"id": "o15578227985571"});
    let (status, resp) = enos_post(&sim, "organization/info", Some(&id), Some(body.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(resp["status"], 0, "{resp}");
    assert_eq!(
        resp["organization"],
        json!({"id": "o15578227985571", "name": "portal_test01", "domain": "db_portal_test01",
               "description": "The organisation of the vendor's Log In and session/info samples"})
    );
    let (_, resp) = enos_post(
        &sim,
        "organization/info",
        Some(&id),
        Some(json!({"id": "o0"})),
    )
    .await;
    assert_enos_failure(&resp, 30404);
    let (_, resp) = enos_post(&sim, "organization/info", Some(&id), Some(json!({"x": 1}))).await;
    assert_enos_failure(&resp, 30400);
    let (_, resp) = enos_post(&sim, "organization/info", None, Some(body.clone())).await;
    assert_enos_failure(&resp, 30401);
    let unknown = format!("IAM_S_{}", "a".repeat(128));
    let (_, resp) = enos_post(&sim, "organization/info", Some(&unknown), Some(body)).await;
    assert_enos_failure(&resp, 30404);
    assert_eq!(sim.count("enos.organization_info"), 5);
}
