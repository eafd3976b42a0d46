//! The runtime: everything built from one validated configuration — faces, backends, the
//! router, endpoints, token keys — plus the parts a reload carries over (the session store and
//! the metrics). Requests hold one `Arc<Runtime>` snapshot from start to end; a reload builds a
//! new runtime and swaps it in whole.

use std::sync::Arc;
use std::time::Duration;

use idbridge_protocol::Limits;
use idbridge_session::Backend;

use crate::backend::{BuildContext, IdentityBackend, Kinds};
use crate::config::{Config, ConfigError, Problem, Timeouts, UpstreamTlsConfig};
use crate::endpoint::{Endpoint, EndpointError};
use crate::face::unified::UnifiedFace;
use crate::face::unified_soap::UnifiedSoapFace;
use crate::face::{Face, PathMatch};
use crate::memo::Memo;
use crate::metrics::{Metrics, RequestSeries};
use crate::router::Router;
use crate::store::{LocalStore, RedisStore, SessionStore, StoreError};
use crate::tls::UpstreamTls;
use crate::tokens::{TokenError, Tokens};

/// Backend answers are bounded too, but far above any real session document.
const UPSTREAM_MAX_BODY: usize = 1 << 20;

/// The unified face's index among the runtime's faces: protected apps and forward-auth answer
/// their errors in it.
pub const UNIFIED: usize = 0;

