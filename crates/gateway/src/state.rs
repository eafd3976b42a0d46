//! What every request shares: configuration, the upstream client and limits (replaced as a whole
//! on reload), and the session cache, Net iD counters and metrics (kept across reloads, so a
//! SIGHUP never drops a session). Requests hold one `Arc<State>` snapshot from start to end.

use idbridge_protocol::Limits;

use crate::cache::SessionCache;
use crate::config::Config;
use crate::counter::NetidCounters;
use crate::error::UpstreamError;
use crate::metrics::Metrics;
use crate::upstream::Upstream;

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
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("building the upstream client: {0}")]
    Upstream(#[from] UpstreamError),
    #[error("registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

// === impl State ===

impl State {
    pub fn new(config: Config) -> Result<Self, StateError> {
        let metrics = Metrics::new()?;
        let cache = SessionCache::new(config.cache.max_sessions, config.cache.revalidate_after);
        let counters = NetidCounters::new(config.cache.max_sessions);
        Self::assemble(config, cache, counters, metrics)
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
        let next = Self::assemble(config, cache, self.counters.clone(), self.metrics.clone())?;
        Ok((next, restart_needed))
    }

    fn assemble(
        config: Config,
        cache: SessionCache,
        counters: NetidCounters,
        metrics: Metrics,
    ) -> Result<Self, StateError> {
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
            config,
        })
    }
}
