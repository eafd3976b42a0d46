//! Validation: every raw value checked on its own, every problem kept, defaults filled in.
//!
//! Each key is named once, where it is read, with its default beside it; the README's
//! configuration reference lists the same keys.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use idbridge_session::Backend;
use url::Url;

use super::raw::{
    self, Leaf, Node, RawAdmin, RawBackend, RawCache, RawLimits, RawListenerTls, RawLog, RawRoot,
    RawRoute, RawServer, RawStore, RawTimeouts, RawTokens, RawUpstreamTls, join,
};
use super::{
    AdminConfig, AppRoute, BackendConfig, CacheConfig, Config, ConfigError, LogConfig, LogFormat,
    Problem, ServerConfig, Timeouts, TokenAlgorithm, TokensConfig,
};
use crate::backend::Kinds;

mod limits;
mod store;
mod tls;

/// The problems found so far, and typed readers that add to them.
struct Check {
    problems: Vec<Problem>,
}

/// Validates the merged tree into a [`Config`], or every problem found.
pub fn config(tree: Node, kinds: &Kinds) -> Result<Config, ConfigError> {
    let mut c = Check {
        problems: Vec::new(),
    };
    let root: RawRoot = raw::parse("", Some(tree), &mut c.problems);
    let server: RawServer = raw::parse("server", root.server, &mut c.problems);
    let tls: RawListenerTls = raw::parse("server.tls", server.tls, &mut c.problems);
    let server = ServerConfig {
        listen: c.optional_addr("server.listen", server.listen, "127.0.0.1:8080"),
        admin_listen: c.addr("server.admin_listen", server.admin_listen, "127.0.0.1:9090"),
        tls: c.listener_tls(tls),
        trusted_proxies: c.nets("server.trusted_proxies", server.trusted_proxies),
        connections: c.connections(
            server.max_connections,
            server.header_timeout,
            server.keepalive_timeout,
            server.body_timeout,
        ),
        threads: c.number("server.threads", server.threads, 0, 0, 1024) as usize,
        work_stealing: c.boolean("server.work_stealing", server.work_stealing, false),
    };
    c.listeners_differ(&server);
    let backends = c.backends(root.backends, kinds);
    let cache: RawCache = raw::parse("cache", root.cache, &mut c.problems);
    let cache = CacheConfig {
        max_sessions: c.number(
            "cache.max_sessions",
            cache.max_sessions,
            1_000_000,
            1,
            u64::MAX / 2,
        ),
        revalidate_after: c.duration(
            "cache.revalidate_after",
            cache.revalidate_after,
            "60s",
            Duration::ZERO,
        ),
        negative_ttl: c.duration(
            "cache.negative_ttl",
            cache.negative_ttl,
            "30s",
            Duration::ZERO,
        ),
        max_stale: c.duration("cache.max_stale", cache.max_stale, "5m", Duration::ZERO),
        max_rendered_bytes: c.number(
            "cache.max_rendered_bytes",
            cache.max_rendered_bytes,
            32 * 1024 * 1024,
            0,
            u64::MAX / 2,
        ),
    };
    let limits: RawLimits = raw::parse("limits", root.limits, &mut c.problems);
    let limits = c.limits(limits);
    let log: RawLog = raw::parse("log", root.log, &mut c.problems);
    let log = LogConfig {
        format: match c.text("log.format", log.format, "text").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                c.problem("log.format", format!("`{other}` is not one of: text, json"));
                LogFormat::Text
            }
        },
        level: c.non_empty("log.level", log.level, "info"),
        access_sample: c.number("log.access_sample", log.access_sample, 1, 1, 1_000_000),
    };
    let admin: RawAdmin = raw::parse("admin", root.admin, &mut c.problems);
    let admin = c.admin_token("admin.token", admin.token);
    let tokens: RawTokens = raw::parse("tokens", root.tokens, &mut c.problems);
    let tokens = c.tokens(tokens);
    let routes = c.routes(root.routes);
    let store: RawStore = raw::parse("store", root.store, &mut c.problems);
    let store = c.store(store);
    if c.problems.is_empty() {
        Ok(Config {
            server,
            backends,
            cache,
            limits,
            log,
            admin,
            tokens,
            routes,
            store,
        })
    } else {
        Err(ConfigError {
            problems: c.problems,
        })
    }
}

