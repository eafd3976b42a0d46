//! Shared harness: both simulators and the gateway in process on ephemeral ports, built with
//! [`builder`] for any number of backends.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use idbridge_gateway::RunningGateway;
use idbridge_gateway::backend::{BackendKind, Kinds};
pub use idbridge_gateway::config::AppRoute;
use idbridge_gateway::config::{Config, Sources, load_with};
use idbridge_protocol::netid::proof::ClientKey;
use idbridge_sim::{SimOptions, Simulator};
use serde_json::{Value, json};

pub const NS: &str = "http://www.pointsharp.com/netid/server/portal";
pub const DEMO_PRINCIPAL: &str = "portal_test01";
pub const DEMO_PASSWORD: &str = "Demo-Passw0rd";
/// The demo user's organisation at the EnOS simulator.
pub const DEMO_ORG: &str = "o15578227985571";

pub struct Harness {
    pub enos: Simulator,
    pub netid: Simulator,
    pub gw: RunningGateway,
    pub http: reqwest::Client,
    /// What the gateway was started with, for a restart.
    pub config: Config,
    pub kinds: Kinds,
}

/// Builds a harness: both simulators and a gateway in front of them, plus whatever backends
/// (and kinds) a test adds. The configuration goes through the real loader, as environment
/// variables, so a test's backend is configured exactly as an operator would configure it.
#[derive(Default)]
pub struct Builder<'a> {
    kinds: Kinds,
    env: HashMap<String, String>,
    tweaks: Vec<Tweak<'a>>,
    /// Serve the simulators over TLS with this PKI (made by scripts/make-tls-certs.sh).
    sim_tls: Option<PathBuf>,
    /// EnOS failed logins that lock the simulator's logins out; its default when `None`.
    enos_lockout_failures: Option<usize>,
}

type Tweak<'a> = Box<dyn FnOnce(&mut Config) + 'a>;

pub fn builder<'a>() -> Builder<'a> {
    Builder::default()
}

pub async fn start() -> Harness {
    builder().start().await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    builder().config(tweak).start().await
}

/// The process-wide subscriber: logs show for failing tests only (the test writer); RUST_LOG
/// widens them. The TLS handshake-failure counter listens too, as in the binary. Idempotent.
pub fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    let fmt = tracing_subscriber::fmt::layer()
        .with_test_writer()
        .with_filter(tracing_subscriber::EnvFilter::new(
            idbridge_gateway::logging::filter(&filter),
        ));
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(idbridge_gateway::tls::HandshakeFailures::layer())
        .try_init();
}

/// External tools are required under `make test` (IDBRIDGE_REQUIRE_TOOLS=1), optional elsewhere.
pub fn tool_available(check: &str, args: &[&str]) -> bool {
    let ok = std::process::Command::new(check)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("IDBRIDGE_REQUIRE_TOOLS").is_ok() {
        panic!("{check} {args:?} is required by make test but not usable");
    }
    if !ok {
        eprintln!("skipping the {check} check: not installed");
    }
    ok
}

/// A fresh demo PKI (CA, server and client certificates), made by the project's script.
pub fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/make-tls-certs.sh"
    );
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

impl<'a> Builder<'a> {
    /// Registers a backend kind the gateway does not have built in.
    pub fn kind(mut self, kind: Arc<dyn BackendKind>) -> Self {
        self.kinds = self.kinds.register(kind);
        self
    }

