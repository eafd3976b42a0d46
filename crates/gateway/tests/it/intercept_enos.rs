//! EnOS IAM through the gateway: login, cached session/info, logout, pass-through.

use crate::common;

use serde_json::json;

#[tokio::test]
async fn login_then_session_info_is_answered_from_the_cache() {
    let h = common::start().await;
    let id = h.enos_login().await;
    assert_eq!(h.enos.count("enos.login"), 1);
    // The gateway asked session/info once after login: the Log In answer lacks the password fields.
    assert_eq!(h.enos.count("enos.session_info"), 1);

    for auth in [format!("Bearer {id}"), id.clone(), format!("bearer {id}")] {
        let (status, v) = h.enos_info(&auth).await;
        assert_eq!(status, 200);
        assert_eq!(v["success"], true, "{v}");
        assert_eq!(v["session"]["id"], id.as_str());
        assert_eq!(v["session"]["user"]["name"], "portal_test01");
        assert_eq!(v["session"]["workingOrganization"]["id"], "o15578227985571");
        assert_eq!(v["session"]["user"]["password_strength"], "MEDIUM", "{v}");
        assert_eq!(v["session"]["user"]["password_state"], 0.0);
    }
    assert_eq!(
        h.enos.count("enos.session_info"),
        1,
        "every session/info was a cache hit"
    );
}

#[tokio::test]
async fn the_login_answer_is_the_backends_byte_for_byte() {
    let h = common::start().await;
    let body = json!({"authType": 0, "principal": "portal_test01", "credentials": "wrong"});
    let via_gw = h
        .post_json(
            &h.gw.base_url(),
            "/enos-iam-service/v2.0/login",
            None,
            body.clone(),
        )
        .await;
    assert_eq!(via_gw.0, 200);
    assert_eq!(via_gw.1["status"], 30400);
    assert_eq!(via_gw.1["success"], false);
    let direct = h
        .post_json(
            &h.enos.base_url(),
            "/enos-iam-service/v2.0/login",
            None,
            body,
        )
        .await;
    assert_eq!(via_gw, direct);
}

#[tokio::test]
async fn an_unknown_session_is_fetched_once_and_then_cached() {
    let h = common::start().await;
    let id = h.enos_login_direct().await;
    for _ in 0..3 {
        let (status, v) = h.enos_info(&format!("Bearer {id}")).await;
        assert_eq!(status, 200);
        assert_eq!(v["session"]["id"], id.as_str());
    }
    assert_eq!(h.enos.count("enos.session_info"), 1);
}

#[tokio::test]
async fn invalid_and_unknown_ids_answer_as_the_backend_would() {
    let h = common::start().await;
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/enos-iam-service/v2.0/session/info",
            None,
            json!({}),
        )
        .await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(30401)), "{v}");
    let (status, v) = h.enos_info("Bearer IAM_S_malformed").await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(30401)), "{v}");
    let unknown = format!("Bearer IAM_S_{}", "A".repeat(128));
    let (status, v) = h.enos_info(&unknown).await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(30404)), "{v}");
    assert_eq!(
        v.as_object().unwrap().len(),
        7,
        "failure envelope only: {v}"
    );
}

#[tokio::test]
async fn logout_ends_the_session_everywhere() {
    let h = common::start().await;
    let id = h.enos_login().await;
    // The answer is now kept rendered (`cache.max_rendered_bytes`); it must not outlive the logout.
    let (status, v) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    let (status, v) = h.enos_logout(&format!("Bearer {id}")).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    assert_eq!(h.enos.count("enos.logout"), 1);

    let (status, v) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(30401)), "{v}");
    // And the backend agrees: the session is gone upstream too.
    let direct = h
        .post_json(
            &h.enos.base_url(),
            "/enos-iam-service/v2.0/session/info",
            Some(&id),
            json!({}),
        )
        .await;
    assert_ne!(direct.1["status"], 0);
}

#[tokio::test]
async fn other_enos_calls_pass_through_untouched() {
    let h = common::start().await;
    let id = h.enos_login().await;
    let body = json!({"id": "o15578227985571"});
    let path = "/enos-iam-service/v2.0/organization/info";
    let via_gw = h
        .post_json(&h.gw.base_url(), path, Some(&id), body.clone())
        .await;
    let direct = h.post_json(&h.enos.base_url(), path, Some(&id), body).await;
    assert_eq!(via_gw.0, 200);
    assert_eq!(
        via_gw.1["organization"]["id"], "o15578227985571",
        "{}",
        via_gw.1
    );
    assert_eq!(via_gw, direct);
    assert_eq!(h.enos.count("enos.organization_info"), 2);
}

#[tokio::test]
async fn unknown_paths_outside_the_backends_get_a_gateway_404() {
    let h = common::start().await;
    let resp = h.http.get(h.url("/nothing/here")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
}