/// A protected app.
#[derive(Debug)]
pub struct App {
    pub prefix: String,
    pub strip_prefix: bool,
    pub forward_credentials: bool,
    pub endpoint: Arc<Endpoint>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Runtime {
    pub config: Config,
    pub kinds: Kinds,
    pub router: Router,
    pub backends: Vec<Arc<dyn IdentityBackend>>,
    pub apps: Vec<App>,
    pub store: Arc<dyn SessionStore>,
    pub tokens: Arc<Tokens>,
    pub metrics: Metrics,
    /// This configuration's per-request series, resolved once per label combination.
    pub requests: RequestSeries,
    /// Limits on what clients send to intercepted calls.
    pub client_limits: Limits,
    /// Limits on what backends answer.
    pub upstream_limits: Limits,
}

/// What a reload keeps.
#[derive(Clone, Debug)]
struct Kept {
    store: Arc<dyn SessionStore>,
    metrics: Metrics,
    tokens: Arc<Tokens>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error(transparent)]
    Tokens(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

// === impl Runtime ===

impl Runtime {
    /// A runtime with a fresh store and metrics. With `store.redis_url`, the store connects in
    /// the background (inside a tokio runtime); [`SessionStore::start`] waits for it.
    pub fn new(config: Config, kinds: Kinds) -> Result<Self, BuildError> {
        let metrics = Metrics::new()?;
        let store: Arc<dyn SessionStore> = match &config.store.redis_url {
            Some(url) => Arc::new(RedisStore::new(
                &config.store,
                url,
                &config.cache,
                metrics.clone(),
            )?),
            None => Arc::new(LocalStore::new(
                config.cache.max_sessions,
                config.cache.revalidate_after,
                config.cache.negative_ttl,
            )),
        };
        store.set_max_stale(config.cache.max_stale);
        let tokens = Arc::new(Tokens::new(&config.tokens)?);
        Self::build(
            config,
            kinds,
            Kept {
                store,
                metrics,
                tokens,
            },
        )
    }

    /// Checks what only building can tell (routes that collide, a kind that refuses its
    /// table), without starting anything.
    pub fn check(config: &Config, kinds: &Kinds) -> Result<(), ConfigError> {
        let metrics = Metrics::new().map_err(|e| ConfigError::one("<metrics>", e.to_string()))?;
        let store: Arc<dyn SessionStore> = Arc::new(LocalStore::new(
            1,
            config.cache.revalidate_after,
            Duration::ZERO,
        ));
        let (_, _, _) = assemble(config, kinds, &store, &metrics)?;
        Ok(())
    }

    /// A successor for a reloaded configuration that keeps this runtime's sessions, counters and
    /// metrics. Returns it with the changes that cannot take effect without a restart.
    pub fn reconfigure(&self, config: Config) -> Result<(Self, Vec<String>), BuildError> {
        let mut restart_needed = Vec::new();
        let (old, new) = (&self.config, &config);
        let tls_listener = |s: &crate::config::ServerConfig| {
            s.tls
                .as_ref()
                .map(|t| (t.listen, t.client_ca_file.clone(), t.client_auth))
        };
        if old.server.listen != new.server.listen
            || old.server.admin_listen != new.server.admin_listen
            || old.server.connections != new.server.connections
            || (old.server.threads, old.server.work_stealing)
                != (new.server.threads, new.server.work_stealing)
            || tls_listener(&old.server) != tls_listener(&new.server)
        {
            restart_needed.push(
                "server.* (listeners, client certificate settings, connection limits, threads) changed: restart to apply"
                    .to_owned(),
            );
        }
        if old.store != new.store {
            restart_needed.push("store.* changed: restart to apply".to_owned());
        }
        if old.cache.max_sessions != new.cache.max_sessions
            || old.cache.negative_ttl != new.cache.negative_ttl
        {
            restart_needed.push(
                "cache.max_sessions or cache.negative_ttl changed: restart to apply".to_owned(),
            );
        }
        self.store.set_revalidate_after(new.cache.revalidate_after);
        self.store.set_max_stale(new.cache.max_stale);
        // An unchanged key configuration keeps its ring: a generated demo key must survive reload.
        let tokens = if old.tokens == new.tokens {
            self.tokens.clone()
        } else {
            Arc::new(Tokens::new(&new.tokens)?)
        };
        let kept = Kept {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            tokens,
        };
        let next = Self::build(config, self.kinds.clone(), kept)?;
        Ok((next, restart_needed))
    }

    fn build(config: Config, kinds: Kinds, kept: Kept) -> Result<Self, BuildError> {
        let Kept {
            store,
            metrics,
            tokens,
        } = kept;
        let (router, backends, apps) = assemble(&config, &kinds, &store, &metrics)?;
        for b in &backends {
            metrics
                .sessions
                .with_label_values(&[b.name().as_str()])
                .set(0);
        }
        let faces: Vec<&str> = router.faces().iter().map(|f| f.name()).collect();
        let names: Vec<&str> = backends.iter().map(|b| b.name().as_str()).collect();
        metrics.prime(&faces, &names);
        let configured: Vec<Backend> = backends.iter().map(|b| b.name()).collect();
        let requests = RequestSeries::new(&metrics, &faces, &configured);
        Ok(Self {
            client_limits: Limits {
                max_body: config.limits.max_body_bytes,
                max_depth: config.limits.max_xml_depth,
                max_elements: config.limits.max_xml_elements,
                max_attributes: config.limits.max_xml_attributes,
                max_text_bytes: config.limits.max_xml_text_bytes,
            },
            upstream_limits: upstream_limits(),
            config,
            kinds,
            router,
            backends,
            apps,
            store,
            tokens,
            metrics,
            requests,
        })
    }

    pub fn face(&self, i: usize) -> &dyn Face {
        &*self.router.faces()[i]
    }

    /// The index of the face called `name` (its metrics label), for [`Runtime::handle`].
    pub fn face_index(&self, name: &str) -> Option<usize> {
        self.router.faces().iter().position(|f| f.name() == name)
    }

    /// The backend called `name`.
    pub fn backend(&self, name: Backend) -> Option<&Arc<dyn IdentityBackend>> {
        self.backends.iter().find(|b| b.name() == name)
    }

    /// The backend whose session-id form `id` has.
    pub fn backend_for(&self, id: &str) -> Option<&Arc<dyn IdentityBackend>> {
        self.backends.iter().find(|b| b.recognises(id))
    }

    /// Every endpoint: backends', then apps'.
    pub fn endpoints(&self) -> impl Iterator<Item = &Arc<Endpoint>> {
        self.backends
            .iter()
            .map(|b| b.endpoint())
            .chain(self.apps.iter().map(|a| &a.endpoint))
    }

    /// Resolves every endpoint's host (at start and after a reload, before serving with it).
    pub async fn resolve(&self) {
        for e in self.endpoints() {
            if !e.refresh().await {
                tracing::warn!(endpoint = e.label(), url = %e.url(), "endpoint has no address yet; retrying in the background");
            }
        }
    }
}

/// A backend is configured, not anonymous, so its answers get room for organisation lists far
/// longer than any sample (a Net iD organisation is about 8 elements), still within a fixed bound.
fn upstream_limits() -> Limits {
    Limits {
        max_body: UPSTREAM_MAX_BODY,
        max_depth: 64,
        max_elements: 20_000,
        max_attributes: 20_000,
        max_text_bytes: UPSTREAM_MAX_BODY,
    }
}

type Assembled = (Router, Vec<Arc<dyn IdentityBackend>>, Vec<App>);

/// Builds backends (with their native faces), apps and the router from a configuration.
fn assemble(
    config: &Config,
    kinds: &Kinds,
    store: &Arc<dyn SessionStore>,
    metrics: &Metrics,
) -> Result<Assembled, ConfigError> {
    let mut problems = Vec::new();
    let mut faces: Vec<Arc<dyn Face>> = vec![Arc::new(UnifiedFace), Arc::new(UnifiedSoapFace)];
    let mut proxied: Vec<(PathMatch, usize, usize)> = Vec::new();
    let mut backends = Vec::new();
    let memo = Memo::new(config.cache.max_rendered_bytes);
    for b in &config.backends {
        let key = format!("backends.{}", b.name);
        let Some(kind) = kinds.get(&b.kind) else {
            problems.push(Problem {
                key: format!("{key}.kind"),
                message: format!("`{}` is not a known kind", b.kind),
            });
            continue;
        };
        let endpoint = match endpoint(
            b.name.as_str(),
            &b.url,
            b.timeouts,
            &b.tls,
            b.max_concurrent_calls,
            metrics,
        ) {
            Ok(e) => e,
            Err(message) => {
                problems.push(Problem { key, message });
                continue;
            }
        };
        let cx = BuildContext {
            config: b,
            endpoint,
            store: store.clone(),
            upstream_limits: upstream_limits(),
            memo: memo.clone(),
        };
        match kind.build(cx) {
            Ok(built) => {
                let first = faces.len();
                for (path, face) in built.proxied {
                    proxied.push((path, backends.len(), first + face));
                }
                faces.extend(built.faces);
                backends.push(built.backend);
            }
            Err(message) => problems.push(Problem { key, message }),
        }
    }
    let mut apps = Vec::new();
    for (i, r) in config.routes.iter().enumerate() {
        // The gateway makes no calls of its own to apps: the cap is only a bound.
        match endpoint("app", &r.upstream, r.timeouts, &r.tls, 1024, metrics) {
            Ok(endpoint) => apps.push(App {
                prefix: r.prefix.clone(),
                strip_prefix: r.strip_prefix,
                forward_credentials: r.forward_credentials,
                endpoint,
            }),
            Err(message) => problems.push(Problem {
                key: format!("routes[{i}]"),
                message,
            }),
        }
    }
    let prefixes = config.routes.iter().map(|r| r.prefix.clone()).collect();
    match Router::build(faces, proxied, prefixes) {
        Ok(router) if problems.is_empty() => Ok((router, backends, apps)),
        Ok(_) => Err(ConfigError { problems }),
        Err(more) => {
            problems.extend(more);
            Err(ConfigError { problems })
        }
    }
}

/// The endpoint of a backend or app, its TLS material loaded when the URL is `https://`.
fn endpoint(
    label: &'static str,
    url: &url::Url,
    timeouts: Timeouts,
    tls: &UpstreamTlsConfig,
    max_calls: usize,
    metrics: &Metrics,
) -> Result<Arc<Endpoint>, String> {
    let tls = match url.scheme() {
        "https" => Some(
            UpstreamTls::load(url.host_str().unwrap_or_default(), tls)
                .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    if let Some(expiry) = tls.as_ref().and_then(|t| t.client_cert_not_after) {
        metrics
            .certificate_expiry
            .with_label_values(&[&format!("{label} client")])
            .set(expiry);
    }
    Endpoint::new(label, url, timeouts, tls, max_calls, metrics.clone())
        .map(Arc::new)
        .map_err(|e: EndpointError| e.to_string())
}