// === impl Check ===

impl Check {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// The value as text, or `default` when it is not set anywhere.
    fn text(&mut self, key: &str, leaf: Option<Leaf>, default: &str) -> String {
        match leaf {
            Some(Leaf::Text(s)) => s,
            Some(Leaf::Nested) => {
                self.problem(key, "expected a single value, found a table or array");
                default.to_owned()
            }
            None => default.to_owned(),
        }
    }

    fn non_empty(&mut self, key: &str, leaf: Option<Leaf>, default: &str) -> String {
        let s = self.text(key, leaf, default);
        if s.trim().is_empty() {
            self.problem(key, "must not be empty");
        }
        s
    }

    /// Empty means "not set".
    fn optional(&mut self, key: &str, leaf: Option<Leaf>) -> Option<String> {
        Some(self.text(key, leaf, "").trim().to_owned()).filter(|s| !s.is_empty())
    }

    /// A list of CIDRs: a TOML array, or one string with commas (the environment's form).
    fn nets(&mut self, key: &str, node: Option<Node>) -> Vec<ipnet::IpNet> {
        let items = match node {
            None => Vec::new(),
            Some(Node::Scalar(s)) => vec![s],
            Some(Node::Array(items)) => items
                .into_iter()
                .filter_map(|i| match i {
                    Node::Scalar(s) => Some(s),
                    _ => None,
                })
                .collect(),
            Some(Node::Table(_)) => {
                self.problem(key, "must be a list of CIDRs such as [\"10.0.0.0/8\"]");
                Vec::new()
            }
        };
        crate::client::parse_nets(&items).unwrap_or_else(|e| {
            self.problem(key, e);
            Vec::new()
        })
    }

    /// An address, or `None` for `off` (a listener turned off).
    fn optional_addr(
        &mut self,
        key: &str,
        leaf: Option<Leaf>,
        default: &str,
    ) -> Option<SocketAddr> {
        match &leaf {
            Some(Leaf::Text(s)) if s.trim() == "off" => None,
            _ => Some(self.addr(key, leaf, default)),
        }
    }

    /// Every listener on its own address (port 0 asks the OS for a free port: never a clash),
    /// and at least one main listener.
    fn listeners_differ(&mut self, server: &ServerConfig) {
        let mut seen: Vec<_> = server
            .listen
            .map(|a| ("server.listen", a))
            .into_iter()
            .collect();
        seen.extend(server.tls.as_ref().map(|t| ("server.tls.listen", t.listen)));
        seen.push(("server.admin_listen", server.admin_listen));
        for (i, (key, addr)) in seen.iter().enumerate() {
            if addr.port() != 0 && seen[..i].iter().any(|(_, other)| other == addr) {
                self.problem(key, "must differ from the other listeners");
            }
        }
        if server.listen.is_none() && server.tls.is_none() {
            self.problem(
                "server.listen",
                "is off, and no [server.tls] listener is configured",
            );
        }
    }

    fn addr(&mut self, key: &str, leaf: Option<Leaf>, default: &str) -> SocketAddr {
        let s = self.text(key, leaf, default);
        s.parse().unwrap_or_else(|_| {
            self.problem(
                key,
                format!("`{s}` is not an address of the form 127.0.0.1:8080"),
            );
            SocketAddr::from(([127, 0, 0, 1], 0))
        })
    }