    /// Sets one configuration key (`backends.acme.url`), as its environment variable would.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(Config::env_name(key), value.into());
        self
    }

    /// Sets `key` unless the test has set it.
    pub fn set_default(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env
            .entry(Config::env_name(key))
            .or_insert_with(|| value.into());
        self
    }

    /// A backend `[backends.<name>]` of `kind` at `url`.
    pub fn backend(self, name: &str, kind: &str, url: &str) -> Self {
        self.set(&format!("backends.{name}.kind"), kind)
            .set(&format!("backends.{name}.url"), url)
    }

    /// The simulators speak TLS with `pki`'s server certificate; the gateway reaches them over
    /// https:// and trusts `pki`'s CA (`backends.*.ca_file`).
    pub fn tls_backends(mut self, pki: &Path) -> Self {
        self.sim_tls = Some(pki.to_path_buf());
        self.trusting(pki)
    }

    /// The backends' certificates are checked against `pki`'s CA.
    pub fn trusting(self, pki: &Path) -> Self {
        let ca = pki.join("ca.pem").display().to_string();
        self.set("backends.enos.ca_file", ca.clone())
            .set("backends.netid.ca_file", ca)
    }

    /// A TLS listener with `pki`'s server certificate, on an ephemeral port.
    pub fn tls_listener(self, pki: &Path) -> Self {
        self.set("server.tls.listen", "127.0.0.1:0")
            .set(
                "server.tls.cert_file",
                pki.join("server.pem").display().to_string(),
            )
            .set(
                "server.tls.key_file",
                pki.join("server-key.pem").display().to_string(),
            )
    }

    /// The EnOS simulator locks logins out only after this many failures.
    pub fn enos_lockout_failures(mut self, failures: usize) -> Self {
        self.enos_lockout_failures = Some(failures);
        self
    }

    /// Changes the loaded configuration before the gateway starts.
    pub fn config(mut self, tweak: impl FnOnce(&mut Config) + 'a) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    pub async fn start(self) -> Harness {
        init_logging();
        let mut opts = SimOptions::default();
        if let Some(failures) = self.enos_lockout_failures {
            opts.enos_lockout_failures = failures;
        }
        if let Some(pki) = &self.sim_tls {
            let config = idbridge_sim::tls::server_config(
                &pki.join("server.pem"),
                &pki.join("server-key.pem"),
            )
            .unwrap();
            opts.tls = Some(config);
        }
        let any = "127.0.0.1:0".parse().unwrap();
        let enos = Simulator::start_enos(any, &opts).await.unwrap();
        let netid = Simulator::start_netid(any, &opts).await.unwrap();
        let builder = self
            .set("server.listen", "127.0.0.1:0")
            .set("server.admin_listen", "127.0.0.1:0")
            .set("backends.enos.url", enos.base_url())
            .set("backends.netid.url", netid.base_url())
            .set("backends.enos.timeout", "2s")
            .set("backends.netid.timeout", "2s")
            // On the test's own runtime, as the tests were written: its thread-local log capture
            // sees the gateway's lines, and a single-threaded runtime finishes a request's
            // logging phase (metrics, access line) before the test's next step. The default,
            // threads that keep their connections, has its own scenario (`runtime.rs`) and is
            // what the CLI tests and the benchmarks run.
            .set_default("server.work_stealing", "true");
        let sources = Sources {
            default_file: None,
            file: None,
            env: Some(builder.env),
        };
        let mut config = load_with(&sources, &builder.kinds).unwrap();
        for tweak in builder.tweaks {
            tweak(&mut config);
        }
        let gw = RunningGateway::start_with(config.clone(), builder.kinds.clone())
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Harness {
            enos,
            netid,
            gw,
            http,
            config,
            kinds: builder.kinds,
        }
    }
}

/// A protected app route with the default timeouts.
pub fn app_route(prefix: &str, upstream: &str, strip_prefix: bool) -> AppRoute {
    let defaults = Config::defaults().unwrap();
    AppRoute {
        forward_credentials: false,
        prefix: prefix.into(),
        upstream: upstream.parse().unwrap(),
        strip_prefix,
        timeouts: defaults.backend("enos").unwrap().timeouts,
        tls: Default::default(),
    }
}

/// John Doe's demo private key: what proves a Net iD login's step 2.
pub fn demo_key() -> ClientKey {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/demo/john-doe.key"
    ))
    .unwrap();
    ClientKey::from_pem(&pem).unwrap()
}

/// The answer to a Net iD challenge (step 1's `SessionId` and `Value`), with John Doe's key.
pub fn answer(session_id: &str, value: &str) -> String {
    demo_key().answer(session_id, value).unwrap()
}

pub fn demo_cert() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/demo/john-doe.cer"
    ))
    .unwrap()
    .trim()
    .to_owned()
}

