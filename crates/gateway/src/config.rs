//! Gateway configuration: layered sources, parsed into raw structs, validated into one [`Config`].
//!
//! Layers, later wins: built-in defaults ← `config/idbridge.toml` (when present) ← the file given
//! with `--config` (must exist) ← environment variables `IDBRIDGE__SECTION__KEY`.
//!
//! Loading follows parse → validate → build (DESIGN §4.3): the merged sources are read into serde
//! raw structs ([`raw`], `deny_unknown_fields`, every value still text), then every value is
//! checked on its own ([`validate`]), so one bad value does not hide the next and every problem,
//! with its key path, is reported at once. Unknown keys are problems too: a typo such as
//! `revalidate_afer` must not silently fall back to a default. The runtime (faces, backends,
//! store, router, endpoints) is built from the validated config by [`crate::runtime`].
//!
//! Backends are named tables with a `kind` (`[backends.<name>]`); `enos` and `netid` exist by
//! default, each of its own kind, so `backends.enos.url` and the rest keep meaning what they did.

mod raw;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use idbridge_session::Backend;
use url::Url;

use crate::backend::Kinds;
pub use crate::conn::ConnLimits;

/// The file read first when it exists, relative to the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "config/idbridge.toml";
/// Environment overrides are `IDBRIDGE__SECTION__KEY`.
pub const ENV_PREFIX: &str = "IDBRIDGE";

/// The validated configuration the gateway runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    /// By name.
    pub backends: Vec<BackendConfig>,
    pub cache: CacheConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub admin: AdminConfig,
    pub tokens: TokensConfig,
    /// Protected apps, matched by path prefix in this order.
    pub routes: Vec<AppRoute>,
    pub store: StoreConfig,
}

/// `[store]`: where the session store lives. Without a Redis URL, in this process only.
/// `Debug` never shows the URL, which may carry a password.
#[derive(Clone, PartialEq, Default)]
pub struct StoreConfig {
    /// `redis://`, `rediss://`, `redis-sentinel://`, `redis-cluster://` or `redis+unix://`.
    pub redis_url: Option<String>,
    /// Every key and the revocation channel start with it.
    pub key_prefix: String,
    /// Bound on every Redis call; past it the call fails and the gateway works degraded.
    pub timeout: Duration,
    /// CA certificates for a `rediss://` server (system roots when absent).
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<redacted>"))
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// One `[backends.<name>]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendConfig {
    pub name: Backend,
    /// Which [`BackendKind`](crate::backend::BackendKind) builds it.
    pub kind: String,
    /// Base URL (scheme, host, port); request paths are kept as the client sent them.
    pub url: Url,
    pub timeouts: Timeouts,
    /// How an `https://` backend is verified and authenticated to.
    pub tls: UpstreamTlsConfig,
    /// Most calls the gateway makes to this backend at once; beyond, 503 at once.
    pub max_concurrent_calls: usize,
    /// The kind's own keys, checked against its [`OptionSpec`](crate::backend::OptionSpec)s,
    /// defaults filled in.
    pub options: BTreeMap<String, String>,
}

/// Timeouts of one backend or app. The first five are for proxied traffic; `call` bounds one call
/// the gateway makes itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP connection (`connect_timeout`).
    pub connect: Duration,
    /// Waiting for the next bytes of an answer: a stalled upstream ends here (`read_timeout`).
    pub read: Duration,
    /// Writing the next bytes of a request (`write_timeout`).
    pub write: Duration,
    /// Keeping an unused pooled connection open (`idle_timeout`).
    pub idle: Duration,
    /// A whole proxied request, however its bytes trickle in (`request_timeout`).
    pub request: Duration,
    /// One call the gateway makes itself: login, status, logout (`timeout`).
    pub call: Duration,
}

/// An app the gateway proxies only for a valid session, with the verified identity injected as
/// `X-Auth-Request-*` headers (any such header from the client is removed first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRoute {
    /// Path prefix, e.g. `/app/`.
    pub prefix: String,
    pub upstream: Url,
    /// Remove the prefix before proxying (`/app/x` reaches the app as `/x`).
    pub strip_prefix: bool,
    /// Send the app the client's gateway token (`Authorization: Bearer`, the `idbridge_token`
    /// cookie). Off by default: an app gets the verified identity headers, not a credential it
    /// could replay elsewhere.
    pub forward_credentials: bool,
    pub timeouts: Timeouts,
    pub tls: UpstreamTlsConfig,
}

