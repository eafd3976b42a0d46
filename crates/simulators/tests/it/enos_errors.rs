//! EnOS IAM: every error code path.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn wrong_principal_password_or_body_is_30400() {
    let sim = enos(&opts()).await;
    for body in [
        login_body("portal_test01", "wrong"),
        login_body("nobody", DEMO_PASSWORD),
        json!({"authType": 0, "principal": "portal_test01"}),
        json!({"authType": 3, "principal": "portal_test01", "credentials": DEMO_PASSWORD}),
        json!({"authType": 1, "principal": "ldap_user01", "credentials": DEMO_PASSWORD}),
        json!([1, 2]),
    ] {
        let (status, resp) = enos_post(&sim, "login", None, Some(body.clone())).await;
        assert_eq!(status, 200, "{body}");
        assert_enos_failure(&resp, 30400);
    }
    let resp = client()
        .post(enos_url(&sim, "login"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_enos_failure(&resp.json().await.unwrap(), 30400);
}

#[tokio::test]
async fn unknown_ldap_link_is_30404() {
    let sim = enos(&opts()).await;
    let body = json!({"authType": 1, "linkName": "no-such-link",
                      "principal": "ldap_user01", "credentials": DEMO_PASSWORD});
    let (_, resp) = enos_post(&sim, "login", None, Some(body)).await;
    assert_enos_failure(&resp, 30404);
}

#[tokio::test]
async fn expired_password_is_30410_and_disabled_account_is_30511() {
    let sim = enos(&opts()).await;
    let (_, resp) = enos_post(
        &sim,
        "login",
        None,
        Some(login_body("expired_user01", DEMO_PASSWORD)),
    )
    .await;
    assert_enos_failure(&resp, 30410);
    let (_, resp) = enos_post(
        &sim,
        "login",
        None,
        Some(login_body("disabled_user01", DEMO_PASSWORD)),
    )
    .await;
    assert_enos_failure(&resp, 30511);
    // A wrong password is still just a wrong password.
    let (_, resp) = enos_post(
        &sim,
        "login",
        None,
        Some(login_body("disabled_user01", "x")),
    )
    .await;
    assert_enos_failure(&resp, 30400);
}

#[tokio::test]
async fn five_failures_lock_the_account_until_the_window_passes() {
    let opts = opts();
    let sim = enos(&opts).await;
    for i in 0..5 {
        // Different client IPs: only the account key accumulates.
        let mut body = login_body("portal_test01", "wrong");
        body["clientIp"] = json!(format!("10.0.0.{i}"));
        let (_, resp) = enos_post(&sim, "login", None, Some(body)).await;
        assert_enos_failure(&resp, 30400);
    }
    let mut good = login_body("portal_test01", DEMO_PASSWORD);
    good["clientIp"] = json!("10.0.0.99");
    for _ in 0..2 {
        let (_, resp) = enos_post(&sim, "login", None, Some(good.clone())).await;
        assert_enos_failure(&resp, 30429);
    }
    // Other accounts are not affected.
    let (_, resp) = enos_post(
        &sim,
        "login",
        None,
        Some(login_body("expired_user01", DEMO_PASSWORD)),
    )
    .await;
    assert_enos_failure(&resp, 30410);

    opts.clock.advance(Duration::from_secs(14 * 60 + 59));
    let (_, resp) = enos_post(&sim, "login", None, Some(good.clone())).await;
    assert_enos_failure(&resp, 30429);
    opts.clock.advance(Duration::from_secs(1));
    enos_login_ok(&sim, good).await;
}

#[tokio::test]
async fn five_failures_from_one_client_ip_lock_that_ip() {
    let opts = opts();
    let sim = enos(&opts).await;
    for i in 0..5 {
        let mut body = login_body(&format!("guess{i}"), "wrong");
        body["clientIp"] = json!("192.0.2.7");
        let (_, resp) = enos_post(&sim, "login", None, Some(body)).await;
        assert_enos_failure(&resp, 30400);
    }
    let mut from_ip = login_body("portal_test01", DEMO_PASSWORD);
    from_ip["clientIp"] = json!("192.0.2.7");
    let (_, resp) = enos_post(&sim, "login", None, Some(from_ip.clone())).await;
    assert_enos_failure(&resp, 30429);
    let mut elsewhere = login_body("portal_test01", DEMO_PASSWORD);
    elsewhere["clientIp"] = json!("192.0.2.8");
    enos_login_ok(&sim, elsewhere).await;

    // Without clientIp the peer address counts: the test client is 127.0.0.1.
    for _ in 0..5 {
        let (_, resp) = enos_post(&sim, "login", None, Some(login_body("nobody", "x"))).await;
        assert_enos_failure(&resp, 30400);
    }
    let (_, resp) = enos_post(
        &sim,
        "login",
        None,
        Some(login_body("portal_test01", DEMO_PASSWORD)),
    )
    .await;
    assert_enos_failure(&resp, 30429);
    opts.clock.advance(Duration::from_secs(15 * 60));
    enos_login_ok(&sim, from_ip).await;
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_30401() {
    let sim = enos(&opts()).await;
    let (_, resp) = enos_post(&sim, "session/info", None, None).await;
    assert_enos_failure(&resp, 30401);
    for auth in [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwdw==",
        "IAM_S_tooshort",
        "garbage",
    ] {
        let (_, resp) = enos_post(&sim, "session/info", Some(auth), None).await;
        assert_enos_failure(&resp, 30401);
    }
}

#[tokio::test]
async fn unknown_or_expired_session_is_30404() {
    let opts = opts();
    let sim = enos(&opts).await;
    let unknown = format!("Bearer IAM_S_{}", "Z".repeat(128));
    let (_, resp) = enos_post(&sim, "session/info", Some(&unknown), None).await;
    assert_enos_failure(&resp, 30404);

    let mut body = login_body("portal_test01", DEMO_PASSWORD);
    body["expireInterval"] = json!(900);
    let login = enos_login_ok(&sim, body).await;
    let id = login["session"]["id"].as_str().unwrap().to_owned();
    opts.clock.advance(Duration::from_secs(899));
    let (_, resp) = enos_post(&sim, "session/info", Some(&id), None).await;
    assert_eq!(resp["status"], 0, "still valid at 899 s: {resp}");
    // That call refreshed it: 900 s from now it is gone.
    opts.clock.advance(Duration::from_secs(900));
    let (_, resp) = enos_post(&sim, "session/info", Some(&id), None).await;
    assert_enos_failure(&resp, 30404);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_http_errors_counted_as_other() {
    let sim = enos(&opts()).await;
    let (status, resp) = enos_post(&sim, "no/such/op", None, None).await;
    assert_eq!(status, 404);
    assert_enos_failure(&resp, 404);
    let resp = client().get(enos_url(&sim, "login")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_enos_failure(&resp.json().await.unwrap(), 405);
    assert_eq!(sim.count("enos.other"), 2);
    assert_eq!(sim.count("enos.login"), 0);
}
