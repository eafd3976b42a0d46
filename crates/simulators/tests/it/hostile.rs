//! Hostile and broken input: every case is refused in the binding's error form, and the same
//! simulator keeps answering normal calls afterwards.

use serde_json::Value;

use crate::support::*;

fn action(method: &str) -> String {
    format!("\"{ACTION_PREFIX}{method}\"")
}

async fn still_serving(sim: &idbridge_sim::Simulator) {
    let session = rest_login_john(sim).await;
    let info = format!("<SessionId>{session}</SessionId><Count>1</Count>");
    let (status, body) = soap(sim, "GetLoginStatus", &info).await;
    assert_eq!(status, 200);
    assert_eq!(xml_text(&body, "Code").as_deref(), Some("Success"));
}

#[tokio::test]
async fn hostile_soap_is_a_fault_and_the_simulator_keeps_serving() {
    let sim = netid(&opts()).await;
    let billion_laughs = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
{}"#,
        soap_envelope("GetObject", "<Type>&lol9;</Type>")
    );
    let xxe = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n{}",
        soap_envelope("GetObject", "<Type>&xxe;</Type>")
    );
    let undeclared_entity = soap_envelope("GetObject", "<Type>&xxe;</Type>");
    let deep = soap_envelope(
        "GetObject",
        &format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000)),
    );
    let full = soap_envelope("GetObject", "<Type>ApplicationInfo</Type>");
    let truncated = full[..full.len() / 2].to_owned();
    let mut not_utf8 = soap_envelope("GetObject", "<Type>X</Type>").into_bytes();
    let pos = not_utf8.iter().position(|&b| b == b'X').unwrap();
    not_utf8[pos] = 0xFF;
    let wrong_root = full.replace("s:Envelope", "s:Letter");
    let no_body =
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>"#
            .to_owned();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("billion laughs", billion_laughs.into_bytes()),
        ("external entity", xxe.into_bytes()),
        ("undeclared entity", undeclared_entity.into_bytes()),
        ("1000-deep nesting", deep.into_bytes()),
        ("truncated", truncated.into_bytes()),
        ("invalid UTF-8", not_utf8),
        ("wrong root", wrong_root.into_bytes()),
        ("no Body", no_body.into_bytes()),
        ("not XML", b"hello".to_vec()),
        ("empty", Vec::new()),
    ];
    for (name, body) in cases {
        let (status, fault) = soap_raw(&sim, Some(&action("GetObject")), body).await;
        assert_eq!(status, 500, "{name}");
        assert_fault(&fault);
        assert!(
            !fault.contains("root:"),
            "{name}: must not leak file contents"
        );
    }
    still_serving(&sim).await;
}

#[tokio::test]
async fn ten_megabyte_bodies_are_413_in_each_bindings_form() {
    let sim = netid(&opts()).await;
    let huge = soap_envelope(
        "GetObject",
        &format!("<Type>{}</Type>", "A".repeat(10 * 1024 * 1024)),
    );
    let (status, fault) = soap_raw(&sim, Some(&action("GetObject")), huge).await;
    assert_eq!(status, 413);
    assert_fault(&fault);

    let huge_json = format!(r#"{{"Type": "{}"}}"#, "A".repeat(10 * 1024 * 1024));
    let (status, text) = rest_raw(&sim, "/api/object/get", huge_json).await;
    assert_eq!(status, 413);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["Status"]["Code"], "InvalidInput");

    still_serving(&sim).await;
    assert_eq!(sim.count("netid.get_object"), 2);
}

#[tokio::test]
async fn ten_megabyte_enos_bodies_are_413() {
    let sim = enos(&opts()).await;
    let huge = format!(
        r#"{{"authType": 0, "principal": "{}"}}"#,
        "A".repeat(10 * 1024 * 1024)
    );
    let resp = client()
        .post(enos_url(&sim, "login"))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_enos_failure(&resp.json().await.unwrap(), 413);
    enos_login_ok(&sim, login_body("portal_test01", DEMO_PASSWORD)).await;
}
