//! Net iD Portal over REST: login, GetLoginStatus against the vendor sample, the call counter,
//! idle expiry, logout, GetObject, and the login refusals.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn login_answers_a_20_byte_session_the_server_certificate_and_a_32_byte_value() {
    let sim = netid(&opts()).await;
    let (status, text) = rest_raw(
        &sim,
        "/api/login",
        rest_login_body(&demo_file("john-doe.cer")).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        Shape::parse(&text).keys(),
        ["SessionId", "Certificate", "Value", "Status"]
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["Status"],
        json!({"Code": "Success", "Description": "Success"})
    );
    let session = body["SessionId"].as_str().unwrap();
    assert_eq!(STANDARD.decode(session).unwrap().len(), 20);
    // The 32-byte nonce, sealed to John Doe's 2048-bit key.
    let value = body["Value"].as_str().unwrap();
    assert_eq!(STANDARD.decode(value).unwrap().len(), 256);
    assert_eq!(john_key().open(value).unwrap().0.len(), 32);
    assert_eq!(body["Certificate"], demo_file("netid-server.cer").trim());
    assert_eq!(sim.count("netid.login"), 1);
    assert_eq!(sim.count("netid.rest"), 1);
}

#[tokio::test]
async fn get_login_status_matches_the_rest_sample_in_keys_order_and_values() {
    let opts = opts();
    let sim = netid(&opts).await;
    let login_time = opts.clock.now_secs();
    let session = rest_login_john(&sim).await;
    opts.clock.advance(Duration::from_secs(30));

    let (status, text) = rest_raw(
        &sim,
        "/api/login/status/get",
        json!({"SessionId": session, "Count": "1"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let sample_text = data("netid-get-login-status-response.json");
    // Same keys, same order, at every level (the sample and John Doe have the same lists).
    assert_eq!(Shape::parse(&text), Shape::parse(&sample_text));
    assert_eq!(
        Shape::parse(&text).keys(),
        [
            "Count",
            "Id",
            "ImageId",
            "Name",
            "OrganizationName",
            "IsLoggedIn",
            "IdleExpiration",
            "DateTime",
            "TaskCounter",
            "UsageList",
            "OrganizationList",
            "Status"
        ]
    );

    let body: Value = serde_json::from_str(&text).unwrap();
    let mut expected: Value = serde_json::from_str(&sample_text).unwrap();
    // Where John Doe's directory entry and the clock differ from the sample's values:
    expected["UsageList"][2]["ActivityList"][0]["Id"] = json!("1");
    expected["DateTime"] = json!(utc_text(login_time));
    assert_eq!(body, expected);
}

/// `YYYY-MM-DD HH:MM:SS UTC` computed independently of the simulator.
fn utc_text(secs: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&format).unwrap()
}

#[tokio::test]
async fn count_must_strictly_increase() {
    let sim = netid(&opts()).await;
    let session = rest_login_john(&sim).await;
    assert_eq!(
        rest_status(&sim, &session, 5).await["Status"]["Code"],
        "Success"
    );
    for count in [5, 4, 0] {
        let (_, text) = rest_raw(
            &sim,
            "/api/login/status/get",
            json!({"SessionId": session, "Count": count.to_string()}).to_string(),
        )
        .await;
        assert_eq!(Shape::parse(&text).keys(), ["Count", "Status"]);
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["Count"], count.to_string());
        assert_eq!(body["Status"]["Code"], "InvalidCount");
    }
    // Refusals did not move the counter: 6 is still accepted. A JSON number is read too.
    let (_, body) = rest(
        &sim,
        "/api/login/status/get",
        json!({"SessionId": session, "Count": 6}),
    )
    .await;
    assert_eq!(body["Status"]["Code"], "Success", "{body}");
    assert_eq!(body["Count"], "6");
}

#[tokio::test]
async fn idle_sessions_expire_and_accepted_calls_refresh_the_timer() {
    let opts = opts();
    let sim = netid(&opts).await;
    let session = rest_login_john(&sim).await;
    opts.clock.advance(Duration::from_secs(1199));
    let body = rest_status(&sim, &session, 1).await;
    assert_eq!(body["Status"]["Code"], "Success");
    assert_eq!(body["IdleExpiration"], "1200");
    // A refused call does not refresh the timer.
    opts.clock.advance(Duration::from_secs(1000));
    assert_eq!(
        rest_status(&sim, &session, 1).await["Status"]["Code"],
        "InvalidCount"
    );
    opts.clock.advance(Duration::from_secs(200));

    let (_, text) = rest_raw(
        &sim,
        "/api/login/status/get",
        json!({"SessionId": session, "Count": "2"}).to_string(),
    )
    .await;
    assert_eq!(
        Shape::parse(&text).keys(),
        ["Count", "IsLoggedIn", "Status"]
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["Count"], "2");
    assert_eq!(body["IsLoggedIn"], "False");
    assert_eq!(body["Status"]["Code"], "InvalidSession");
}

#[tokio::test]
async fn a_configured_idle_timeout_is_reported_and_enforced() {
    let opts = idbridge_sim::SimOptions {
        netid_idle_timeout: Duration::from_secs(60),
        ..opts()
    };
    let sim = netid(&opts).await;
    let session = rest_login_john(&sim).await;
    assert_eq!(rest_status(&sim, &session, 1).await["IdleExpiration"], "60");
    opts.clock.advance(Duration::from_secs(60));
    assert_eq!(
        rest_status(&sim, &session, 2).await["Status"]["Code"],
        "InvalidSession"
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let sim = netid(&opts()).await;
    let session = rest_login_john(&sim).await;
    let (_, text) = rest_raw(
        &sim,
        "/api/logout",
        json!({"SessionId": session, "Count": "1"}).to_string(),
    )
    .await;
    assert_eq!(Shape::parse(&text).keys(), ["Count", "Status"]);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["Status"]["Code"], "Success");
    let body = rest_status(&sim, &session, 2).await;
    assert_eq!(body["Status"]["Code"], "InvalidSession");
    assert_eq!(body["IsLoggedIn"], "False");
    let (_, body) = rest(
        &sim,
        "/api/logout",
        json!({"SessionId": session, "Count": "3"}),
    )
    .await;
    assert_eq!(body["Status"]["Code"], "InvalidSession");
    assert_eq!(sim.count("netid.logout"), 2);
}

#[tokio::test]
async fn login_refusals() {
    let opts = opts();
    let sim = netid(&opts).await;
    let code = |body: Value| body["Status"]["Code"].as_str().unwrap().to_owned();

    // Not a certificate at all, and base64 of something that is not one.
    for garbage in ["%%% not base64 %%%", "aGVsbG8gd29ybGQ="] {
        let (_, body) = rest(&sim, "/api/login", rest_login_body(garbage)).await;
        assert_eq!(code(body), "InvalidInput", "{garbage}");
    }
    // A valid certificate of a subject nobody knows (the server's own), and John Doe of the
    // wrong organisation.
    for cert in [
        demo_file("netid-server.cer"),
        data("john-doe-other-org.cer"),
    ] {
        let (_, text) = rest_raw(&sim, "/api/login", rest_login_body(&cert).to_string()).await;
        assert_eq!(Shape::parse(&text).keys(), ["Status"]);
        assert_eq!(code(serde_json::from_str(&text).unwrap()), "AccessDenied");
    }
    // Missing inputs, a bad role, a bad DateTime, and the encrypted form.
    let john = rest_login_body(&demo_file("john-doe.cer"));
    for (field, value) in [
        ("Certificate", Value::Null),
        ("DateTime", Value::Null),
        ("DateTime", json!("last tuesday")),
        ("Role", json!("Admin")),
        ("Blob", json!("AAAA")),
    ] {
        let mut body = john.clone();
        body[field] = value;
        let (_, resp) = rest(&sim, "/api/login", body).await;
        assert_eq!(code(resp), "InvalidInput", "{field}");
    }
    // PEM armour is fine; so is the Officer role.
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        demo_file("john-doe.cer").trim()
    );
    let mut body = rest_login_body(&pem);
    body["Role"] = json!("Officer");
    body["Certificate"] = json!(pem);
    let (_, resp) = rest(&sim, "/api/login", body).await;
    assert_eq!(code(resp), "Success");
    // 25 years on, the 20-year demo certificate has expired.
    opts.clock.advance(Duration::from_secs(25 * 365 * 86_400));
    let (_, resp) = rest(&sim, "/api/login", john).await;
    assert_eq!(code(resp), "AccessDenied");
}

