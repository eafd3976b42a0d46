//! Net iD's `Count`: the portal refuses a repeated or lower count per session, so the gateway,
//! which answers from its cache, must too, or a captured call replays forever.

use serde_json::{Value, json};

use crate::common::{self, Harness, xml_text};
use crate::limits::client_from;

async fn status_from(h: &Harness, client: &reqwest::Client, id: &str, count: &str) -> Value {
    let resp = client
        .post(h.url("/api/login/status/get"))
        .json(&json!({"SessionId": id, "Count": count}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "the portal answers a refused Count on 200"
    );
    resp.json().await.unwrap()
}

async fn logout_from(h: &Harness, client: &reqwest::Client, id: &str, count: &str) -> Value {
    let resp = client
        .post(h.url("/api/logout"))
        .json(&json!({"SessionId": id, "Count": count}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn code(v: &Value) -> &str {
    v["Status"]["Code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_repeated_or_lower_count_is_refused_per_session_and_client() {
    let h = common::start().await;
    let id = h.netid_login().await;
    let app = client_from("127.0.0.2");

    let v = status_from(&h, &app, &id, "5").await;
    assert_eq!(
        (code(&v), v["IsLoggedIn"].as_str()),
        ("Success", Some("True")),
        "{v}"
    );
    for replay in ["5", "4", "1", "0"] {
        let v = status_from(&h, &app, &id, replay).await;
        assert_eq!(code(&v), "InvalidCount", "Count {replay}: {v}");
        assert_eq!(v["Count"], replay, "the Count is echoed: {v}");
        assert!(
            v.get("Name").is_none(),
            "a refused call says nothing of the session: {v}"
        );
    }
    let v = status_from(&h, &app, &id, "6").await;
    assert_eq!(code(&v), "Success", "{v}");

    // Another client sharing the session keeps its own counter.
    let other = client_from("127.0.0.3");
    let v = status_from(&h, &other, &id, "1").await;
    assert_eq!(code(&v), "Success", "{v}");

    // A replayed logout is refused too, and leaves the session logged in.
    let v = logout_from(&h, &app, &id, "6").await;
    assert_eq!(code(&v), "InvalidCount", "{v}");
    let v = status_from(&h, &app, &id, "7").await;
    assert_eq!(
        (code(&v), v["IsLoggedIn"].as_str()),
        ("Success", Some("True")),
        "{v}"
    );
    let v = logout_from(&h, &app, &id, "8").await;
    assert_eq!(code(&v), "Success", "{v}");
}

#[tokio::test]
async fn a_replayed_soap_call_is_refused_as_the_portal_refuses_it() {
    let h = common::start().await;
    let id = h.netid_login().await;
    let info = |count: u32| format!("<SessionId>{id}</SessionId><Count>{count}</Count>");

    let (status, xml) = h.soap("GetLoginStatus", &info(3)).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(xml_text(&xml, "Code").as_deref(), Some("Success"), "{xml}");
    let (status, xml) = h.soap("GetLoginStatus", &info(3)).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        xml_text(&xml, "Code").as_deref(),
        Some("InvalidCount"),
        "{xml}"
    );
    assert_eq!(xml_text(&xml, "Count").as_deref(), Some("3"), "{xml}");
    assert_eq!(xml_text(&xml, "Name"), None, "{xml}");
    let (_, xml) = h.soap("Logout", &info(2)).await;
    assert_eq!(
        xml_text(&xml, "Code").as_deref(),
        Some("InvalidCount"),
        "{xml}"
    );
    let (_, xml) = h.soap("GetLoginStatus", &info(4)).await;
    assert_eq!(xml_text(&xml, "Code").as_deref(), Some("Success"), "{xml}");
}

#[tokio::test]
async fn made_up_sessions_keep_no_counter() {
    let h = common::start().await;
    let app = client_from("127.0.0.2");
    for count in ["1", "1", "1"] {
        let v = status_from(&h, &app, "bm90LWEtc2Vzc2lvbg==", count).await;
        assert_eq!(code(&v), "InvalidSession", "{v}");
    }
}
