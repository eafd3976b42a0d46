//! What every request shares: configuration, the upstream client and limits (replaced as a whole
//! on reload), and the session cache, Net iD counters and metrics (kept across reloads, so a
//! SIGHUP never drops a session). Requests hold one `Arc<State>` snapshot from start to end.

use std::sync::Arc;
use std::time::Duration;

use idbridge_protocol::Limits;

use crate::cache::SessionCache;
use crate::config::Config;
use crate::counter::NetidCounters;
use crate::error::UpstreamError;
use crate::metrics::Metrics;
use crate::tokens::{self, TokenError, TokenIndex, Tokens};
use crate::upstream::Upstream;

/// How long the `jti` → session mapping is kept: longer than any token lives.
const TOKEN_INDEX_TTL: Duration = Duration::from_secs(24 * 3600);

/// The parts a reload carries over.
struct Shared {
    cache: SessionCache,
    counters: NetidCounters,
    metrics: Metrics,
    tokens: Arc<Tokens>,
    index: TokenIndex,
}

/// Backend answers are bounded too, but far above any real session document.
const UPSTREAM_MAX_BODY: usize = 1 << 20;

#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub upstream: Upstream,
    /// Limits on what clients send to intercepted calls.
    pub client_limits: Limits,
    /// Limits on what backends answer.
    pub upstream_limits: Limits,
    pub cache: SessionCache,
    pub counters: NetidCounters,
    pub metrics: Metrics,
    pub tokens: Arc<Tokens>,
    /// `jti` → session id of every token minted; kept across reloads.
    pub token_index: TokenIndex,
    /// `config.routes` prefixes, for the router.
    pub app_prefixes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("building the upstream client: {0}")]
    Upstream(#[from] UpstreamError),
    #[error("registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error(transparent)]
    Tokens(#[from] TokenError),
}

// === impl State ===

impl State {
    pub fn new(config: Config) -> Result<Self, StateError> {
        let metrics = Metrics::new()?;
        let cache = SessionCache::new(config.cache.max_sessions, config.cache.revalidate_after);
        let counters = NetidCounters::new(config.cache.max_sessions);
        let tokens = Arc::new(Tokens::new(&config.tokens)?);
        let index = tokens::new_index(config.cache.max_sessions, TOKEN_INDEX_TTL);
        Self::assemble(
            config,
            Shared {
                cache,
                counters,
                metrics,
                tokens,
                index,
            },
        )
    }

    /// A successor for a reloaded configuration that keeps this state's sessions, counters and
    /// metrics. Returns it with the changes that cannot take effect without a restart.
    pub fn reconfigure(&self, config: Config) -> Result<(Self, Vec<String>), StateError> {
        let mut restart_needed = Vec::new();
        let (old, new) = (&self.config, &config);
        if old.server != new.server {
            restart_needed.push("server.* (listen addresses) changed: restart to apply".to_owned());
        }
        if old.cache.max_sessions != new.cache.max_sessions {
            restart_needed.push("cache.max_sessions changed: restart to apply".to_owned());
        }
        let cache = if old.cache.revalidate_after == new.cache.revalidate_after {
            self.cache.clone()
        } else {
            self.cache.with_revalidate_after(new.cache.revalidate_after)
        };
        // An unchanged key configuration keeps its ring: a generated demo key must survive reload.
        let tokens = if old.tokens == new.tokens {
            self.tokens.clone()
        } else {
            Arc::new(Tokens::new(&new.tokens)?)
        };
        let shared = Shared {
            cache,
            counters: self.counters.clone(),
            metrics: self.metrics.clone(),
            tokens,
            index: self.token_index.clone(),
        };
        let next = Self::assemble(config, shared)?;
        Ok((next, restart_needed))
    }

    fn assemble(config: Config, shared: Shared) -> Result<Self, StateError> {
        let Shared {
            cache,
            counters,
            metrics,
            tokens,
            index,
        } = shared;
        let client_limits = Limits {
            max_body: config.limits.max_body_bytes,
            max_depth: config.limits.max_xml_depth,
        };
        let upstream_limits = Limits {
            max_body: UPSTREAM_MAX_BODY,
            max_depth: 64,
        };
        Ok(Self {
            upstream: Upstream::new(&config, metrics.clone())?,
            client_limits,
            upstream_limits,
            cache,
            counters,
            metrics,
            tokens,
            token_index: index,
            app_prefixes: config.routes.iter().map(|r| r.prefix.clone()).collect(),
            config,
        })
    }
}