#[tokio::test]
async fn blob_calls_and_bad_inputs_are_invalid_input() {
    let sim = netid(&opts()).await;
    let session = rest_login_john(&sim).await;
    let (_, body) = rest(
        &sim,
        "/api/login/status/get",
        json!({"SessionId": session, "Blob": "AAAA", "Count": "1"}),
    )
    .await;
    assert_eq!(body["Status"]["Code"], "InvalidInput");
    assert_eq!(
        body["Status"]["Description"],
        "encrypted calls are not supported by the simulator"
    );
    for bad in [
        json!({"SessionId": session}),
        json!({"Count": "1"}),
        json!({"SessionId": session, "Count": "-1"}),
    ] {
        let (_, body) = rest(&sim, "/api/login/status/get", bad.clone()).await;
        assert_eq!(body["Status"]["Code"], "InvalidInput", "{bad}");
    }
    // The session is untouched by all that: Count 1 is still fresh.
    assert_eq!(
        rest_status(&sim, &session, 1).await["Status"]["Code"],
        "Success"
    );
}

#[tokio::test]
async fn malformed_json_and_unknown_paths() {
    let sim = netid(&opts()).await;
    for body in ["{", "[]", "\"text\"", ""] {
        let (status, text) = rest_raw(&sim, "/api/login/status/get", body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(Shape::parse(&text).keys(), ["Status"]);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["Status"]["Code"], "InvalidInput");
    }
    let (status, body) = rest(&sim, "/api/no/such", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(body["Status"]["Code"], "InvalidInput");
    let resp = client()
        .get(format!("{}/api/login", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(sim.count("netid.other"), 2);
    assert_eq!(sim.count("netid.get_login_status"), 4);
    assert_eq!(sim.count("netid.rest"), 6);
}

#[tokio::test]
async fn only_the_key_holder_completes_a_login() {
    let opts = opts();
    let sim = netid(&opts).await;
    let code = |body: Value| body["Status"]["Code"].as_str().unwrap().to_owned();
    let status = |session: String| {
        let sim = &sim;
        async move { code(rest_status(sim, &session, 1).await) }
    };
    // Step 1 alone opens no session anyone can use.
    let (session, value) = rest_login_begin(&sim).await;
    assert_eq!(status(session.clone()).await, "InvalidSession");
    // Step 2 needs its Value; a wrong answer ends the attempt for good.
    let (_, body) = rest(&sim, "/api/login", json!({"SessionId": session})).await;
    assert_eq!(code(body), "InvalidInput");
    let (_, body) = rest(
        &sim,
        "/api/login",
        json!({"SessionId": session, "Value": STANDARD.encode([0u8; 32])}),
    )
    .await;
    assert_eq!(code(body), "AccessDenied");
    let answer = john_key().answer(&session, &value).unwrap();
    let again = json!({"SessionId": session, "Value": answer});
    let (_, body) = rest(&sim, "/api/login", again).await;
    assert_eq!(code(body), "InvalidSession");
    // An answer bound to another session does not transfer.
    let (first, first_value) = rest_login_begin(&sim).await;
    let (second, _) = rest_login_begin(&sim).await;
    let stolen = john_key().answer(&first, &first_value).unwrap();
    let (_, body) = rest(
        &sim,
        "/api/login",
        json!({"SessionId": second, "Value": stolen}),
    )
    .await;
    assert_eq!(code(body), "AccessDenied");
    // Step 2 must come within the login window, and only once.
    let (late, late_value) = rest_login_begin(&sim).await;
    opts.clock.advance(Duration::from_secs(61));
    let answer = john_key().answer(&late, &late_value).unwrap();
    let (_, body) = rest(
        &sim,
        "/api/login",
        json!({"SessionId": late, "Value": answer}),
    )
    .await;
    assert_eq!(code(body), "InvalidSession");
    let session = rest_login_john(&sim).await;
    assert_eq!(status(session.clone()).await, "Success");
    let (_, body) = rest(
        &sim,
        "/api/login",
        json!({"SessionId": session, "Value": "AAAA"}),
    )
    .await;
    assert_eq!(
        code(body),
        "InvalidSession",
        "a logged-in session is not re-answered"
    );
}

#[tokio::test]
async fn get_object_application_info_is_the_documented_first_call() {
    let sim = netid(&opts()).await;
    // No session: it is the one unencrypted call a client makes before logging in.
    let (status, text) = rest_raw(
        &sim,
        "/api/object/get",
        r#"{"Type":"ApplicationInfo"}"#.to_owned(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(Shape::parse(&text).keys(), ["ApplicationInfo", "Status"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    let info = v["ApplicationInfo"].as_object().unwrap();
    assert_eq!(
        info.keys().collect::<Vec<_>>(),
        [
            "Name",
            "Version",
            "Copyright",
            "Updated",
            "CacheExpiration",
            "SystemMessage",
            "AllowedCertificateList",
            "SecurityMode"
        ]
    );
    assert_eq!(
        v["ApplicationInfo"]["SecurityMode"],
        json!({"IsEnabled": "True", "EncryptionAlgorithm": "AES", "EncryptionLength": "256",
               "CompressionAlgorithm": "GZ", "HashAlgorithm": "SHA256-HMAC"})
    );
    let keys: Vec<_> = v["ApplicationInfo"]["SecurityMode"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        keys,
        [
            "IsEnabled",
            "EncryptionAlgorithm",
            "EncryptionLength",
            "CompressionAlgorithm",
            "HashAlgorithm"
        ]
    );
    assert!(
        time::OffsetDateTime::parse(
            v["ApplicationInfo"]["Updated"].as_str().unwrap(),
            &time::format_description::well_known::Iso8601::DEFAULT
        )
        .is_ok()
    );
    assert_eq!(v["Status"]["Code"], "Success");
    let (_, text) = rest_raw(
        &sim,
        "/api/object/get",
        r#"{"Type":"User","Id":"1"}"#.to_owned(),
    )
    .await;
    assert!(text.contains("InvalidInput"), "{text}");
    assert_eq!(sim.count("netid.get_object"), 2);
}
