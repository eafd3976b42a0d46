//! Single sign-on: the unified face, gateway tokens on every face, forward-auth, protected apps,
//! and the checks by software that is not ours (PyJWT on the JWKS, nginx auth_request).

use crate::common;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn unified_login(h: &common::Harness, body: Value) -> (u16, Value) {
    h.post_json(&h.gw.base_url(), "/idbridge/v1/login", None, body)
        .await
}

pub async fn enos_token(h: &common::Harness) -> String {
    let body = json!({"backend": "enos", "principal": common::DEMO_PRINCIPAL, "credentials": common::DEMO_PASSWORD});
    let (status, v) = unified_login(h, body).await;
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn unified_login_works_for_both_backends() {
    let h = common::start().await;
    let (status, v) = unified_login(
        &h,
        json!({"backend": "enos", "principal": "portal_test01", "credentials": "Demo-Passw0rd"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["session"]["backend"], "enos");
    assert_eq!(v["session"]["subject"]["name"], "portal_test01");
    assert!(
        !v.to_string().contains("IAM_S_"),
        "no backend session id in the unified face: {v}"
    );

    let (status, v) = h.unified_netid_login().await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["session"]["subject"]["name"], "John Doe");
    assert_eq!(v["session"]["organization"]["name"], "Contoso Ltd");

    let (status, v) = unified_login(
        &h,
        json!({"backend": "enos", "principal": "portal_test01", "credentials": "nope"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("bad_credentials")),
        "{v}"
    );
    let (status, v) = unified_login(
        &h,
        json!({"backend": "enos", "principal": "disabled_user01", "credentials": "Demo-Passw0rd"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("disabled")),
        "{v}"
    );
    let (status, v) = unified_login(&h, json!({"backend": "mars"})).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{v}"
    );
}

#[tokio::test]
async fn one_login_is_accepted_by_every_face() {
    let h = common::start().await;
    let token = enos_token(&h).await;

    let (status, v) = h.unified_session(&token).await;
    assert_eq!(
        (status, v["session"]["backend"].as_str()),
        (200, Some("enos")),
        "{v}"
    );

    // An EnOS app, a Net iD REST app and a Net iD SOAP app all accept the same gateway token.
    let (status, v) = h.enos_info(&format!("Bearer {token}")).await;
    assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    assert_eq!(
        v["session"]["id"],
        token.as_str(),
        "the backend id stays hidden behind the token"
    );
    let (_, v) = h.netid_status(&token, 1).await;
    assert_eq!(v["Status"]["Code"], "Success", "{v}");
    assert_eq!(v["Name"], "portal_test01");
    let (_, xml) = h
        .soap(
            "GetLoginStatus",
            &format!("<SessionId>{token}</SessionId><Count>2</Count>"),
        )
        .await;
    assert_eq!(
        common::xml_text(&xml, "Name").as_deref(),
        Some("portal_test01"),
        "{xml}"
    );

    // A Net iD login over the native face: step 1 is the portal's challenge, untouched and
    // without a token; step 2 returns a token in a header, body untouched.
    let body = json!({"Certificate": common::demo_cert(), "DateTime": "2026-11-23T10:00:00Z"});
    let resp = h
        .http
        .post(h.url("/api/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("x-idbridge-token").is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["SessionId", "Certificate", "Value", "Status"]
    );
    let id = v["SessionId"].as_str().unwrap();
    let step2 = json!({"SessionId": id, "Value": common::answer(id, v["Value"].as_str().unwrap())});
    let resp = h
        .http
        .post(h.url("/api/login"))
        .json(&step2)
        .send()
        .await
        .unwrap();
    let netid_token = resp.headers()["x-idbridge-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["SessionId", "Status"]
    );
    let (status, v) = h.enos_info(&format!("Bearer {netid_token}")).await;
    assert_eq!(
        (status, v["session"]["user"]["name"].as_str()),
        (200, Some("John Doe")),
        "{v}"
    );
}

#[tokio::test]
async fn tokens_die_with_their_session_and_forgeries_are_refused() {
    let h = common::start().await;
    let token = enos_token(&h).await;
    let mut tampered = token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    assert_eq!(h.unified_session(&tampered).await.0, 401);
    assert_eq!(h.unified_session("not.a.token").await.0, 401);

    let resp = h
        .http
        .post(h.url("/idbridge/v1/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"logged_out": true})
    );
    assert_eq!(h.unified_session(&token).await.0, 401);
    let (_, v) = h.enos_info(&format!("Bearer {token}")).await;
    assert_eq!(v["status"], 30401, "{v}");
    assert_eq!(
        h.enos.count("enos.logout"),
        1,
        "the backend session ended too"
    );
}

#[tokio::test]
async fn forward_auth_answers_200_401_or_503() {
    let h = common::start().await;
    let token = enos_token(&h).await;
    let auth = |req: reqwest::RequestBuilder| async move { req.send().await.unwrap() };

    let resp = auth(h.http.get(h.url("/idbridge/v1/auth")).bearer_auth(&token)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-auth-request-user"], "u15578227990211");
    assert_eq!(
        resp.headers()["x-auth-request-email"],
        "congcong1.chen@envision-digital.com"
    );
    assert_eq!(resp.headers()["x-auth-request-org"], "portal_test01");
    assert_eq!(resp.headers()["x-auth-request-backend"], "enos");
    let resp = auth(
        h.http
            .get(h.url("/idbridge/v1/auth"))
            .header("Cookie", format!("a=b; idbridge_token={token}")),
    )
    .await;
    assert_eq!(resp.status(), 200, "the cookie works for browser apps");
    let resp = auth(h.http.get(h.url("/idbridge/v1/auth"))).await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));

    let uncached = h.enos_login_direct().await;
    h.enos.faults().fail_next(1, 503);
    let resp = auth(
        h.http
            .get(h.url("/idbridge/v1/auth"))
            .bearer_auth(&uncached),
    )
    .await;
    assert_eq!(resp.status(), 503, "a down backend is not a 401");
}

/// An app that answers every request with the headers it received, as JSON.
pub async fn echo_app() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).to_string();
                let body = json!({ "head": text }).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn protected_apps_get_the_verified_identity_only() {
    let app = echo_app().await;
    let h = common::start_with(|c| {
        c.routes = vec![common::app_route("/app/", &app, true)];
    })
    .await;
    let resp = h
        .http
        .get(h.url("/app/page"))
        .header("X-Auth-Request-User", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "no session, no app");

    let token = enos_token(&h).await;
    let resp = h
        .http
        .get(h.url("/app/page?x=1"))
        .bearer_auth(&token)
        .header("X-Auth-Request-User", "admin")
        .header("X-Auth-Request-Role", "superuser")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let head = resp.json::<Value>().await.unwrap()["head"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(
        head.starts_with("get /page?x=1 http/1.1"),
        "prefix stripped: {head}"
    );
    assert!(
        head.contains("x-auth-request-user: u15578227990211"),
        "{head}"
    );
    assert!(
        !head.contains("admin") && !head.contains("superuser"),
        "client claims removed: {head}"
    );
}

// Multi-threaded: the gateway must keep serving while this test waits on another process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_verifies_tokens_in_pyjwt() {
    let h = common::start().await;
    let token = enos_token(&h).await;
    let (status, jwks) = h.get_json("/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    if !common::tool_available("python3", &["-c", "import jwt, cryptography"]) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/jwks_check.py");
    let out = Command::new("python3")
        .args([
            script,
            &h.url("/.well-known/jwks.json"),
            &token,
            "idbridge",
            "idbridge",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "PyJWT refused our token:\n{text}");
    assert!(text.contains("sub=u15578227990211"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_protects_a_page() {
    if !common::tool_available("nginx", &["-v"]) {
        return;
    }
    let h = common::start().await;
    let token = enos_token(&h).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("private")).unwrap();
    std::fs::write(
        dir.path().join("private/index.html"),
        "the protected page\n",
    )
    .unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let deploy = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/nginx");
    let conf = format!(
        r#"worker_processes 1;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{}}
http {{
    access_log off;
    client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
    upstream idbridge {{ server {gw}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        include {deploy}/idbridge-auth-endpoint.conf;
        location /private/ {{
            include {deploy}/idbridge-protect.conf;
            add_header X-Seen-User $idbridge_user;
            alias {d}/private/;
        }}
    }}
}}
"#,
        d = dir.path().display(),
        gw = h.gw.local_addr().unwrap(),
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    // nginx workers (not root) must read the page.
    Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.path())
        .status()
        .unwrap();
    let mut nginx = Command::new("nginx")
        .args(["-p"])
        .arg(dir.path())
        .args(["-c"])
        .arg(dir.path().join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let anonymous = h.http.get(format!("{base}/private/")).send().await.unwrap();
    let bad = h
        .http
        .get(format!("{base}/private/"))
        .bearer_auth("bad.token.here")
        .send()
        .await
        .unwrap();
    let good = h
        .http
        .get(format!("{base}/private/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (anonymous, bad) = (anonymous.status().as_u16(), bad.status().as_u16());
    let seen = good
        .headers()
        .get("x-seen-user")
        .map(|v| v.to_str().unwrap().to_owned());
    let (good_status, page) = (good.status().as_u16(), good.text().await.unwrap());
    // SIGTERM to the master, which stops its workers too (SIGKILL would orphan them).
    let _ = Command::new("kill")
        .args(["-TERM", &nginx.id().to_string()])
        .status();
    let _ = nginx.wait();
    assert_eq!((anonymous, bad), (401, 401));
    assert_eq!(good_status, 200, "{page}");
    assert_eq!(page, "the protected page\n");
    assert_eq!(seen.as_deref(), Some("u15578227990211"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_soap_client_uses_the_unified_soap_face() {
    let h = common::start().await;
    let wsdl = h
        .http
        .get(h.url("/idbridge/soap?wsdl"))
        .send()
        .await
        .unwrap();
    assert_eq!(wsdl.status(), 200);
    assert!(
        wsdl.text()
            .await
            .unwrap()
            .contains("soap:address location=\"http://127.0.0.1:")
    );
    let (_, openapi) = h.get_json("/idbridge/v1/openapi.json").await;
    assert_eq!(openapi["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    if !common::tool_available("python3", &["-c", "import zeep"]) {
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/soap_client_check.py"
    );
    let out = tokio::process::Command::new("python3")
        .args([script, &h.url("/idbridge/soap")])
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "zeep against the gateway:\n{text}");
    assert_eq!(
        h.enos.count("enos.logout"),
        1,
        "the zeep Logout reached the backend:\n{text}"
    );
}
