//! Reading the layered sources key by key and validating each value.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use config::{Environment, File, FileFormat, Value, ValueKind};
use url::Url;

use super::{
    Backends, CacheConfig, Config, ConfigError, EnosBackend, LimitsConfig, LogConfig, LogFormat,
    NetidBackend, Problem, ServerConfig,
};

/// The file read first when it exists, relative to the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "config/idbridge.toml";
/// Environment overrides are `IDBRIDGE__SECTION__KEY`.
pub const ENV_PREFIX: &str = "IDBRIDGE";

/// Every key the gateway knows: `(key, default, meaning)`. The README's reference is this table.
#[rustfmt::skip]
pub const KEYS: &[(&str, &str, &str)] = &[
    ("server.listen", "127.0.0.1:8080", "main listener (native and gateway faces)"),
    ("server.admin_listen", "127.0.0.1:9090", "admin listener (metrics, health, admin API)"),
    ("backends.enos.url", "http://127.0.0.1:18081", "EnOS IAM base URL"),
    ("backends.enos.logout_path", "/enos-iam-service/v2.0/logout", "EnOS upstream logout path"),
    ("backends.enos.timeout", "5s", "timeout of one EnOS upstream call"),
    ("backends.netid.url", "http://127.0.0.1:18082", "Net iD Portal base URL"),
    ("backends.netid.soap_path", "/portal/service.svc", "Net iD SOAP endpoint path"),
    ("backends.netid.timeout", "5s", "timeout of one Net iD upstream call"),
    ("cache.max_sessions", "1000000", "most sessions kept in the cache"),
    ("cache.revalidate_after", "60s", "age after which a status call asks the backend again"),
    ("limits.max_body_bytes", "65536", "largest intercepted request body (413 beyond)"),
    ("limits.max_xml_depth", "32", "deepest SOAP nesting accepted"),
    ("log.format", "text", "log format: text or json"),
    ("log.level", "info", "tracing filter, e.g. info or idbridge_gateway=debug"),
    ("admin.token", "", "bearer token of the admin API; empty disables the API"),
    ("tokens.issuer", "idbridge", "iss of gateway tokens"),
    ("tokens.audience", "idbridge", "aud of gateway tokens"),
    ("tokens.ttl", "15m", "gateway token lifetime (never beyond the session's expiry)"),
    ("tokens.leeway", "30s", "clock skew allowed on exp and nbf"),
    ("tokens.algorithm", "EdDSA", "EdDSA, ES256, or HS256 (symmetric; needs tokens.hs256_secret)"),
    ("tokens.key_dir", "", "directory of PEM signing keys; empty generates one at start-up"),
    ("tokens.signing_kid", "", "key id (file stem) that signs; empty takes the last by name"),
    ("tokens.hs256_secret", "", "HS256 secret, 32+ bytes; only with tokens.algorithm = HS256"),
    ("routes", "", "protected apps: [[routes]] with prefix, upstream, strip_prefix"),
];

/// Where configuration comes from. `env: None` reads the process environment.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub default_file: Option<PathBuf>,
    pub file: Option<PathBuf>,
    pub env: Option<HashMap<String, String>>,
}

/// Loads and validates; reports every problem found, not just the first.
pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(path) = &sources.default_file {
        builder = builder.add_source(
            File::from(path.clone())
                .format(FileFormat::Toml)
                .required(false),
        );
    }
    if let Some(path) = &sources.file {
        if !path.is_file() {
            return Err(one_problem(path.display().to_string(), "file not found"));
        }
        builder = builder.add_source(
            File::from(path.clone())
                .format(FileFormat::Toml)
                .required(true),
        );
    }
    let env = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .source(sources.env.clone());
    let merged = builder
        .add_source(env)
        .build()
        .map_err(|e| one_problem("<sources>".into(), &e.to_string()))?;

    let mut r = Reader {
        cfg: &merged,
        problems: Vec::new(),
    };
    let server = ServerConfig {
        listen: r.addr("server.listen"),
        admin_listen: r.addr("server.admin_listen"),
    };
    let enos_url = r.url("backends.enos.url");
    let enos_logout_path = r.path("backends.enos.logout_path");
    let enos_timeout = r.duration("backends.enos.timeout", Duration::from_millis(1));
    let netid_url = r.url("backends.netid.url");
    let netid_soap_path = r.path("backends.netid.soap_path");
    let netid_timeout = r.duration("backends.netid.timeout", Duration::from_millis(1));
    let cache = CacheConfig {
        max_sessions: r.number("cache.max_sessions", 1, u64::MAX / 2),
        revalidate_after: r.duration("cache.revalidate_after", Duration::ZERO),
    };
    let limits = LimitsConfig {
        max_body_bytes: r.number("limits.max_body_bytes", 256, 64 << 20) as usize,
        max_xml_depth: r.number("limits.max_xml_depth", 4, 256) as usize,
    };
    let log = LogConfig {
        format: r.log_format("log.format"),
        level: r.string("log.level"),
    };
    let admin = r.admin_token("admin.token");
    let tokens = r.tokens();
    let routes = r.routes();
    r.unknown_keys();
    // Port 0 asks the OS for a free port: two of them never clash.
    if server.listen == server.admin_listen && server.listen.port() != 0 {
        r.problem("server.admin_listen", "must differ from server.listen");
    }
    match (enos_url, netid_url) {
        (Some(enos_url), Some(netid_url)) if r.problems.is_empty() => Ok(Config {
            server,
            backends: Backends {
                enos: EnosBackend {
                    url: enos_url,
                    logout_path: enos_logout_path,
                    timeout: enos_timeout,
                },
                netid: NetidBackend {
                    url: netid_url,
                    soap_path: netid_soap_path,
                    timeout: netid_timeout,
                },
            },
            cache,
            limits,
            log,
            admin,
            tokens,
            routes,
        }),
        _ => Err(ConfigError {
            problems: r.problems,
        }),
    }
}

