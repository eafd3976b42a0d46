//! Protocol fidelity: what a real EnOS or Net iD client expects on the wire, beyond the happy path.

use serde_json::{Value, json};

use crate::common::{self, NS};

/// SOAP 1.1 §6.2: a fault travels on HTTP 500, whatever went wrong behind it; the gateway's own
/// code rides in `detail`, so a client can tell "try again" from "refused".
#[tokio::test]
async fn soap_faults_for_a_down_backend_travel_on_500_with_the_gateway_code() {
    let h = common::start()
        .await
        .with_backends_stopped(true, true)
        .await;
    // A Net iD session id of the portal's form (base64 of 20 bytes): the lookup goes upstream.
    let id = "AAECAwQFBgcICQoLDA0ODxAREhM=";
    let (status, xml) = h
        .soap(
            "GetLoginStatus",
            &format!("<SessionId>{id}</SessionId><Count>1</Count>"),
        )
        .await;
    assert_eq!(status, 500, "{xml}");
    assert!(xml.contains("<faultcode>s:Server</faultcode>"), "{xml}");
    assert!(
        xml.contains("<ib:Code>backend_unavailable</ib:Code>"),
        "{xml}"
    );
    assert!(
        !xml.contains(NS),
        "a Fault, not a GetLoginStatus answer: {xml}"
    );

    let envelope = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetSession xmlns="urn:idbridge:v1"><Token>IAM_S_abc123</Token></GetSession></s:Body></s:Envelope>"#;
    let resp = h
        .http
        .post(h.url("/idbridge/soap"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(envelope)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let xml = resp.text().await.unwrap();
    assert_eq!(status, 500, "{xml}");
    assert!(xml.contains("<faultcode>s:Server</faultcode>"), "{xml}");
    assert!(
        xml.contains("<ib:Code>backend_unavailable</ib:Code>"),
        "{xml}"
    );

    // REST keeps its HTTP status: 503 with a non-Success Status.
    let (status, v) = h.netid_status(id, 2).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["Status"]["Code"], "InternalError", "{v}");
}

/// A bearer of no known form (not an EnOS id, not a Net iD id, not a gateway token) is refused as
/// EnOS refuses a bad token, 30401, without asking any backend.
#[tokio::test]
async fn a_bearer_of_no_known_form_is_30401_without_an_upstream_call() {
    let h = common::start().await;
    for bearer in [
        "Bearer foo",
        "Bearer IAM_S_",
        "Bearer AAECAwQ=",
        "Bearer eyJ.x.y",
    ] {
        let (status, v) = h.enos_info(bearer).await;
        assert_eq!(
            (status, v["status"].as_i64()),
            (200, Some(30401)),
            "{bearer}: {v}"
        );
    }
    assert_eq!(h.enos.count("enos.session_info"), 0);
    assert_eq!(h.netid.count("netid.get_login_status"), 0);
}

/// The vendor's own GetLoginStatus sample has an empty `SessionId`, a mandatory input: the
/// simulator and the gateway answer it alike, as the portal answers bad input (a bare `Status`
/// `InvalidInput` on HTTP 200), over SOAP and REST.
#[tokio::test]
async fn the_vendor_sample_with_an_empty_session_id_gets_one_answer_everywhere() {
    let h = common::start().await;
    let sample = include_str!("../../../simulators/tests/data/netid-get-login-status-request.xml");
    let action = common::soap_action("GetLoginStatus");
    for base in [h.netid.base_url(), h.gw.base_url()] {
        let resp = h
            .http
            .post(format!("{base}/portal/service.svc"))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", &action)
            .body(sample)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let xml = resp.text().await.unwrap();
        assert_eq!(status, 200, "{base}: {xml}");
        assert_eq!(
            common::xml_text(&xml, "Code").as_deref(),
            Some("InvalidInput"),
            "{base}: {xml}"
        );
        assert!(!xml.contains("<IsLoggedIn>"), "{base}: {xml}");
    }
    let body = serde_json::json!({"SessionId": "", "Count": "1"});
    for base in [h.netid.base_url(), h.gw.base_url()] {
        let (status, v) = h
            .post_json(&base, "/api/login/status/get", None, body.clone())
            .await;
        assert_eq!(status, 200, "{base}: {v}");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Status"], "{base}: {v}");
        assert_eq!(v["Status"]["Code"], "InvalidInput", "{base}: {v}");
    }
    assert_eq!(
        h.netid.count("netid.get_login_status"),
        2,
        "only the direct calls"
    );
}

/// EnOS answers its errors on HTTP 200 and accepts a negative `expireInterval` (clamped) and
/// optional strings of another type (ignored): through the gateway as straight at the backend.
#[tokio::test]
async fn enos_login_bodies_get_the_backends_answer_through_the_gateway() {
    let h = common::start().await;
    let path = "/enos-iam-service/v2.0/login";
    let lenient = serde_json::json!({
        "authType": 0, "principal": common::DEMO_PRINCIPAL, "credentials": common::DEMO_PASSWORD,
        "expireInterval": -5, "keyId": 7, "captcha": false, "clientIp": {"v": 4}
    });
    let unreadable = serde_json::json!({"authType": "x", "principal": "p", "credentials": "c"});
    for base in [h.enos.base_url(), h.gw.base_url()] {
        let (status, v) = h.post_json(&base, path, None, lenient.clone()).await;
        assert_eq!(
            (status, &v["success"]),
            (200, &serde_json::json!(true)),
            "{base}: {v}"
        );
        let (status, v) = h.post_json(&base, path, None, unreadable.clone()).await;
        assert_eq!(
            (status, v["status"].as_i64()),
            (200, Some(30400)),
            "{base}: {v}"
        );
        assert_eq!(v["success"], false, "{base}: {v}");
    }
}

/// EnOS writes `expires` as the session's lifetime from `refreshTime` (the vendor sample: 7200),
/// not a countdown; a cached session/info answer says what Log In said. (The golden test
/// `later_rendering_keeps_expires_as_enos_writes_it` renders the same session 1000 s later.)
#[tokio::test]
async fn enos_expires_is_the_lifetime_not_a_countdown() {
    let h = common::start().await;
    let body = serde_json::json!({"authType": 0, "principal": common::DEMO_PRINCIPAL, "credentials": common::DEMO_PASSWORD});
    let (_, login) = h
        .post_json(&h.gw.base_url(), "/enos-iam-service/v2.0/login", None, body)
        .await;
    let id = login["session"]["id"].as_str().unwrap().to_owned();
    assert_eq!(login["session"]["expires"], 7200, "{login}");
    let (_, info) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!(
        info["session"]["expires"], login["session"]["expires"],
        "{info}"
    );
    assert_eq!(
        info["session"]["refreshTime"], login["session"]["refreshTime"],
        "{info}"
    );
}

/// A logout whose backend cannot be told: the session is refused at the gateway from then on,
/// with no backend call, and the client is told exactly that, in its own protocol.
#[tokio::test]
async fn a_logout_the_backend_missed_holds_and_says_so() {
    let h = common::start().await;
    let id = h.enos_login().await;
    let bearer = format!("Bearer {id}");
    h.enos.faults().fail_next(1, 503);
    let (status, v) = h.enos_logout(&bearer).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["success"], false, "{v}");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(message.contains("logged out at the gateway"), "{v}");
    let calls = h.enos.count("enos.session_info");
    let (_, v) = h.enos_info(&bearer).await;
    assert_eq!(v["status"], 30401, "{v}");
    assert_eq!(
        h.enos.count("enos.session_info"),
        calls,
        "refused without asking"
    );

    // The unified face says the same with its own code.
    let token = crate::sso::enos_token(&h).await;
    h.enos.faults().fail_next(1, 503);
    let resp = h
        .http
        .post(h.url("/idbridge/v1/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "logout_incomplete", "{v}");
    let resp = h
        .http
        .get(h.url("/idbridge/v1/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn the_bridge_says_nothing_the_source_did_not() {
    let h = common::start().await;

    // A Net iD session asked about on the EnOS face.
    let sid = h.netid_login().await;
    let (status, v) = h.enos_info(&format!("Bearer {sid}")).await;
    assert_eq!((status, &v["status"]), (200, &json!(0)), "{v}");
    let s = &v["session"];
    assert_eq!(
        s["id"],
        Value::Null,
        "a Net iD id is not an EnOS session id: {v}"
    );
    assert_eq!(s["residentOrganization"], Value::Null, "{v}");
    assert_eq!(
        s["user"]["authType"],
        Value::Null,
        "a certificate is no EnOS auth type"
    );
    assert_eq!(s["workingOrganization"]["name"], "Contoso Ltd", "{v}");
    assert!(
        !v.to_string().contains(&sid),
        "the Net iD id is not repeated: {v}"
    );

    // The vendor's EnOS user (type 2, an administrator) asked about on the Net iD face.
    let id = h.enos_login().await;
    let (_, v) = h.netid_status(&id, 1).await;
    assert_eq!(v["IsLoggedIn"], "True", "{v}");
    assert_eq!(
        v["UsageList"],
        json!([{"PresentationInfo": "Admin"}]),
        "{v}"
    );
    assert!(
        v.get("ImageId").is_none() && v.get("TaskCounter").is_none(),
        "{v}"
    );
}

/// Every object's keys, depth first, as a list of `path.key` in document order.
fn key_paths(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}.{k}");
                out.push(here.clone());
                key_paths(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                key_paths(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn paths(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    key_paths(v, "$", &mut out);
    out
}

#[tokio::test]
async fn enos_answers_keep_the_vendors_key_order_and_number_forms() {
    let h = common::start().await;
    let sample: Value = serde_json::from_str(include_str!(
        "../../../protocol/tests/data/enos-session-info-response.json"
    ))
    .unwrap();
    let id = h.enos_login().await;
    // Answered from the cache, rendered by the gateway: the sample's keys as a list, and the
    // numbers as EnOS wrote them.
    let resp = h
        .http
        .post(h.url("/enos-iam-service/v2.0/session/info"))
        .bearer_auth(&id)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(paths(&v), paths(&sample), "{text}");
    assert!(
        text.contains(r#""password_state":0.0,"password_expire_time":1.601192046E12,"#),
        "{text}"
    );
    assert_eq!(h.enos.count("enos.session_info"), 1, "from the cache");

    // A Net iD session in EnOS's shape: the same envelope, session and user keys, in order.
    let sid = h.netid_login().await;
    let (_, bridged) = h.enos_info(&format!("Bearer {sid}")).await;
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&bridged), keys(&sample));
    assert_eq!(keys(&bridged["session"]), keys(&sample["session"]));
    assert_eq!(
        keys(&bridged["session"]["user"]),
        keys(&sample["session"]["user"])
    );
}

#[tokio::test]
async fn get_object_application_info_passes_through_untouched() {
    let h = common::start().await;
    let rest = |base: String| {
        let http = h.http.clone();
        async move {
            http.post(format!("{base}/api/object/get"))
                .header("Content-Type", "application/json; charset=\"utf-8\"")
                .body(r#"{"Type":"ApplicationInfo"}"#)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let through = rest(h.gw.base_url()).await;
    assert_eq!(through, rest(h.netid.base_url()).await, "byte for byte");
    let v: Value = serde_json::from_str(&through).unwrap();
    assert_eq!(v["ApplicationInfo"]["SecurityMode"]["IsEnabled"], "True");
    assert_eq!(
        v["ApplicationInfo"]["SecurityMode"]["HashAlgorithm"],
        "SHA256-HMAC"
    );

    let (status, xml) = h
        .soap(
            "GetObject",
            "<SessionId></SessionId><Type>ApplicationInfo</Type>",
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains("<SecurityMode><IsEnabled>True</IsEnabled><EncryptionAlgorithm>AES</EncryptionAlgorithm>"),
        "{xml}"
    );
    assert_eq!(h.netid.count("netid.get_object"), 3);
}

#[tokio::test]
async fn an_ldap_login_keeps_its_link_in_the_session() {
    use idbridge_session::{AuthMethod, UnixTime};
    let h = common::start().await;
    let native = json!({"authType": 1, "linkName": "corp-ldap", "principal": "ldap_user01",
                        "credentials": common::DEMO_PASSWORD});
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/enos-iam-service/v2.0/login",
            None,
            native,
        )
        .await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(0)), "{v}");
    let unified = json!({"backend": "enos", "auth_type": 1, "link_name": "corp-ldap",
                         "principal": "ldap_user01", "credentials": common::DEMO_PASSWORD});
    let (status, v) = h
        .post_json(&h.gw.base_url(), "/idbridge/v1/login", None, unified)
        .await;
    assert_eq!(status, 200, "{v}");
    // The unified face does not show the link (it names internal infrastructure); the session
    // the store holds, and shares with other replicas, keeps it.
    assert_eq!(v["session"]["auth_method"], "ldap");
    let now = UnixTime::from_system(std::time::SystemTime::now());
    let sessions = h.gw.runtime().store.sessions(now).await;
    let ldap: Vec<_> = sessions
        .iter()
        .filter(|s| matches!(s.auth_method, AuthMethod::Ldap { .. }))
        .collect();
    assert_eq!(ldap.len(), 2);
    for s in ldap {
        assert_eq!(
            s.auth_method,
            AuthMethod::Ldap {
                link: Some("corp-ldap".into())
            }
        );
    }
}