pub fn soap_action(method: &str) -> String {
    format!("\"{NS}/IServiceSoap/{method}\"")
}

pub fn soap_envelope(method: &str, info: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><{method} xmlns="{NS}"><Info>{info}</Info></{method}></s:Body></s:Envelope>"#
    )
}

/// The text of the first element named `name` in an XML document.
pub fn xml_text(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].to_owned())
}

impl Harness {
    /// Stops the chosen simulators while the gateway keeps pointing at their (now closed) ports.
    /// `Simulator::shutdown` consumes it, so each stopped one is replaced by a fresh simulator on
    /// another port that the gateway does not know.
    pub async fn with_backends_stopped(self, stop_enos: bool, stop_netid: bool) -> Harness {
        let Harness {
            mut enos,
            mut netid,
            gw,
            http,
            config,
            kinds,
        } = self;
        let any = "127.0.0.1:0".parse().unwrap();
        let opts = SimOptions::default();
        if stop_enos {
            std::mem::replace(&mut enos, Simulator::start_enos(any, &opts).await.unwrap())
                .shutdown()
                .await;
        }
        if stop_netid {
            std::mem::replace(
                &mut netid,
                Simulator::start_netid(any, &opts).await.unwrap(),
            )
            .shutdown()
            .await;
        }
        Harness {
            enos,
            netid,
            gw,
            http,
            config,
            kinds,
        }
    }

    /// Stops the gateway and starts a new one with the same configuration (same key ring), in
    /// front of the same simulators: what a restart of the process does. Listeners on port 0
    /// come back on new ports; use `gw.base_url()` after.
    pub async fn restart(self) -> Harness {
        let Harness {
            enos,
            netid,
            gw,
            http,
            config,
            kinds,
        } = self;
        gw.shutdown().await;
        let gw = RunningGateway::start_with(config.clone(), kinds.clone())
            .await
            .unwrap();
        Harness {
            enos,
            netid,
            gw,
            http,
            config,
            kinds,
        }
    }

    /// The admin listener's `/metrics` page.
    pub async fn metrics(&self) -> String {
        self.metrics_at(&self.gw.admin_url()).await
    }

    /// The `/metrics` page of the admin listener at `admin` (another replica's).
    pub async fn metrics_at(&self, admin: &str) -> String {
        let url = format!("{admin}/metrics");
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// GET on the gateway, answer parsed as JSON.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self.http.get(self.url(path)).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gw.base_url())
    }