fn one_problem(key: String, message: &str) -> ConfigError {
    ConfigError {
        problems: vec![Problem {
            key,
            message: message.to_owned(),
        }],
    }
}

fn default_of(key: &str) -> &'static str {
    KEYS.iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, d, _)| *d)
        .unwrap_or("")
}

struct Reader<'a> {
    cfg: &'a config::Config,
    problems: Vec<Problem>,
}

// === impl Reader ===

impl Reader<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// The raw value as text, or the key's default when it is not set anywhere.
    fn raw(&mut self, key: &str) -> String {
        match self.cfg.get::<Value>(key) {
            Ok(v) => match v.kind {
                ValueKind::Table(_) | ValueKind::Array(_) => {
                    self.problem(key, "expected a single value, found a table or array");
                    default_of(key).to_owned()
                }
                _ => v.to_string(),
            },
            Err(_) => default_of(key).to_owned(),
        }
    }

    fn string(&mut self, key: &str) -> String {
        let s = self.raw(key);
        if s.trim().is_empty() {
            self.problem(key, "must not be empty");
        }
        s
    }

    fn addr(&mut self, key: &str) -> SocketAddr {
        let s = self.raw(key);
        s.parse().unwrap_or_else(|_| {
            self.problem(
                key,
                format!("`{s}` is not an address of the form 127.0.0.1:8080"),
            );
            SocketAddr::from(([127, 0, 0, 1], 0))
        })
    }

    fn url(&mut self, key: &str) -> Option<Url> {
        let s = self.raw(key);
        let problem = match Url::parse(&s) {
            Ok(u) if u.scheme() != "http" => {
                "only http:// upstreams are supported by this build".into()
            }
            Ok(u) if u.host_str().is_none() => "must name a host".into(),
            Ok(u) if u.path() != "/" || u.query().is_some() => {
                "must be a base URL (scheme, host, port) without path or query".into()
            }
            Ok(u) => return Some(u),
            Err(e) => format!("`{s}` is not a URL: {e}"),
        };
        self.problem(key, problem);
        None
    }

    fn path(&mut self, key: &str) -> String {
        let s = self.raw(key);
        if !s.starts_with('/') || s.contains(char::is_whitespace) {
            self.problem(key, "must be an absolute path such as /portal/service.svc");
        }
        s
    }

    /// A duration: `250ms`, `5s`, `2m`, `1h`, or a plain number of seconds.
    fn duration(&mut self, key: &str, min: Duration) -> Duration {
        let s = self.raw(key);
        let parsed = match s.trim().parse::<u64>() {
            Ok(secs) => Ok(Duration::from_secs(secs)),
            Err(_) => humantime::parse_duration(s.trim()).map_err(|e| e.to_string()),
        };
        match parsed {
            Ok(d) if d < min => {
                self.problem(
                    key,
                    format!("must be at least {}", humantime::format_duration(min)),
                );
                d
            }
            Ok(d) => d,
            Err(e) => {
                self.problem(
                    key,
                    format!("`{s}` is not a duration like 5s or 250ms ({e})"),
                );
                Duration::ZERO
            }
        }
    }

    fn number(&mut self, key: &str, min: u64, max: u64) -> u64 {
        let s = self.raw(key);
        match s.trim().replace('_', "").parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            Ok(n) => {
                self.problem(key, format!("{n} is outside {min}..={max}"));
                n
            }
            Err(_) => {
                self.problem(key, format!("`{s}` is not a whole number"));
                min
            }
        }
    }

    /// `[[routes]]`: each needs a `prefix` that no face or backend owns and an http `upstream`.
    fn routes(&mut self) -> Vec<super::AppRoute> {
        const RESERVED: &[&str] = &[
            "/idbridge/",
            "/.well-known/",
            "/enos-iam-service/",
            "/api/",
            "/portal/",
        ];
        let items = match self.cfg.get_array("routes") {
            Ok(items) => items,
            Err(config::ConfigError::NotFound(_)) => return Vec::new(),
            Err(_) => {
                self.problem("routes", "must be an array of tables: [[routes]]");
                return Vec::new();
            }
        };
        let mut routes = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let key = |field: &str| format!("routes[{i}].{field}");
            let Ok(table) = item.into_table() else {
                self.problem(
                    &format!("routes[{i}]"),
                    "must be a table with prefix and upstream",
                );
                continue;
            };
            for field in table
                .keys()
                .filter(|k| !["prefix", "upstream", "strip_prefix"].contains(&k.as_str()))
            {
                self.problem(&key(field), "unknown key");
            }
            let text = |field: &str| table.get(field).and_then(|v| v.clone().into_string().ok());
            let prefix = text("prefix").unwrap_or_default();
            let wanted = format!("{}/", prefix.trim_end_matches('/'));
            if !prefix.starts_with('/') || prefix.len() < 2 {
                self.problem(&key("prefix"), "must be a path prefix such as /app/");
            } else if RESERVED
                .iter()
                .any(|r| wanted.starts_with(r) || r.starts_with(&wanted))
            {
                self.problem(
                    &key("prefix"),
                    "overlaps a path the gateway or a backend owns",
                );
            }
            let upstream = text("upstream").unwrap_or_default();
            let upstream = match Url::parse(&upstream) {
                Ok(u) if u.scheme() == "http" && u.host_str().is_some() => Some(u),
                _ => {
                    self.problem(&key("upstream"), "must be an http:// URL of the app");
                    None
                }
            };
            let strip_prefix = match table.get("strip_prefix").map(|v| v.clone().into_bool()) {
                None => false,
                Some(Ok(b)) => b,
                Some(Err(_)) => {
                    self.problem(&key("strip_prefix"), "must be true or false");
                    false
                }
            };
            if let Some(upstream) = upstream {
                routes.push(super::AppRoute {
                    prefix,
                    upstream,
                    strip_prefix,
                });
            }
        }
        routes
    }

    fn tokens(&mut self) -> super::TokensConfig {
        use super::TokenAlgorithm;
        let optional = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let algorithm = match self.raw("tokens.algorithm").as_str() {
            "EdDSA" => TokenAlgorithm::EdDsa,
            "ES256" => TokenAlgorithm::Es256,
            "HS256" => TokenAlgorithm::Hs256,
            other => {
                self.problem(
                    "tokens.algorithm",
                    format!("`{other}` is not one of: EdDSA, ES256, HS256"),
                );
                TokenAlgorithm::EdDsa
            }
        };
        let hs256_secret = optional(self.raw("tokens.hs256_secret"));
        match (algorithm, &hs256_secret) {
            (TokenAlgorithm::Hs256, None) => {
                self.problem("tokens.hs256_secret", "required with HS256")
            }
            (TokenAlgorithm::Hs256, Some(s)) if s.len() < 32 => {
                self.problem("tokens.hs256_secret", "must be at least 32 bytes")
            }
            (TokenAlgorithm::EdDsa | TokenAlgorithm::Es256, Some(_)) => self.problem(
                "tokens.hs256_secret",
                "only used with tokens.algorithm = HS256; remove it",
            ),
            _ => {}
        }
        let key_dir = optional(self.raw("tokens.key_dir")).map(PathBuf::from);
        if let Some(dir) = key_dir.as_ref().filter(|d| !d.is_dir()) {
            self.problem(
                "tokens.key_dir",
                format!("`{}` is not a directory", dir.display()),
            );
        }
        let issuer = self.string("tokens.issuer");
        let audience = self.string("tokens.audience");
        super::TokensConfig {
            issuer,
            audience,
            ttl: self.duration("tokens.ttl", Duration::from_secs(1)),
            leeway: self.duration("tokens.leeway", Duration::ZERO),
            algorithm,
            key_dir,
            signing_kid: optional(self.raw("tokens.signing_kid")),
            hs256_secret,
        }
    }

    /// A secret: never echoed in a problem message.
    fn admin_token(&mut self, key: &str) -> super::AdminConfig {
        let token = self.raw(key);
        let token = token.trim();
        if token.is_empty() {
            return super::AdminConfig { token: None };
        }
        if token.len() < 16 {
            self.problem(
                key,
                "must be at least 16 characters (or empty to disable the admin API)",
            );
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            self.problem(key, "must be printable ASCII without spaces");
        }
        super::AdminConfig {
            token: Some(token.to_owned()),
        }
    }

    fn log_format(&mut self, key: &str) -> LogFormat {
        match self.raw(key).as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                self.problem(key, format!("`{other}` is not one of: text, json"));
                LogFormat::Text
            }
        }
    }

    /// Keys present in a source that the gateway does not know: most likely typos.
    fn unknown_keys(&mut self) {
        let known: BTreeSet<&str> = KEYS.iter().map(|(k, _, _)| *k).collect();
        let mut found = Vec::new();
        if let Ok(table) = self.cfg.get_table("") {
            leaf_keys("", &table, &mut found);
        } else if let Ok(table) = self
            .cfg
            .clone()
            .try_deserialize::<config::Map<String, Value>>()
        {
            leaf_keys("", &table, &mut found);
        }
        for key in found {
            if !known.contains(key.as_str()) {
                self.problem(&key, "unknown key");
            }
        }
    }
}

fn leaf_keys(prefix: &str, table: &config::Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match &v.kind {
            ValueKind::Table(inner) => leaf_keys(&path, inner, out),
            _ => out.push(path),
        }
    }
}
