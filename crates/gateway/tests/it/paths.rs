//! Canonical paths: no disguise of an intercepted path gets past interception, and a wrong method
//! on a path only the gateway answers is 405 with `Allow`.

use serde_json::json;

use crate::common::{self, soap_action};
use crate::raw;

/// Disguises of `path` a lenient server (or the backend behind the gateway) reads as `path`.
fn disguises(path: &str) -> Vec<String> {
    let (parent, last) = path.rsplit_once('/').unwrap();
    vec![
        format!("/{path}"),
        format!("{parent}//{last}"),
        format!("{parent}/./{last}"),
        format!("{parent}/x/../{last}"),
        format!("{path};a=b"),
        format!("{parent}%2F{last}"),
        format!("{parent}/%2E/{last}"),
        format!("{path}%2F"),
        format!(
            "{}%{:02X}",
            &path[..path.len() - 1],
            path.as_bytes()[path.len() - 1]
        ),
        format!("{path}/"),
        format!("{path}//"),
        path.to_ascii_uppercase(),
    ]
}

#[tokio::test]
async fn disguised_net_id_logouts_are_refused_and_never_reach_the_portal() {
    let h = common::start().await;
    let id = h.netid_login().await;
    let body = json!({"SessionId": id, "Count": "2"}).to_string();
    let json = [("Content-Type", "application/json")];
    for path in disguises("/api/logout") {
        let r = raw::request(&h, "POST", &path, &json, &body).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(
            r.json()["Status"]["Code"],
            "InvalidInput",
            "{path}: {}",
            r.body
        );
        assert!(r.body.contains("not canonical"), "{path}: {}", r.body);
    }
    let soap = common::soap_envelope(
        "Logout",
        &format!("<SessionId>{id}</SessionId><Count>2</Count>"),
    );
    let action = soap_action("Logout");
    let headers = [
        ("Content-Type", "text/xml"),
        ("SOAPAction", action.as_str()),
    ];
    for path in disguises("/portal/service.svc") {
        let r = raw::request(&h, "POST", &path, &headers, &soap).await;
        assert_eq!(r.status, 500, "{path}: {}", r.body);
        assert!(r.body.contains("s:Client"), "{path}: {}", r.body);
    }
    assert_eq!(
        h.netid.count("netid.logout"),
        0,
        "a disguised logout got through"
    );
    let (_, v) = h.netid_status(&id, 3).await;
    assert_eq!(v["IsLoggedIn"], "True", "{v}");

    // The canonical path still logs out: the refusals above were not the only possible answer.
    let r = raw::request(
        &h,
        "POST",
        "/api/logout",
        &json,
        &json!({"SessionId": id, "Count": "4"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.netid.count("netid.logout"), 1);
}

#[tokio::test]
async fn disguised_enos_and_unified_logouts_are_refused_in_their_own_protocol() {
    let h = common::start().await;
    let token = h.enos_login().await;
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    for path in disguises("/enos-iam-service/v2.0/logout") {
        let r = raw::request(&h, "POST", &path, &headers, "{}").await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        let v = r.json();
        assert_eq!(v["success"], false, "{path}: {v}");
        assert_eq!(v["status"], 400, "{path}: {v}");
    }
    for path in disguises("/idbridge/v1/logout") {
        let r = raw::request(&h, "POST", &path, &headers, "").await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "bad_path", "{path}: {}", r.body);
    }
    assert_eq!(
        h.enos.count("enos.logout"),
        0,
        "a disguised logout got through"
    );
    let r = raw::request(
        &h,
        "POST",
        "/enos-iam-service/v2.0/session/info",
        &headers,
        "{}",
    )
    .await;
    assert_eq!(r.json()["success"], true, "{}", r.body);
}

#[tokio::test]
async fn a_wrong_method_on_a_gateway_path_is_405_with_allow() {
    let h = common::start().await;
    for (method, path, allow) in [
        ("GET", "/idbridge/v1/login", "POST"),
        ("DELETE", "/idbridge/v1/session", "GET, HEAD"),
        ("POST", "/idbridge/v1/session", "GET, HEAD"),
        ("PUT", "/idbridge/v1/logout", "POST"),
        ("POST", "/.well-known/jwks.json", "GET, HEAD"),
        ("PATCH", "/idbridge/v1/openapi.json", "GET, HEAD"),
    ] {
        let r = raw::request(&h, method, path, &[], "").await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.body);
        assert_eq!(
            r.headers.get("allow").map(String::as_str),
            Some(allow),
            "{method} {path}"
        );
        assert_eq!(
            r.json()["error"]["code"],
            "method_not_allowed",
            "{method} {path}"
        );
    }
    // HEAD is GET without a body.
    let r = raw::request(&h, "HEAD", "/.well-known/jwks.json", &[], "").await;
    assert_eq!(r.status, 200);
}
