//! Net iD through the gateway (REST and SOAP), the call counter, and bridging across protocols.

use crate::common;

use common::xml_text;
use serde_json::json;

#[tokio::test]
async fn rest_login_then_status_is_answered_from_the_cache() {
    let h = common::start().await;
    let id = h.netid_login().await;
    // The gateway asked for the status once, right after login, to fill its cache.
    assert_eq!(h.netid.count("netid.get_login_status"), 1);
    for count in 1..=3 {
        let (status, v) = h.netid_status(&id, count).await;
        assert_eq!(status, 200);
        assert_eq!(v["Status"]["Code"], "Success", "{v}");
        assert_eq!(
            v["Count"],
            count.to_string(),
            "the client's Count is echoed"
        );
        assert_eq!(v["Name"], "John Doe");
        assert_eq!(v["IsLoggedIn"], "True");
        assert_eq!(v["OrganizationName"], "Contoso Ltd");
        assert_eq!(
            v["OrganizationList"][0]["PresentationInfo"],
            "Pointsharp AB"
        );
    }
    assert_eq!(
        h.netid.count("netid.get_login_status"),
        1,
        "no new upstream calls"
    );
}

#[tokio::test]
async fn soap_login_and_status() {
    let h = common::start().await;
    let id = h.netid_soap_login().await;

    let (status, xml) = h
        .soap(
            "GetLoginStatus",
            &format!("<SessionId>{id}</SessionId><Count>7</Count>"),
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{xml}"
    );
    assert_eq!(xml_text(&xml, "Count").as_deref(), Some("7"));
    assert_eq!(xml_text(&xml, "Name").as_deref(), Some("John Doe"));
    assert_eq!(xml_text(&xml, "IsLoggedIn").as_deref(), Some("True"));
    assert_eq!(h.netid.count("netid.get_login_status"), 1);
}

