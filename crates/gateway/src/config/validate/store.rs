//! Validation of `[store]`: where sessions, revocations and counters are shared.

use std::path::PathBuf;
use std::time::Duration;

use super::super::StoreConfig;
use super::super::raw::RawStore;
use super::Check;

impl Check {
    /// `[store]`. The URL is parsed as the Redis client will parse it, so a typo is a
    /// configuration error, not a replica that silently runs alone. No message repeats the URL:
    /// it may carry a password.
    pub(super) fn store(&mut self, raw: RawStore) -> StoreConfig {
        let redis_url = self.optional("store.redis_url", raw.redis_url);
        if let Some(url) = &redis_url
            && let Err(e) = fred::types::config::Config::from_url(url)
        {
            self.problem(
                "store.redis_url",
                format!(
                    "not a Redis URL ({}); expected redis://, rediss://, redis-sentinel://, \
                     redis-cluster:// or redis+unix://",
                    e.details()
                ),
            );
        }
        let key_prefix = self.text("store.key_prefix", raw.key_prefix, "idbridge:");
        if key_prefix.len() > 64
            || key_prefix.contains(['{', '}'])
            || key_prefix.contains(char::is_whitespace)
        {
            self.problem(
                "store.key_prefix",
                "at most 64 characters, without whitespace or braces (the braces are Redis \
                 Cluster hash tags, which the gateway sets itself)",
            );
        }
        let timeout = self.duration(
            "store.timeout",
            raw.timeout,
            "250ms",
            Duration::from_millis(1),
        );
        if timeout > Duration::from_secs(10) {
            self.problem(
                "store.timeout",
                "at most 10s: every request that misses this replica's memory may wait this long",
            );
        }
        let ca_file = self
            .optional("store.ca_file", raw.ca_file)
            .map(PathBuf::from);
        if let Some(ca) = &ca_file {
            if !ca.is_file() {
                self.problem("store.ca_file", format!("{} is not a file", ca.display()));
            }
            if !redis_url
                .as_deref()
                .is_some_and(|u| u.starts_with("rediss") || u.starts_with("valkeys"))
            {
                self.problem("store.ca_file", "only used with a rediss:// URL (TLS)");
            }
        }
        StoreConfig {
            redis_url,
            key_prefix,
            timeout,
            ca_file,
        }
    }
}
