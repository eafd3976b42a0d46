//! Net iD Portal over SOAP: login, GetLoginStatus against the vendor sample's element order,
//! SOAPAction dispatch, logout, the WSDL, and sessions shared between the two bindings.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::support::*;

fn login_info(cert: &str) -> String {
    format!(
        "<Certificate>{}</Certificate><DateTime>2024-05-01T12:00:00Z</DateTime><Role>Self</Role>\
         <Client><DeviceName>pc</DeviceName><ApplicationName>tests</ApplicationName>\
         <LanguageName>en</LanguageName></Client>",
        cert.trim()
    )
}

/// Both login steps over SOAP; answers the SessionId.
async fn soap_login_john(sim: &idbridge_sim::Simulator) -> String {
    let (status, body) = soap(sim, "Login", &login_info(&demo_file("john-doe.cer"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        xml_text(&body, "Code").as_deref(),
        Some("Success"),
        "{body}"
    );
    let session = xml_text(&body, "SessionId").unwrap();
    let value = xml_text(&body, "Value").unwrap();
    let answer = john_key().answer(&session, &value).unwrap();
    let info = format!("<SessionId>{session}</SessionId><Value>{answer}</Value>");
    let (status, body) = soap(sim, "Login", &info).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        start_element_names(&body),
        [
            "Envelope",
            "Body",
            "LoginResponse",
            "LoginResult",
            "SessionId",
            "Status",
            "Code",
            "Description"
        ]
    );
    assert_eq!(xml_text(&body, "Code").as_deref(), Some("Success"));
    session
}

#[tokio::test]
async fn login_answers_the_documented_outputs() {
    let sim = netid(&opts()).await;
    let (status, body) = soap(&sim, "Login", &login_info(&demo_file("john-doe.cer"))).await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#),
        "{body}"
    );
    assert_eq!(
        start_element_names(&body),
        [
            "Envelope",
            "Body",
            "LoginResponse",
            "LoginResult",
            "SessionId",
            "Certificate",
            "Value",
            "Status",
            "Code",
            "Description"
        ]
    );
    let session = xml_text(&body, "SessionId").unwrap();
    assert_eq!(STANDARD.decode(&session).unwrap().len(), 20);
    // The 32-byte nonce, sealed to John Doe's 2048-bit key.
    let value = xml_text(&body, "Value").unwrap();
    assert_eq!(STANDARD.decode(&value).unwrap().len(), 256);
    assert_eq!(john_key().open(&value).unwrap().0.len(), 32);
    assert_eq!(
        xml_text(&body, "Certificate").unwrap(),
        demo_file("netid-server.cer").trim()
    );
    assert_eq!(sim.count("netid.login"), 1);
    assert_eq!(sim.count("netid.soap"), 1);
}

#[tokio::test]
async fn get_login_status_has_the_vendor_sample_elements_in_order() {
    let sim = netid(&opts()).await;
    let session = soap_login_john(&sim).await;
    let info = format!("<SessionId>{session}</SessionId><Count>1</Count>");
    let (status, body) = soap(&sim, "GetLoginStatus", &info).await;
    assert_eq!(status, 200);

    let sample = data("netid-get-login-status-response.xml");
    assert_eq!(start_element_names(&body), start_element_names(&sample));
    // The envelope head is exactly the sample's (declarations included).
    let head = |xml: &str| {
        let end = xml.find("<GetLoginStatusResult>").unwrap();
        xml[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace("> <", "><")
    };
    assert_eq!(head(&body), head(&sample));
    for (element, value) in [
        ("Count", "1"),
        ("Id", "1"),
        ("ImageId", "35"),
        ("Name", "John Doe"),
        ("OrganizationName", "Contoso Ltd"),
        ("IsLoggedIn", "True"),
        ("IdleExpiration", "1200"),
        ("TaskCounter", "0"),
        ("PresentationInfo", "User"),
        (
            "AdditionalInfo",
            "Style=black,#000000,#FFFFFF,#999999;#232C2E;#D21041;#FFFFFF",
        ),
        ("Code", "Success"),
    ] {
        assert_eq!(
            xml_text(&body, element).as_deref(),
            Some(value),
            "{element}"
        );
    }
    let when = xml_text(&body, "DateTime").unwrap();
    assert!(
        when.ends_with(" UTC") && when.len() == "2023-02-22 07:14:03 UTC".len(),
        "{when}"
    );
    assert_eq!(sim.count("netid.get_login_status"), 1);
}

#[tokio::test]
async fn the_vendor_request_sample_itself_is_understood() {
    let sim = netid(&opts()).await;
    let session = soap_login_john(&sim).await;
    let request = data("netid-get-login-status-request.xml").replace(
        "<SessionId></SessionId>",
        &format!("<SessionId>{session}</SessionId>"),
    );
    let action = format!("\"{ACTION_PREFIX}GetLoginStatus\"");
    let (status, body) = soap_raw(&sim, Some(&action), request).await;
    assert_eq!(status, 200);
    assert_eq!(
        xml_text(&body, "Code").as_deref(),
        Some("Success"),
        "{body}"
    );
}

#[tokio::test]
async fn count_rules_and_logout_over_soap() {
    let sim = netid(&opts()).await;
    let session = soap_login_john(&sim).await;
    let call = |method: &'static str, count: u32| {
        let sim = &sim;
        let info = format!("<SessionId>{session}</SessionId><Count>{count}</Count>");
        async move { soap(sim, method, &info).await.1 }
    };
    assert_eq!(
        xml_text(&call("GetLoginStatus", 2).await, "Code").as_deref(),
        Some("Success")
    );
    let repeated = call("GetLoginStatus", 2).await;
    assert_eq!(
        start_element_names(&repeated),
        [
            "Envelope",
            "Body",
            "GetLoginStatusResponse",
            "GetLoginStatusResult",
            "Count",
            "Status",
            "Code",
            "Description"
        ]
    );
    assert_eq!(xml_text(&repeated, "Code").as_deref(), Some("InvalidCount"));
    let out = call("Logout", 3).await;
    assert_eq!(
        start_element_names(&out),
        [
            "Envelope",
            "Body",
            "LogoutResponse",
            "LogoutResult",
            "Count",
            "Status",
            "Code",
            "Description"
        ]
    );
    assert_eq!(xml_text(&out, "Code").as_deref(), Some("Success"));
    let after = call("GetLoginStatus", 4).await;
    assert_eq!(xml_text(&after, "IsLoggedIn").as_deref(), Some("False"));
    assert_eq!(xml_text(&after, "Code").as_deref(), Some("InvalidSession"));
}

