//! What every request shares: configuration, the session cache, Net iD counters, the upstream
//! client. Built once at start; requests only read it (the cache is internally synchronised).

use idbridge_protocol::Limits;

use crate::cache::SessionCache;
use crate::config::Config;
use crate::counter::NetidCounters;
use crate::error::UpstreamError;
use crate::upstream::Upstream;

/// Backend answers are bounded too, but far above any real session document.
const UPSTREAM_MAX_BODY: usize = 1 << 20;

#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub cache: SessionCache,
    pub counters: NetidCounters,
    pub upstream: Upstream,
    /// Limits on what clients send to intercepted calls.
    pub client_limits: Limits,
    /// Limits on what backends answer.
    pub upstream_limits: Limits,
}

impl State {
    pub fn new(config: Config) -> Result<Self, UpstreamError> {
        let client_limits = Limits {
            max_body: config.limits.max_body_bytes,
            max_depth: config.limits.max_xml_depth,
        };
        let upstream_limits = Limits {
            max_body: UPSTREAM_MAX_BODY,
            max_depth: 64,
        };
        Ok(Self {
            cache: SessionCache::new(config.cache.max_sessions, config.cache.revalidate_after),
            counters: NetidCounters::new(config.cache.max_sessions),
            upstream: Upstream::new(&config)?,
            client_limits,
            upstream_limits,
            config,
        })
    }
}