    /// An upstream base URL: http or https, a host, no path or query.
    fn url(&mut self, key: &str, s: &str) -> Option<Url> {
        let problem = match Url::parse(s) {
            Ok(u) if u.scheme() != "http" && u.scheme() != "https" => {
                "must be an http:// or https:// URL".into()
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

    /// A duration: `250ms`, `5s`, `2m`, `1h`, or a plain number of seconds.
    fn duration(
        &mut self,
        key: &str,
        leaf: Option<Leaf>,
        default: &str,
        min: Duration,
    ) -> Duration {
        let s = self.text(key, leaf, default);
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

    fn number(&mut self, key: &str, leaf: Option<Leaf>, default: u64, min: u64, max: u64) -> u64 {
        let s = self.text(key, leaf, &default.to_string());
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

    fn boolean(&mut self, key: &str, leaf: Option<Leaf>, default: bool) -> bool {
        match self
            .text(key, leaf, if default { "true" } else { "false" })
            .as_str()
        {
            "true" => true,
            "false" => false,
            _ => {
                self.problem(key, "must be true or false");
                default
            }
        }
    }

    /// The proxied-traffic timeouts of a backend or app, under `prefix`.
    fn timeouts(&mut self, prefix: &str, raw: RawTimeouts, call: Option<Leaf>) -> Timeouts {
        let ms = Duration::from_millis(1);
        let at = |c: &mut Self, key: &str, leaf: Option<Leaf>, default: &str| {
            c.duration(&join(prefix, key), leaf, default, ms)
        };
        Timeouts {
            connect: at(self, "connect_timeout", raw.connect_timeout, "5s"),
            read: at(self, "read_timeout", raw.read_timeout, "30s"),
            write: at(self, "write_timeout", raw.write_timeout, "30s"),
            idle: at(self, "idle_timeout", raw.idle_timeout, "60s"),
            request: at(self, "request_timeout", raw.request_timeout, "60s"),
            call: at(self, "timeout", call, "5s"),
        }
    }

    /// `[backends.<name>]`: the built-in `enos` and `netid` always exist (each of its own kind,
    /// on its demo URL unless configured); any other name needs a `kind` and a `url`.
    fn backends(&mut self, node: Option<Node>, kinds: &Kinds) -> Vec<BackendConfig> {
        let mut tables = match node {
            None => BTreeMap::new(),
            Some(Node::Table(t)) => t,
            Some(_) => {
                self.problem("backends", "must be a table of [backends.<name>] tables");
                BTreeMap::new()
            }
        };
        for builtin in ["enos", "netid"] {
            tables
                .entry(builtin.to_owned())
                .or_insert_with(|| Node::Table(BTreeMap::new()));
        }
        let mut out = Vec::new();
        for (name, table) in tables {
            let prefix = format!("backends.{name}");
            let raw: RawBackend = raw::parse(&prefix, Some(table), &mut self.problems);
            let named =
                Backend::named(&name).map_err(|e| self.problem(&prefix, format!("the name {e}")));
            let kind_name = self.text(&join(&prefix, "kind"), raw.kind, &name);
            let Some(kind) = kinds.get(&kind_name) else {
                let known = kinds.names().join(", ");
                self.problem(
                    &join(&prefix, "kind"),
                    format!("`{kind_name}` is not one of: {known}"),
                );
                continue;
            };
            let default_url = (kind.kind() == name).then(|| kind.default_url()).flatten();
            let url_key = join(&prefix, "url");
            let url = match (raw.url, default_url) {
                (None, None) => {
                    self.problem(&url_key, "required");
                    None
                }
                (leaf, default) => {
                    let s = self.text(&url_key, leaf, default.unwrap_or(""));
                    self.url(&url_key, &s)
                }
            };
            let timeouts = self.timeouts(&prefix, raw.timeouts, raw.timeout);
            let tls = self.upstream_tls(&prefix, url.as_ref(), raw.tls);
            let max_concurrent_calls = self.number(
                &join(&prefix, "max_concurrent_calls"),
                raw.max_concurrent_calls,
                256,
                1,
                65_536,
            ) as usize;
            let mut options = BTreeMap::new();
            let mut given = raw.options;
            for spec in kind.options() {
                let key = join(&prefix, spec.key);
                let leaf = given.remove(spec.key).map(|n| match n {
                    Node::Scalar(s) => Leaf::Text(s),
                    _ => Leaf::Nested,
                });
                let value = self.text(&key, leaf, spec.default);
                if let Err(e) = (spec.check)(&value) {
                    self.problem(&key, e);
                }
                options.insert(spec.key.to_owned(), value);
            }
            for unknown in given.keys() {
                self.problem(&join(&prefix, unknown), "unknown key");
            }
            if let (Ok(name), Some(url)) = (named, url) {
                out.push(BackendConfig {
                    name,
                    kind: kind.kind().to_owned(),
                    url,
                    timeouts,
                    tls,
                    max_concurrent_calls,
                    options,
                });
            }
        }
        out
    }

    /// `[[routes]]`: each needs a `prefix` and an http `upstream`. Whether a prefix collides
    /// with a path a face or backend owns is checked when the router is built.
    fn routes(&mut self, node: Option<Node>) -> Vec<AppRoute> {
        let items = match node {
            None => return Vec::new(),
            Some(Node::Array(items)) => items,
            Some(_) => {
                self.problem("routes", "must be an array of tables: [[routes]]");
                return Vec::new();
            }
        };
        let mut routes = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let prefix_key = format!("routes[{i}]");
            if !matches!(item, Node::Table(_)) {
                self.problem(&prefix_key, "must be a table with prefix and upstream");
                continue;
            }
            let raw: RawRoute = raw::parse(&prefix_key, Some(item), &mut self.problems);
            let key = |field: &str| join(&prefix_key, field);
            let prefix = self.text(&key("prefix"), raw.prefix, "");
            if !prefix.starts_with('/') || prefix.len() < 2 {
                self.problem(&key("prefix"), "must be a path prefix such as /app/");
            }
            let upstream = self.text(&key("upstream"), raw.upstream, "");
            let upstream = match Url::parse(&upstream) {
                Ok(u) if ["http", "https"].contains(&u.scheme()) && u.host_str().is_some() => {
                    Some(u)
                }
                _ => {
                    self.problem(
                        &key("upstream"),
                        "must be an http:// or https:// URL of the app",
                    );
                    None
                }
            };
            let strip_prefix = self.boolean(&key("strip_prefix"), raw.strip_prefix, false);
            let forward_credentials =
                self.boolean(&key("forward_credentials"), raw.forward_credentials, false);
            let timeouts = self.timeouts(
                &prefix_key,
                RawTimeouts {
                    connect_timeout: raw.connect_timeout,
                    read_timeout: raw.read_timeout,
                    write_timeout: raw.write_timeout,
                    idle_timeout: raw.idle_timeout,
                    request_timeout: raw.request_timeout,
                },
                None,
            );
            let tls = self.upstream_tls(
                &prefix_key,
                upstream.as_ref(),
                RawUpstreamTls {
                    ca_file: raw.ca_file,
                    sni: raw.sni,
                    client_cert_file: raw.client_cert_file,
                    client_key_file: raw.client_key_file,
                },
            );
            if let Some(upstream) = upstream {
                routes.push(AppRoute {
                    prefix,
                    upstream,
                    strip_prefix,
                    forward_credentials,
                    timeouts,
                    tls,
                });
            }
        }
        routes
    }

    fn tokens(&mut self, raw: RawTokens) -> TokensConfig {
        let algorithm = match self
            .text("tokens.algorithm", raw.algorithm, "EdDSA")
            .as_str()
        {
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
        let hs256_secret = self.optional("tokens.hs256_secret", raw.hs256_secret);
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
        let key_dir = self
            .optional("tokens.key_dir", raw.key_dir)
            .map(PathBuf::from);
        if let Some(dir) = key_dir.as_ref().filter(|d| !d.is_dir()) {
            self.problem(
                "tokens.key_dir",
                format!("`{}` is not a directory", dir.display()),
            );
        }
        TokensConfig {
            issuer: self.non_empty("tokens.issuer", raw.issuer, "idbridge"),
            audience: self.non_empty("tokens.audience", raw.audience, "idbridge"),
            ttl: self.duration("tokens.ttl", raw.ttl, "15m", Duration::from_secs(1)),
            leeway: self.duration("tokens.leeway", raw.leeway, "30s", Duration::ZERO),
            algorithm,
            key_dir,
            signing_kid: self.optional("tokens.signing_kid", raw.signing_kid),
            hs256_secret,
        }
    }

    /// A secret: never echoed in a problem message.
    fn admin_token(&mut self, key: &str, leaf: Option<Leaf>) -> AdminConfig {
        let token = self.text(key, leaf, "");
        let token = token.trim();
        if token.is_empty() {
            return AdminConfig { token: None };
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
        AdminConfig {
            token: Some(token.to_owned()),
        }
    }
}
