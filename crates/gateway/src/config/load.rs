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
