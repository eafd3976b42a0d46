//! A third backend, defined entirely here: an OAuth2-introspection identity provider ("Acme")
//! with its own session ids. Registering its kind is the only thing the gateway is told; its
//! sessions are then answered on the native EnOS and Net iD faces, on the unified faces and
//! through forward-auth, and logged out through the gateway, like any other backend's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use idbridge_gateway::backend::{
    BackendKind, BuildContext, Built, IdentityBackend, LoginCall, LoginResult, OptionSpec,
};
use idbridge_gateway::endpoint::{Call, Endpoint};
use idbridge_gateway::error::{GatewayError, LoginOutcome, Rejection, UpstreamError};
use idbridge_session::{Backend, Organization, Session, SessionId, UnixTime};
use serde_json::{Value, json};

use crate::common;

// === the identity provider, as a test fake ===

/// Who is logged in at the provider, by token; and how often the gateway asked.
#[derive(Clone, Default)]
struct Provider {
    tokens: Arc<Mutex<HashMap<String, Value>>>,
    introspections: Arc<Mutex<u32>>,
    revocations: Arc<Mutex<Vec<String>>>,
}

async fn introspect(State(p): State<Provider>, Json(req): Json<Value>) -> Json<Value> {
    *p.introspections.lock().unwrap() += 1;
    let token = req["token"].as_str().unwrap_or_default();
    let known = p.tokens.lock().unwrap().get(token).cloned();
    Json(known.unwrap_or_else(|| json!({"active": false})))
}

async fn revoke(State(p): State<Provider>, Json(req): Json<Value>) -> Json<Value> {
    let token = req["token"].as_str().unwrap_or_default().to_owned();
    p.tokens.lock().unwrap().remove(&token);
    p.revocations.lock().unwrap().push(token);
    Json(json!({}))
}

async fn provider() -> (Provider, String) {
    let p = Provider::default();
    let app = Router::new()
        .route("/oauth2/introspect", post(introspect))
        .route("/oauth2/revoke", post(revoke))
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (p, url)
}

// === the backend kind: all the gateway needs to know of it ===

const OPTIONS: &[OptionSpec] = &[OptionSpec {
    key: "introspect_path",
    default: "/oauth2/introspect",
    meaning: "the provider's RFC 7662 introspection endpoint",
    check: idbridge_gateway::backend::check_path,
}];

#[derive(Debug)]
struct AcmeKind;

#[derive(Debug)]
struct Acme {
    name: Backend,
    endpoint: Arc<Endpoint>,
    introspect_path: String,
}

impl BackendKind for AcmeKind {
    fn kind(&self) -> &'static str {
        "acme"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn build(&self, cx: BuildContext<'_>) -> Result<Built, String> {
        Ok(Built {
            backend: Arc::new(Acme {
                name: cx.config.name,
                endpoint: cx.endpoint,
                introspect_path: cx.config.option("introspect_path").to_owned(),
            }),
            faces: Vec::new(),
            proxied: Vec::new(),
        })
    }
}

impl Acme {
    async fn call(&self, path: &str, op: &'static str, token: &str) -> Result<Value, GatewayError> {
        let reply = self
            .endpoint
            .post(Call {
                op,
                path,
                headers: vec![("content-type", "application/json".into())],
                body: Bytes::from(json!({ "token": token }).to_string()),
            })
            .await?;
        serde_json::from_slice(&reply.body)
            .map_err(|_| UpstreamError::BadResponse("not JSON".into()).into())
    }
}

#[async_trait]
impl IdentityBackend for Acme {
    fn name(&self) -> Backend {
        self.name
    }

    fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    fn recognises(&self, id: &str) -> bool {
        id.starts_with("acme_")
    }

    async fn login(&self, _: LoginCall<'_>, _: UnixTime) -> Result<LoginResult, GatewayError> {
        Err(GatewayError::LoginRefused(LoginOutcome::Refused))
    }

    async fn fetch(&self, id: &str, _: u64, now: UnixTime) -> Result<Session, GatewayError> {
        let v = self.call(&self.introspect_path, "status", id).await?;
        if v["active"] != true {
            return Err(GatewayError::NotLoggedIn(Rejection::NotFound));
        }
        let exp = v["exp"].as_i64().unwrap_or(0);
        let ttl = Duration::from_secs(u64::try_from(exp - now.as_secs()).unwrap_or(0));
        let mut s = Session::new(self.name, SessionId::new(id), now, ttl);
        s.subject.id = v["sub"].as_str().unwrap_or_default().to_owned();
        s.subject.name = v["name"].as_str().unwrap_or_default().to_owned();
        s.subject.email = v["email"].as_str().map(str::to_owned);
        s.working_org = v["org"].as_str().map(|org| {
            Box::new(Organization {
                id: org.to_lowercase(),
                name: org.to_owned(),
                ..Organization::default()
            })
        });
        Ok(s)
    }