    pub async fn post_json(
        &self,
        base: &str,
        path: &str,
        auth: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut req = self.http.post(format!("{base}{path}")).json(&body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// EnOS login through the gateway with the demo account; returns the session id.
    pub async fn enos_login(&self) -> String {
        let body =
            json!({"authType": 0, "principal": DEMO_PRINCIPAL, "credentials": DEMO_PASSWORD});
        let (status, v) = self
            .post_json(
                &self.gw.base_url(),
                "/enos-iam-service/v2.0/login",
                None,
                body,
            )
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["success"], true, "{v}");
        v["session"]["id"].as_str().unwrap().to_owned()
    }

    /// EnOS login straight at the simulator: a session the gateway has never seen.
    pub async fn enos_login_direct(&self) -> String {
        let body =
            json!({"authType": 0, "principal": DEMO_PRINCIPAL, "credentials": DEMO_PASSWORD});
        let (_, v) = self
            .post_json(
                &self.enos.base_url(),
                "/enos-iam-service/v2.0/login",
                None,
                body,
            )
            .await;
        v["session"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn enos_info(&self, auth: &str) -> (u16, Value) {
        self.post_json(
            &self.gw.base_url(),
            "/enos-iam-service/v2.0/session/info",
            Some(auth),
            json!({}),
        )
        .await
    }

    /// EnOS logout through the gateway with `auth` (the whole `Authorization` value).
    pub async fn enos_logout(&self, auth: &str) -> (u16, Value) {
        self.post_json(
            &self.gw.base_url(),
            "/enos-iam-service/v2.0/logout",
            Some(auth),
            json!({}),
        )
        .await
    }

    /// EnOS `organization/info` of the demo's organisation through the gateway, which passes it
    /// through untouched; `auth` is the session id, as EnOS takes it.
    pub async fn enos_org_info(&self, auth: &str) -> (u16, Value) {
        self.post_json(
            &self.gw.base_url(),
            "/enos-iam-service/v2.0/organization/info",
            Some(auth),
            json!({"id": DEMO_ORG}),
        )
        .await
    }

    /// Net iD REST login step 1 through `base`: the SessionId and the sealed nonce.
    pub async fn netid_begin_at(&self, base: &str) -> (String, String) {
        let body =
            json!({"Certificate": demo_cert(), "DateTime": "2026-11-23T10:00:00Z", "Role": "Self"});
        let (status, v) = self.post_json(base, "/api/login", None, body).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["Status"]["Code"], "Success", "{v}");
        (
            v["SessionId"].as_str().unwrap().to_owned(),
            v["Value"].as_str().unwrap().to_owned(),
        )
    }

    /// Net iD REST login through `base`, both steps; returns the SessionId.
    pub async fn netid_login_at(&self, base: &str) -> String {
        let (id, value) = self.netid_begin_at(base).await;
        let body = json!({"SessionId": id, "Value": answer(&id, &value)});
        let (status, v) = self.post_json(base, "/api/login", None, body).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["Status"]["Code"], "Success", "{v}");
        id
    }

    /// Net iD SOAP login through the gateway, both steps; returns the SessionId.
    pub async fn netid_soap_login(&self) -> String {
        let info = format!(
            "<Certificate>{}</Certificate><DateTime>2026-11-23T10:00:00Z</DateTime><Role>Self</Role>",
            demo_cert()
        );
        let (status, xml) = self.soap("Login", &info).await;
        assert_eq!(status, 200, "{xml}");
        assert_eq!(xml_text(&xml, "Code").as_deref(), Some("Success"), "{xml}");
        let id = xml_text(&xml, "SessionId").unwrap();
        let value = xml_text(&xml, "Value").unwrap();
        let info = format!(
            "<SessionId>{id}</SessionId><Value>{}</Value>",
            answer(&id, &value)
        );
        let (status, xml) = self.soap("Login", &info).await;
        assert_eq!(status, 200, "{xml}");
        assert_eq!(xml_text(&xml, "Code").as_deref(), Some("Success"), "{xml}");
        id
    }

    /// `GET /idbridge/v1/session` with `credential` as the bearer: (status, body).
    pub async fn unified_session(&self, credential: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(self.url("/idbridge/v1/session"))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// A Net iD login through the unified REST face, both steps: step 2's (status, body).
    pub async fn unified_netid_login(&self) -> (u16, Value) {
        let base = self.gw.base_url();
        let step1 = json!({"backend": "netid", "certificate": demo_cert()});
        let (status, v) = self
            .post_json(&base, "/idbridge/v1/login", None, step1)
            .await;
        assert_eq!(status, 200, "{v}");
        let c = &v["challenge"];
        let id = c["session_id"].as_str().unwrap();
        let value = c["value"].as_str().unwrap();
        let step2 = json!({"backend": "netid", "session_id": id, "answer": answer(id, value)});
        self.post_json(&base, "/idbridge/v1/login", None, step2)
            .await
    }

    pub async fn netid_login(&self) -> String {
        self.netid_login_at(&self.gw.base_url()).await
    }

    pub async fn netid_status(&self, id: &str, count: u64) -> (u16, Value) {
        let body = json!({"SessionId": id, "Count": count.to_string()});
        self.post_json(&self.gw.base_url(), "/api/login/status/get", None, body)
            .await
    }

    pub async fn soap(&self, method: &str, info: &str) -> (u16, String) {
        self.soap_raw(&soap_action(method), soap_envelope(method, info))
            .await
    }

    pub async fn soap_raw(&self, action: &str, body: String) -> (u16, String) {
        let resp = self
            .http
            .post(self.url("/portal/service.svc"))
            .header("Content-Type", "text/xml; charset=\"utf-8\"")
            .header("SOAPAction", action)
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}