#[tokio::test]
async fn bridging_in_both_directions() {
    let h = common::start().await;
    let enos_id = h.enos_login().await;
    let netid_id = h.netid_login().await;

    // Net iD REST and SOAP clients ask about an EnOS session.
    let (_, v) = h.netid_status(&enos_id, 1).await;
    assert_eq!(v["Status"]["Code"], "Success", "{v}");
    assert_eq!(v["IsLoggedIn"], "True");
    assert_eq!(v["Name"], "portal_test01");
    assert_eq!(v["OrganizationName"], "portal_test01");
    let (_, xml) = h
        .soap(
            "GetLoginStatus",
            &format!("<SessionId>{enos_id}</SessionId><Count>2</Count>"),
        )
        .await;
    assert_eq!(
        xml_text(&xml, "Name").as_deref(),
        Some("portal_test01"),
        "{xml}"
    );

    // An EnOS client asks about a Net iD session.
    let (status, v) = h.enos_info(&format!("Bearer {netid_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["session"]["user"]["name"], "John Doe");
    assert_eq!(v["session"]["workingOrganization"]["name"], "Contoso Ltd");

    // Only the gateway's own calls right after each login.
    assert_eq!(h.enos.count("enos.session_info"), 1);
    assert_eq!(h.netid.count("netid.get_login_status"), 1);
}

#[tokio::test]
async fn the_upstream_never_sees_a_repeated_count() {
    // Revalidate on every call: each status goes upstream. The client counts from 1, unaware
    // that the gateway already used count 1 upstream right after the login.
    let h = common::start_with(|c| c.cache.revalidate_after = std::time::Duration::ZERO).await;
    let id = h.netid_login().await;
    for count in 1..=5 {
        let (_, v) = h.netid_status(&id, count).await;
        assert_eq!(v["Status"]["Code"], "Success", "{v}");
        assert_eq!(
            v["Count"],
            count.to_string(),
            "the client sees its own Count"
        );
    }
    assert_eq!(h.netid.count("netid.get_login_status"), 6);
}

#[tokio::test]
async fn logout_over_rest_and_soap() {
    let h = common::start().await;
    let id = h.netid_login().await;
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/api/logout",
            None,
            json!({"SessionId": id, "Count": "2"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["Status"]["Code"], "Success", "{v}");
    assert_eq!(h.netid.count("netid.logout"), 1);
    let (_, v) = h.netid_status(&id, 3).await;
    assert_eq!(v["IsLoggedIn"], "False", "{v}");
    assert_ne!(v["Status"]["Code"], "Success");

    let id = h.netid_login().await;
    let (status, xml) = h
        .soap(
            "Logout",
            &format!("<SessionId>{id}</SessionId><Count>2</Count>"),
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(xml_text(&xml, "Code").as_deref(), Some("Success"), "{xml}");
    let (_, xml) = h
        .soap(
            "GetLoginStatus",
            &format!("<SessionId>{id}</SessionId><Count>3</Count>"),
        )
        .await;
    assert_eq!(
        xml_text(&xml, "IsLoggedIn").as_deref(),
        Some("False"),
        "{xml}"
    );
}

/// Answers are kept rendered per session and face (`cache.max_rendered_bytes`): each call still
/// gets its own `Count` and `IdleExpiration`, each face its own binding, and nothing kept outlives
/// a logout.
#[tokio::test]
async fn kept_answers_take_each_calls_values_and_end_with_the_session() {
    let h = common::start().await;
    let id = h.netid_login().await;
    let (_, first) = h.netid_status(&id, 1).await;
    for count in [2, 5, 9] {
        let (status, v) = h.netid_status(&id, count).await;
        assert_eq!(status, 200);
        assert_eq!(v["Count"], count.to_string(), "{v}");
        let idle: u64 = v["IdleExpiration"].as_str().unwrap().parse().unwrap();
        assert!(idle > 0 && idle <= 1800, "{v}");
        let (mut a, mut b) = (first.clone(), v.clone());
        for v in [&mut a, &mut b] {
            v["Count"] = json!(null);
            v["IdleExpiration"] = json!(null);
        }
        assert_eq!(a, b, "only Count and IdleExpiration change between calls");
        let (status, xml) = h
            .soap(
                "GetLoginStatus",
                &format!("<SessionId>{id}</SessionId><Count>{}</Count>", count + 1),
            )
            .await;
        assert_eq!(status, 200, "{xml}");
        assert_eq!(xml_text(&xml, "Count"), Some((count + 1).to_string()));
        assert_eq!(xml_text(&xml, "Name").as_deref(), Some("John Doe"));
    }
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/api/logout",
            None,
            json!({"SessionId": id, "Count": "20"}),
        )
        .await;
    assert_eq!((status, &v["Status"]["Code"]), (200, &json!("Success")));
    let (_, v) = h.netid_status(&id, 21).await;
    assert_eq!(v["IsLoggedIn"], "False", "{v}");
    assert_eq!(h.netid.count("netid.get_login_status"), 1);
}

#[tokio::test]
async fn other_netid_calls_pass_through_untouched() {
    let h = common::start().await;
    let body = json!({"Type": "ApplicationInfo"});
    let via_gw = h
        .post_json(&h.gw.base_url(), "/api/object/get", None, body.clone())
        .await;
    let direct = h
        .post_json(&h.netid.base_url(), "/api/object/get", None, body)
        .await;
    assert_eq!(via_gw.0, 200);
    assert_eq!(via_gw, direct);

    let unknown = h
        .post_json(&h.gw.base_url(), "/api/no/such/thing", None, json!({}))
        .await;
    let direct = h
        .post_json(&h.netid.base_url(), "/api/no/such/thing", None, json!({}))
        .await;
    assert_eq!(unknown, direct);

    let (status, xml) = h.soap("GetObject", "<Type>ApplicationInfo</Type>").await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<ApplicationInfo><Name>"), "{xml}");
    assert_eq!(h.netid.count("netid.get_object"), 3);

    let wsdl = h
        .http
        .get(h.url("/portal/service.svc?wsdl"))
        .send()
        .await
        .unwrap();
    assert_eq!(wsdl.status(), 200);
    assert!(wsdl.text().await.unwrap().contains("definitions"));
}
