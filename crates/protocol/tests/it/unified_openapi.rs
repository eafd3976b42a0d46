//! The OpenAPI 3.1 document: its shape, its references, and — with the `jsonschema` crate
//! (draft 2020-12, formats asserted) — that every body the renderers produce for both backends'
//! golden samples validates against the matching component schema, that near misses do not, and
//! that the Log In schema and decoder accept exactly the same bodies.

use idbridge_protocol::Limits;
use idbridge_protocol::enos::{EnosReply, decode_response, session_from_enos};
use idbridge_protocol::netid::{rest, session_from_login_status};
use idbridge_protocol::unified::json::{
    decode_login_request, error_body, logout_response, openapi,
};
use idbridge_session::{Session, SessionId, UnixTime};
use jsonschema::Validator;
use serde_json::{Value, json};

use crate::unified_json::{login_response, session_response, session_view};

const ENOS_LOGIN: &str = include_str!("../data/enos-login-response.json");
const ENOS_INFO: &str = include_str!("../data/enos-session-info-response.json");
const NETID_REST: &str = include_str!("../data/netid-getloginstatus-response.json");
const ENOS_NOW: UnixTime = UnixTime(1_562_850_052);
const NETID_NOW: UnixTime = UnixTime(1_677_050_100);

fn enos_session(sample: &str) -> Session {
    let EnosReply::Success(payload) =
        decode_response(sample.as_bytes(), &Limits::default()).unwrap()
    else {
        panic!("the sample is a success")
    };
    session_from_enos(&payload["session"], ENOS_NOW).unwrap()
}

fn netid_session() -> Session {
    let status = rest::decode_login_status(NETID_REST.as_bytes(), &Limits::default()).unwrap();
    session_from_login_status(&status, SessionId::new("c2lk"), NETID_NOW).unwrap()
}

/// Sessions and the instants to render them at: both samples, live and expired.
fn sessions() -> Vec<(Session, UnixTime)> {
    vec![
        (enos_session(ENOS_LOGIN), ENOS_NOW),
        (enos_session(ENOS_INFO), ENOS_NOW),
        (enos_session(ENOS_LOGIN), UnixTime(ENOS_NOW.0 + 100_000)),
        (netid_session(), NETID_NOW),
        (netid_session(), UnixTime(NETID_NOW.0 + 100_000)),
    ]
}

/// A validator for one component schema, resolving `#/components/schemas/…` in the document.
fn validator(name: &str) -> Validator {
    let doc = openapi();
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_valid(v: &Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{instance:#}");
}

/// `instance` with the value at `pointer` replaced (or, with `None`, removed).
fn edited(instance: &Value, pointer: &str, value: Option<Value>) -> Value {
    let mut out = instance.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let object = out.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match value {
        Some(v) => object.insert(key.to_owned(), v),
        None => object.remove(key),
    };
    out
}

// === the renderers' output validates ===

#[test]
fn every_rendered_response_validates() {
    let (login, session, logout, error) = (
        validator("LoginResponse"),
        validator("SessionResponse"),
        validator("LogoutResponse"),
        validator("Error"),
    );
    let view = validator("Session");
    for (s, now) in sessions() {
        let what = format!("{:?} at {}", s.backend, now.0);
        assert_valid(&view, &session_view(&s, now), &what);
        assert_valid(&login, &login_response(&s, "eyJ.a.b", 900, now), &what);
        assert_valid(&session, &session_response(&s, now), &what);
    }
    assert_valid(&logout, &logout_response(), "logout");
    assert_valid(
        &error,
        &error_body("invalid_token", "The token is not valid."),
        "error",
    );
}

#[test]
fn near_misses_do_not_validate() {
    let s = enos_session(ENOS_LOGIN);
    let login = validator("LoginResponse");
    let good = login_response(&s, "eyJ.a.b", 900, ENOS_NOW);
    let bad = [
        ("/extra", Some(json!(1))),
        ("/session/id", Some(json!("IAM_S_x"))),
        ("/session/subject/extra", Some(json!({}))),
        ("/session/organization/extra", Some(json!(1))),
        ("/session/expires_in", Some(json!("7200"))),
        ("/session/expires_in", Some(json!(-1))),
        ("/session/idle_timeout", Some(json!(1.5))),
        ("/session/subject/name", Some(Value::Null)),
        ("/session/subject/kind", Some(json!("admin"))),
        ("/session/backend", Some(json!("ldap"))),
        ("/session/created_at", Some(json!("2019-07-11 12:55:46"))),
        ("/session/created_at", Some(json!("2019-07-11T12:55:46.5Z"))),
        ("/session/usages", Some(json!([1]))),
        (
            "/session/organizations",
            Some(json!([{"id": "9", "name": "x", "domain": null}])),
        ),
        ("/token_type", Some(json!("bearer"))),
        ("/session/subject/email", None),
        ("/session/home_organization", None),
        ("/token", None),
    ];
    for (pointer, value) in bad {
        let instance = edited(&good, pointer, value.clone());
        assert!(!login.is_valid(&instance), "{pointer} = {value:?} passed");
    }
    assert!(!validator("LogoutResponse").is_valid(&json!({"logged_out": false})));
    let error = validator("Error");
    assert!(!error.is_valid(&json!({"error": {"code": "x"}})));
    assert!(!error.is_valid(&json!({"error": {"code": "x", "message": "y", "detail": 1}})));
    assert!(!error.is_valid(&json!({"code": "x", "message": "y"})));
}

#[test]
fn jwks_schema_takes_the_gateways_key_shapes_only() {
    let jwks = validator("Jwks");
    let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k1", "use": "sig", "alg": "EdDSA"});
    let ec = json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "k2", "use": "sig", "alg": "ES256"});
    assert_valid(&jwks, &json!({"keys": [okp, ec]}), "both kinds");
    assert_valid(&jwks, &json!({"keys": []}), "HS256: nothing published");
    for (key, pointer, value) in [
        (&okp, "/d", Some(json!("private!"))),
        (&okp, "/kty", Some(json!("RSA"))),
        (&okp, "/alg", Some(json!("ES256"))),
        (&ec, "/y", None),
        (&ec, "/x", Some(json!("not base64url="))),
        (&ec, "/use", Some(json!("enc"))),
    ] {
        let instance = json!({"keys": [edited(key, pointer, value.clone())]});
        assert!(!jwks.is_valid(&instance), "{pointer} = {value:?} passed");
    }
}