/// TLS towards an `https://` backend or app. Its certificate is always verified: against the
/// system's roots, or `ca_file`; for the URL's host, or `sni`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamTlsConfig {
    /// PEM CA certificates to verify the upstream with, instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The name to send (SNI) and to verify the certificate for, instead of the URL's host.
    pub sni: Option<String>,
    /// A client certificate and its key, for upstreams that demand mTLS.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

/// The TLS listener (`[server.tls]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerTls {
    pub listen: SocketAddr,
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key of the leaf certificate.
    pub key_file: PathBuf,
    /// PEM CA certificates that client certificates must chain to; `None`: no client
    /// certificates asked for.
    pub client_ca_file: Option<PathBuf>,
    pub client_auth: ClientAuth,
}

/// Whether a client certificate is required when `client_ca_file` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate, no connection (refused at the handshake).
    Required,
    /// A certificate, when sent, must verify; none is also accepted.
    Optional,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAlgorithm {
    EdDsa,
    Es256,
    /// Symmetric: every verifier holds the signing secret. Only when explicitly configured.
    Hs256,
}

/// Gateway tokens (JWTs). `Debug` never shows the HS256 secret.
#[derive(Clone, PartialEq)]
pub struct TokensConfig {
    pub issuer: String,
    pub audience: String,
    /// Lifetime of a token; never beyond its session's expiry.
    pub ttl: Duration,
    pub leeway: Duration,
    pub algorithm: TokenAlgorithm,
    /// PEM private keys (PKCS#8; Ed25519 or P-256); `None` generates one at start-up (demo).
    pub key_dir: Option<PathBuf>,
    /// The key id (file stem) that signs; `None` takes the last file by name.
    pub signing_kid: Option<String>,
    pub hs256_secret: Option<String>,
}

impl fmt::Debug for TokensConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokensConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .field("algorithm", &self.algorithm)
            .field("key_dir", &self.key_dir)
            .field("signing_kid", &self.signing_kid)
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The admin API's settings. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AdminConfig {
    /// Bearer token for the admin API; `None` disables the API.
    pub token: Option<String>,
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = if self.token.is_some() {
            "<redacted>"
        } else {
            "<none>"
        };
        f.debug_struct("AdminConfig")
            .field("token", &token)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// The plain main listener: native backend faces and the gateway's own faces. `None` when
    /// turned off (`server.listen = "off"`), for a TLS-only edge.
    pub listen: Option<SocketAddr>,
    /// Metrics, health and the admin API; keep it off the public interface.
    pub admin_listen: SocketAddr,
    /// The TLS main listener, serving the same as the plain one.
    pub tls: Option<ListenerTls>,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` are believed about the client's address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The cap on open client connections and their deadlines ([`crate::conn`]).
    pub connections: ConnLimits,
    /// Threads that serve client connections; 0 is one per core. Read at the process's first
    /// start ([`crate::server`]).
    pub threads: usize,
    /// Serve client connections on the caller's runtime (the CLI's is tokio's work-stealing
    /// scheduler, with `threads` workers) instead of threads that each keep the connections they
    /// accepted (Pingora's no-steal runtime, the default: less CPU per request, measured in
    /// benches/RESULTS.md).
    pub work_stealing: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CacheConfig {
    /// Upper bound on cached sessions; beyond it the least useful entries are evicted.
    pub max_sessions: u64,
    /// Age after which a status call asks the backend again instead of answering from cache.
    pub revalidate_after: Duration,
    /// How long an id its backend refused is refused again without asking.
    pub negative_ttl: Duration,
    /// The longest a session is answered since its backend last confirmed it, while the backend
    /// cannot confirm it now; past it, 503 (never "logged out").
    pub max_stale: Duration,
    /// Bytes of rendered answers kept per session and face ([`crate::memo`]); 0 renders every
    /// answer whole.
    pub max_rendered_bytes: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LimitsConfig {
    /// Largest request body accepted on an intercepted call (413 beyond).
    pub max_body_bytes: usize,
    /// Largest request head (request line and headers) accepted on any path (431 beyond).
    pub max_header_bytes: usize,
    /// Deepest XML nesting accepted in a SOAP request.
    pub max_xml_depth: usize,
    /// Most elements, attributes (namespace declarations included) and bytes of character data
    /// accepted in one SOAP request: depth alone does not bound the tree a small body builds.
    pub max_xml_elements: usize,
    pub max_xml_attributes: usize,
    pub max_xml_text_bytes: usize,
    /// Failed logins from one client address in `login_failure_window` before the gateway
    /// refuses more (429 / EnOS 30429) until the window ends.
    pub login_failures_per_address: u64,
    /// Failed logins for one account in `login_failure_window` before the gateway refuses more.
    pub login_failures_per_account: u64,
    pub login_failure_window: Duration,
    /// Backend lookups (cache misses) one client address may cause in `lookup_window`.
    pub lookups_per_address: u64,
    pub lookup_window: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info` or `idbridge_gateway=debug,info`.
    pub level: String,
    /// The access log writes one `ok` request in this many (1: every request); requests with any
    /// other outcome are always written. Read at start.
    pub access_sample: u64,
}