#[tokio::test]
async fn soap_and_rest_share_sessions() {
    let sim = netid(&opts()).await;
    let session = soap_login_john(&sim).await;
    assert_eq!(
        rest_status(&sim, &session, 1).await["Status"]["Code"],
        "Success"
    );
    let info = format!("<SessionId>{session}</SessionId><Count>1</Count>");
    let (_, body) = soap(&sim, "GetLoginStatus", &info).await;
    assert_eq!(xml_text(&body, "Code").as_deref(), Some("InvalidCount"));
}

#[tokio::test]
async fn soap_action_dispatch() {
    let sim = netid(&opts()).await;
    let body = soap_envelope("GetObject", "<Type>ApplicationInfo</Type>");

    // Unquoted is tolerated.
    let bare = format!("{ACTION_PREFIX}GetObject");
    let (status, ok) = soap_raw(&sim, Some(&bare), body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        xml_text(&ok, "Name").as_deref(),
        Some("Pointsharp Net iD Portal (idbridge simulator)")
    );

    // Unknown, wrongly cased, missing, or not matching the body's method: a Fault.
    let lower = format!("\"{ACTION_PREFIX}getobject\"");
    let unknown = format!("\"{ACTION_PREFIX}DeleteEverything\"");
    let mismatch = format!("\"{ACTION_PREFIX}Logout\"");
    for action in [
        Some(lower.as_str()),
        Some(unknown.as_str()),
        Some("\"urn:x\""),
        None,
    ] {
        let (status, fault) = soap_raw(&sim, action, body.clone()).await;
        assert_eq!(status, 500, "{action:?}");
        assert_fault(&fault);
    }
    let (status, fault) = soap_raw(&sim, Some(&mismatch), body).await;
    assert_eq!(status, 500);
    assert_fault(&fault);

    assert_eq!(sim.count("netid.get_object"), 1);
    assert_eq!(sim.count("netid.other"), 4);
    assert_eq!(sim.count("netid.logout"), 1);
    assert_eq!(sim.count("netid.soap"), 6);
}

#[tokio::test]
async fn wsdl_describes_the_operations() {
    let sim = netid(&opts()).await;
    let resp = client()
        .get(format!("{}/portal/service.svc?wsdl", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let wsdl = resp.text().await.unwrap();
    assert_eq!(start_element_names(&wsdl)[0], "definitions");
    for method in ["Login", "GetLoginStatus", "Logout", "GetObject"] {
        assert!(
            wsdl.contains(&format!("soapAction=\"{ACTION_PREFIX}{method}\"")),
            "{method}"
        );
    }
    assert!(wsdl.contains(&format!(
        "location=\"{}/portal/service.svc\"",
        sim.base_url()
    )));
    assert_eq!(sim.count("netid.wsdl"), 1);
}

#[tokio::test]
async fn get_object_application_info_over_soap() {
    let sim = netid(&opts()).await;
    let (status, body) = soap(
        &sim,
        "GetObject",
        "<SessionId></SessionId><Type>ApplicationInfo</Type><Id>0</Id><Count>1</Count>",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let names = start_element_names(&body);
    let from = names.iter().position(|n| n == "GetObjectResult").unwrap();
    assert_eq!(
        names[from..],
        [
            "GetObjectResult",
            "ApplicationInfo",
            "Name",
            "Version",
            "Copyright",
            "Updated",
            "CacheExpiration",
            "SystemMessage",
            "AllowedCertificateList",
            "SecurityMode",
            "IsEnabled",
            "EncryptionAlgorithm",
            "EncryptionLength",
            "CompressionAlgorithm",
            "HashAlgorithm",
            "Status",
            "Code",
            "Description"
        ]
    );
    assert_eq!(xml_text(&body, "IsEnabled").as_deref(), Some("True"));
    assert_eq!(
        xml_text(&body, "HashAlgorithm").as_deref(),
        Some("SHA256-HMAC")
    );
}