/// The schema and `decode_login_request` agree on every body (duplicate keys and limits aside,
/// which a schema cannot see).
#[test]
fn login_request_schema_and_decoder_agree() {
    let schema = validator("LoginRequest");
    let bodies = [
        json!({"backend": "enos", "principal": "p", "credentials": "c"}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "auth_type": 1, "link_name": "corp", "expire_interval": 3600}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "auth_type": null, "link_name": null, "expire_interval": null}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "expire_interval": u64::MAX}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "auth_type": 1.0}),
        json!({"backend": "netid", "certificate": "MIIB"}),
        json!({"backend": "netid", "certificate": "MIIB", "role": "Officer"}),
        json!({"backend": "netid", "certificate": "MIIB", "role": null}),
        // Rejected by both:
        json!({"principal": "p", "credentials": "c"}),
        json!({"backend": "ldap", "principal": "p", "credentials": "c"}),
        json!({"backend": "enos", "principal": "p"}),
        json!({"backend": "enos", "principal": "", "credentials": "c"}),
        json!({"backend": "enos", "principal": "p", "credentials": ""}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "auth_type": 2}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "auth_type": "0"}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "expire_interval": -1}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "expire_interval": 1.5}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "expire_interval": 1e20}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "authType": 0}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "certificate": "x"}),
        json!({"backend": "enos", "principal": "p", "credentials": "c", "role": null}),
        json!({"backend": "netid"}),
        json!({"backend": "netid", "certificate": ""}),
        json!({"backend": "netid", "certificate": "MIIB", "role": "self"}),
        json!({"backend": "netid", "certificate": "MIIB", "principal": null}),
        json!({"backend": "netid", "certificate": 7}),
        json!(["backend", "netid"]),
    ];
    for body in bodies {
        let decoded = decode_login_request(body.to_string().as_bytes(), &Limits::default());
        assert_eq!(
            decoded.is_ok(),
            schema.is_valid(&body),
            "{body}: decoder says {decoded:?}"
        );
    }
}

// === the document itself ===

#[test]
fn document_is_openapi_3_1_with_every_operation() {
    let doc = openapi();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let bearer = json!([{"bearer": []}, {"cookie": []}]);
    let ops = [
        (
            "/idbridge/v1/login",
            "post",
            json!([]),
            &["200", "400", "401", "403", "429", "502", "503", "504"][..],
        ),
        (
            "/idbridge/v1/session",
            "get",
            bearer.clone(),
            &["200", "401", "429"][..],
        ),
        (
            "/idbridge/v1/logout",
            "post",
            bearer.clone(),
            &["200", "401", "429"][..],
        ),
        (
            "/idbridge/v1/auth",
            "get",
            bearer.clone(),
            &["200", "401", "429", "503"][..],
        ),
        ("/.well-known/jwks.json", "get", json!([]), &["200"][..]),
        ("/idbridge/v1/openapi.json", "get", json!([]), &["200"][..]),
    ];
    assert_eq!(doc["paths"].as_object().unwrap().len(), ops.len());
    for (path, method, security, codes) in ops {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path}");
        assert_eq!(op["security"], security, "{path}");
        for code in codes {
            assert!(op["responses"][code].is_object(), "{path} {code}");
        }
    }
    let auth = &doc["paths"]["/idbridge/v1/auth"]["get"]["responses"]["200"];
    for header in [
        "X-Auth-Request-User",
        "X-Auth-Request-Email",
        "X-Auth-Request-Org",
        "X-Auth-Request-Backend",
    ] {
        assert!(auth["headers"][header].is_object(), "{header}");
    }
    assert!(
        auth.get("content").is_none(),
        "forward-auth has an empty body"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for name in [
        "Session",
        "Subject",
        "Organization",
        "LoginRequest",
        "LoginRequestEnos",
        "LoginRequestNetid",
        "LoginResponse",
        "SessionResponse",
        "LogoutResponse",
        "Error",
        "Jwks",
    ] {
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
}

/// Every `$ref` points at something, and every response object schema is closed and complete.
#[test]
fn refs_resolve_and_response_schemas_are_exact() {
    fn walk(v: &Value, refs: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r.clone());
                }
                map.values().for_each(|c| walk(c, refs));
            }
            Value::Array(items) => items.iter().for_each(|c| walk(c, refs)),
            _ => {}
        }
    }
    let doc = openapi();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(refs.len() > 20);
    for r in refs {
        let pointer = r.strip_prefix('#').unwrap();
        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        if schema["type"] != "object" {
            continue;
        }
        assert_eq!(schema["additionalProperties"], false, "{name}");
        if name.starts_with("LoginRequest") {
            continue;
        }
        let mut props: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        props.sort();
        required.sort_unstable();
        assert_eq!(props, required, "{name}: every property is required");
    }
}
