//! The connection to Redis and whether it is usable.
//!
//! Every call is bounded by `store.timeout` and fails fast while the client is reconnecting. A
//! failed call marks the link down; while down, calls are not even tried (each request would
//! otherwise pay the timeout), and the store's health loop pings until Redis answers again. The
//! client reconnects by itself with backoff, forever; nothing needs a restart.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fred::clients::{Client, SubscriberClient, WithOptions};
use fred::prelude::{ClientLike, Error as RedisError, PubsubInterface};
use fred::types::Builder;
use fred::types::config::{Config as RedisConfig, Options, ReconnectPolicy, TlsConfig};

use crate::config::StoreConfig;
use crate::metrics::Metrics;

/// Why the shared store cannot be set up (a start-up error, never a request's).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store.redis_url: {0}")]
    Url(String),
    #[error("store.ca_file: {0}")]
    Tls(String),
}

/// See the module documentation.
pub struct Link {
    pub client: Client,
    pub subscriber: SubscriberClient,
    /// `client` with the per-call options.
    bounded: WithOptions<Client>,
    timeout: Duration,
    up: AtomicBool,
    metrics: Metrics,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("up", &self.is_up())
            .field("timeout", &self.timeout)
            .finish()
    }
}

// === impl Link ===

impl Link {
    /// Builds both clients (commands, and pub/sub, which needs a connection of its own) and
    /// starts connecting them in the background. Must run inside a tokio runtime.
    pub fn new(config: &StoreConfig, url: &str, metrics: Metrics) -> Result<Arc<Self>, StoreError> {
        let mut redis =
            RedisConfig::from_url(url).map_err(|e| StoreError::Url(e.details().to_owned()))?;
        // Keep trying when Redis is down at start: the gateway starts degraded, not at all.
        redis.fail_fast = false;
        if let Some(ca) = &config.ca_file {
            redis.tls = Some(TlsConfig::from(client_tls(ca)?));
        }
        let timeout = config.timeout;
        let mut builder = Builder::from_config(redis);
        builder
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .with_connection_config(|c| {
                c.connection_timeout = timeout.max(Duration::from_secs(2));
                c.internal_command_timeout = timeout.max(Duration::from_secs(2));
                c.max_command_attempts = 1;
            })
            .with_performance_config(|p| {
                p.default_command_timeout = timeout;
                // Pub/sub messages buffered per receiver before the slowest one lags.
                p.broadcast_channel_capacity = 4_096;
            });
        let client = builder
            .build()
            .map_err(|e| StoreError::Url(e.details().to_owned()))?;
        let subscriber = builder
            .build_subscriber_client()
            .map_err(|e| StoreError::Url(e.details().to_owned()))?;
        client.connect();
        subscriber.connect();
        // Re-subscribes after every reconnect; detached, it ends with the client.
        drop(subscriber.manage_subscriptions());
        let bounded = client.with_options(&Options {
            timeout: Some(timeout),
            fail_fast: true,
            max_attempts: Some(1),
            ..Options::default()
        });
        Ok(Arc::new(Self {
            client,
            subscriber,
            bounded,
            timeout,
            up: AtomicBool::new(false),
            metrics,
        }))
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Records a change of state, logged once per change.
    pub fn set_up(&self, up: bool) {
        if self.up.swap(up, Ordering::Relaxed) != up {
            self.metrics.store_up.set(i64::from(up));
            if up {
                tracing::info!("shared store reachable: sessions and revocations are shared again");
            } else {
                tracing::warn!(
                    "shared store unreachable: serving from this replica's memory and the backends until it returns"
                );
            }
        }
    }

    /// The client with the per-call options: bounded, and failing fast while disconnected.
    pub fn calls(&self) -> &WithOptions<Client> {
        &self.bounded
    }

    /// Runs one Redis call unless the link is down; `None` when skipped, failed or too slow
    /// (which marks the link down).
    pub async fn call<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Option<T> {
        if !self.is_up() {
            return None;
        }
        self.attempt(op, call).await
    }

    /// Runs one Redis call whatever the state; failure marks the link down.
    pub async fn attempt<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Option<T> {
        let error = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {:?}", self.timeout),
        };
        self.metrics.store_errors.with_label_values(&[op]).inc();
        if self.is_up() {
            tracing::warn!(op, error, "shared store call failed");
        }
        self.set_up(false);
        None
    }

    /// Subscribes the pub/sub connection to `channel` (again: Redis ignores a repeat). A failure
    /// is counted but does not mark the link down: the subscriber has a connection of its own,
    /// which may come back a moment after the command connection, and fred re-subscribes it by
    /// itself once it does.
    pub async fn subscribe(&self, channel: &str) {
        let result = tokio::time::timeout(self.timeout, self.subscriber.subscribe(channel)).await;
        if !matches!(result, Ok(Ok(()))) {
            self.metrics
                .store_errors
                .with_label_values(&["subscribe"])
                .inc();
            tracing::debug!("revocation channel not subscribed yet; the client retries");
        }
    }

    /// Whether Redis answers a PING now.
    pub async fn ping(&self) -> bool {
        let ping = self.calls().ping::<String>(None);
        self.attempt("ping", ping).await.is_some()
    }

    /// Waits up to `wait` for the first connection; false when Redis did not answer by then.
    pub async fn connected(&self, wait: Duration) -> bool {
        let both = async {
            self.client.wait_for_connect().await?;
            self.subscriber.wait_for_connect().await
        };
        matches!(tokio::time::timeout(wait, both).await, Ok(Ok(())))
    }

    pub async fn quit(&self) {
        let _ = tokio::time::timeout(self.timeout, self.client.quit()).await;
        let _ = tokio::time::timeout(self.timeout, self.subscriber.quit()).await;
    }
}

/// rustls for a `rediss://` server signed by `ca` (ring, the provider the rest of the gateway
/// uses).
fn client_tls(ca: &std::path::Path) -> Result<rustls::ClientConfig, StoreError> {
    let roots = crate::tls::roots(ca).map_err(|e| StoreError::Tls(e.to_string()))?;
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| StoreError::Tls(e.to_string()))
}
