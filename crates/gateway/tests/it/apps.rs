//! Protected apps hear who the user is from the gateway only, and never get the gateway's token
//! unless their route asks for it.

use serde_json::Value;

use crate::common::{self, app_route};
use crate::raw;
use crate::sso::{echo_app, enos_token};

/// What the app received, lower-cased: its request line and headers.
async fn head_seen(h: &common::Harness, path: &str, headers: &[(&str, &str)]) -> String {
    let r = raw::request(h, "GET", path, headers, "").await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str::<Value>(&r.body).unwrap()["head"]
        .as_str()
        .unwrap()
        .to_lowercase()
}

#[tokio::test]
async fn claimed_identities_in_any_spelling_and_the_token_never_reach_apps() {
    let app = echo_app().await;
    let h = common::start_with(|c| {
        c.routes = vec![
            app_route("/app/", &app, false),
            common::AppRoute {
                forward_credentials: true,
                ..app_route("/fwd/", &app, false)
            },
        ];
    })
    .await;
    let token = enos_token(&h).await;
    let bearer = format!("Bearer {token}");
    let cookie = format!("theme=dark; idbridge_token={token}; lang=sv");
    let claims = [
        ("X_Auth_Request_User", "mallory"),
        ("x-auth-request_email", "mallory@example.com"),
        ("X-AUTH-REQUEST-GROUPS", "admins"),
        ("X-Forwarded-User", "mallory"),
        ("x_forwarded_user", "mallory"),
        ("Remote-User", "mallory"),
        ("REMOTE_USER", "mallory"),
    ];
    let mut headers = claims.to_vec();
    headers.push(("Authorization", &bearer));
    headers.push(("Cookie", &cookie));

    let head = head_seen(&h, "/app/page", &headers).await;
    assert!(
        head.contains("x-auth-request-user: u15578227990211"),
        "{head}"
    );
    for claimed in ["mallory", "admins"] {
        assert!(
            !head.contains(claimed),
            "a claimed identity got through: {head}"
        );
    }
    assert!(
        !head.contains(&token.to_lowercase()),
        "the token got through: {head}"
    );
    assert!(!head.contains("authorization:"), "{head}");
    assert!(
        head.contains("cookie: theme=dark; lang=sv"),
        "other cookies stay: {head}"
    );

    // A route that asks for the credential gets it, and still no claimed identity.
    let head = head_seen(&h, "/fwd/page", &headers).await;
    assert!(
        head.contains(&format!("authorization: bearer {}", token.to_lowercase())),
        "{head}"
    );
    assert!(
        head.contains(&format!("idbridge_token={}", token.to_lowercase())),
        "{head}"
    );
    assert!(!head.contains("mallory"), "{head}");

    // The token from the cookie alone authorises too, and is dropped the same way.
    let head = head_seen(&h, "/app/page", &[("Cookie", &cookie)]).await;
    assert!(
        head.contains("x-auth-request-user: u15578227990211"),
        "{head}"
    );
    assert!(!head.contains(&token.to_lowercase()), "{head}");
}