    async fn logout(&self, id: &str, _: u64) -> Result<(), GatewayError> {
        self.call("/oauth2/revoke", "logout", id).await.map(|_| ())
    }
}

// === the test ===

#[tokio::test]
async fn a_backend_defined_outside_the_gateway_is_answered_on_every_face() {
    let (provider, url) = provider().await;
    let h = common::builder()
        .kind(Arc::new(AcmeKind))
        .backend("acme", "acme", &url)
        .start()
        .await;
    let id = "acme_7f3a9c0e5b1d4a6f";
    let exp = UnixTime::from_system(std::time::SystemTime::now()).as_secs() + 3600;
    provider.tokens.lock().unwrap().insert(
        id.to_owned(),
        json!({"active": true, "sub": "ada", "name": "Ada Lovelace",
               "email": "ada@acme.example", "org": "Acme", "exp": exp}),
    );

    // EnOS native face: session/info in EnOS's shape.
    let (status, v) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["session"]["user"]["name"], "Ada Lovelace", "{v}");
    assert_eq!(v["session"]["workingOrganization"]["name"], "Acme", "{v}");

    // Net iD native face: GetLoginStatus over REST and SOAP, in Net iD's shape.
    let (status, v) = h.netid_status(id, 3).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["IsLoggedIn"].as_str(), v["Name"].as_str()),
        (Some("True"), Some("Ada Lovelace"))
    );
    assert_eq!(v["Count"], "3");
    let (status, xml) = h
        .soap(
            "GetLoginStatus",
            &format!("<SessionId>{id}</SessionId><Count>4</Count>"),
        )
        .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        common::xml_text(&xml, "Name").as_deref(),
        Some("Ada Lovelace")
    );

    // Unified REST face.
    let resp = h
        .http
        .get(h.url("/idbridge/v1/session"))
        .bearer_auth(id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["session"]["backend"], "acme", "{v}");
    assert_eq!(v["session"]["subject"]["email"], "ada@acme.example");

    // Forward-auth.
    let resp = h
        .http
        .get(h.url("/idbridge/v1/auth"))
        .bearer_auth(id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| resp.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-auth-request-user"), "ada");
    assert_eq!(header("x-auth-request-backend"), "acme");

    // One introspection for all of that: the rest were answered from the store.
    assert_eq!(*provider.introspections.lock().unwrap(), 1);

    // An id of no backend's form is refused without a call anywhere.
    let (status, v) = h.enos_info("Bearer nobody_knows_this").await;
    assert_eq!((status, v["status"].as_i64()), (200, Some(30401)), "{v}");
    assert_eq!(*provider.introspections.lock().unwrap(), 1);

    // Logout through the gateway reaches the provider, and the session is gone everywhere.
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/idbridge/v1/logout",
            Some(&format!("Bearer {id}")),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(*provider.revocations.lock().unwrap(), vec![id.to_owned()]);
    let (status, v) = h.netid_status(id, 5).await;
    assert_eq!(
        (status, v["IsLoggedIn"].as_str()),
        (200, Some("False")),
        "{v}"
    );

    // Metrics and readiness know the new backend by its name.
    let metrics = h.metrics().await;
    assert!(
        metrics.contains(
            r#"idbridge_upstream_requests_total{backend="acme",operation="status",outcome="ok"} 1"#
        ),
        "{metrics}"
    );
    let ready: Value = h
        .http
        .get(format!("{}/readyz", h.gw.admin_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["backends"]["acme"], "up", "{ready}");
}

#[tokio::test]
async fn the_kind_checks_its_own_keys() {
    let sources = idbridge_gateway::config::Sources {
        default_file: None,
        file: None,
        env: Some(
            [
                ("IDBRIDGE__BACKENDS__ACME__KIND", "acme"),
                ("IDBRIDGE__BACKENDS__ACME__URL", "http://127.0.0.1:9"),
                ("IDBRIDGE__BACKENDS__ACME__INTROSPECT_PATH", "no-slash"),
                ("IDBRIDGE__BACKENDS__ACME__LOGOUT_PATH", "/not/an/acme/key"),
                ("IDBRIDGE__BACKENDS__OTHER__URL", "http://127.0.0.1:9"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ),
    };
    let kinds = idbridge_gateway::backend::Kinds::default().register(Arc::new(AcmeKind));
    let err = idbridge_gateway::config::load_with(&sources, &kinds).unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "backends.acme.introspect_path",
            "backends.acme.logout_path",
            "backends.other.kind"
        ],
        "{err}"
    );
    // Without the kind registered, an acme table is a problem, not a silent skip.
    let err = idbridge_gateway::config::load(&sources).unwrap_err();
    assert!(
        err.to_string()
            .contains("backends.acme.kind: `acme` is not one of: enos, netid"),
        "{err}"
    );
}
