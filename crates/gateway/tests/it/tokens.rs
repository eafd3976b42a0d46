//! Gateway tokens carry their session sealed: they resolve whatever the cache holds, after a
//! restart, and die with their session.

use std::collections::HashSet;

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use serde_json::{Value, json};

use crate::common::{self, Harness};

async fn unified_login(h: &Harness, body: Value) -> String {
    let (status, v) = h
        .post_json(&h.gw.base_url(), "/idbridge/v1/login", None, body)
        .await;
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

/// A Net iD login through the unified face, both steps: the token.
async fn netid_token(h: &Harness) -> String {
    let (status, v) = h.unified_netid_login().await;
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

fn enos_login() -> Value {
    json!({"backend": "enos", "principal": common::DEMO_PRINCIPAL, "credentials": common::DEMO_PASSWORD})
}

/// A key directory with one Ed25519 signing key, as an operator would keep it.
pub fn key_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    std::fs::write(dir.path().join("2026-12.pem"), pem.as_bytes()).unwrap();
    dir
}

#[tokio::test]
async fn every_recent_token_resolves_whatever_the_cache_holds() {
    let h = common::start_with(|c| c.cache.max_sessions = 50).await;
    let mut tokens = Vec::new();
    for _ in 0..200 {
        tokens.push(netid_token(&h).await);
    }
    let subjects: HashSet<_> = tokens.iter().collect();
    assert_eq!(subjects.len(), 200, "200 distinct tokens");
    for (i, token) in tokens.iter().enumerate() {
        let (status, v) = h.unified_session(token).await;
        assert_eq!(status, 200, "token {i} of 200: {v}");
        assert_eq!(v["session"]["subject"]["name"], "John Doe");
    }
    // Most sessions had left the cache: they were asked of the portal again, with counts it
    // accepted (the simulator refuses a repeated Count).
    assert!(h.netid.count("netid.get_login_status") > 200);
}

#[tokio::test]
async fn tokens_outlive_a_restart_and_logged_out_sessions_stay_out() {
    let keys = key_dir();
    let dir = keys.path().to_path_buf();
    let h = common::start_with(move |c| c.tokens.key_dir = Some(dir)).await;
    let enos = unified_login(&h, enos_login()).await;
    let netid = netid_token(&h).await;
    let ended = unified_login(&h, enos_login()).await;
    let (status, _) = h
        .post_json(
            &h.gw.base_url(),
            "/idbridge/v1/logout",
            Some(&format!("Bearer {ended}")),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);

    let h = h.restart().await;
    let (status, v) = h.unified_session(&enos).await;
    assert_eq!(status, 200, "EnOS token after the restart: {v}");
    assert_eq!(v["session"]["backend"], "enos");
    let (status, v) = h.unified_session(&netid).await;
    assert_eq!(status, 200, "Net iD token after the restart: {v}");
    assert_eq!(v["session"]["subject"]["name"], "John Doe");
    let (status, v) = h.unified_session(&ended).await;
    assert_eq!(status, 401, "a session logged out before the restart: {v}");
    assert_eq!(v["error"]["code"], "invalid_token");
    // And on a native face too.
    let (status, v) = h.enos_info(&format!("Bearer {ended}")).await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(30401)), "{v}");
}

#[tokio::test]
async fn a_generated_key_dies_with_the_process() {
    let h = common::start().await;
    let token = unified_login(&h, enos_login()).await;
    let h = h.restart().await;
    let (status, _) = h.unified_session(&token).await;
    assert_eq!(
        status, 401,
        "no key_dir: a new key, the old tokens do not verify"
    );
}