/// One thing wrong with the configuration, tied to the key (or file) it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Every problem found while loading; never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

/// Where configuration comes from. `env: None` reads the process environment.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub default_file: Option<PathBuf>,
    pub file: Option<PathBuf>,
    pub env: Option<HashMap<String, String>>,
}

// === impl ConfigError ===

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} configuration problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {}: {}", p.key, p.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    pub fn one(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                key: key.into(),
                message: message.into(),
            }],
        }
    }
}

// === impl Config ===

impl Config {
    /// The built-in defaults: the demo topology on loopback.
    pub fn defaults() -> Result<Self, ConfigError> {
        load(&Sources::defaults_only())
    }

    /// The environment variable that overrides `key` (`server.listen` → `IDBRIDGE__SERVER__LISTEN`).
    pub fn env_name(key: &str) -> String {
        format!("{ENV_PREFIX}__{}", key.replace('.', "__").to_uppercase())
    }

    pub fn backend(&self, name: &str) -> Option<&BackendConfig> {
        self.backends.iter().find(|b| b.name.as_str() == name)
    }

    pub fn backend_mut(&mut self, name: &str) -> Option<&mut BackendConfig> {
        self.backends.iter_mut().find(|b| b.name.as_str() == name)
    }
}

// === impl BackendConfig ===

impl BackendConfig {
    /// A kind option's value (validated, default filled in); empty for a key the kind lacks.
    pub fn option(&self, key: &str) -> &str {
        self.options.get(key).map_or("", String::as_str)
    }
}

// === impl Sources ===

impl Sources {
    /// Only the built-in defaults: no file, no environment. Used by tests and `Config::defaults`.
    pub fn defaults_only() -> Self {
        Self {
            default_file: None,
            file: None,
            env: Some(Default::default()),
        }
    }

    /// What `idbridge run` reads: the default file, the optional given file, the process environment.
    pub fn standard(file: Option<PathBuf>) -> Self {
        Self {
            default_file: Some(PathBuf::from(DEFAULT_CONFIG_FILE)),
            file,
            env: None,
        }
    }
}

/// Loads and validates with the built-in backend kinds; reports every problem found.
pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
    load_with(sources, &Kinds::default())
}

/// Loads and validates, knowing the backend kinds in `kinds`.
pub fn load_with(sources: &Sources, kinds: &Kinds) -> Result<Config, ConfigError> {
    let tree = raw::merge(sources)?;
    validate::config(tree, kinds)
}

/// Loads and validates TOML text as `idbridge check-config --config FILE` loads that file's
/// contents (same parser, same validation), with no default file and no environment. Used by the
/// `config` fuzz target; what only building can tell is [`crate::runtime::Runtime::check`]'s.
pub fn load_toml(text: &str, kinds: &Kinds) -> Result<Config, ConfigError> {
    let tree = raw::merge_with(&Sources::defaults_only(), Some(text))?;
    validate::config(tree, kinds)
}
