//! Keeping replicas in step: the health loop (is Redis there; when it returns, share what was
//! queued and catch up on what was missed) and the revocation listener (every replica's
//! revocations applied to this one's memory as they are published).

use std::time::Duration;

use fred::prelude::{EventInterface, KeysInterface};
use idbridge_session::UnixTime;
use tokio::sync::watch;

use super::Inner;
use super::codec::Keys;
use super::link::Link;
use crate::metrics::Metrics;
use crate::store::{LocalStore, SessionStore};
use std::sync::Arc;

/// How often the health loop pings Redis (and retries queued revocations).
const PING_EVERY: Duration = Duration::from_millis(500);
/// Memory is checked against the revocation markers this many sessions at a time.
const RESYNC_BATCH: usize = 256;

/// What the revocation listener needs; it must not keep the store alive.
pub(super) struct Listener {
    l1: LocalStore,
    link: Arc<Link>,
    keys: Keys,
    instance: String,
    metrics: Metrics,
}

impl Inner {
    pub(super) fn clone_parts(&self) -> Listener {
        Listener {
            l1: self.l1.clone(),
            link: self.link.clone(),
            keys: self.keys.clone(),
            instance: self.instance.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

// === impl Listener ===

impl Listener {
    /// A revocation message from any replica; this replica's own are already applied.
    async fn apply(&self, message: &str) {
        let Some((from, id)) = message.split_once(' ') else {
            return;
        };
        if from == self.instance {
            return;
        }
        self.l1.revoke(id).await;
        self.metrics.revocations_received.inc();
    }

    /// After messages may have been missed (a reconnect, a lagging receiver): drops from memory
    /// every session Redis holds a marker for.
    async fn resync(&self) {
        let sessions = self
            .l1
            .sessions(UnixTime::from_system(std::time::SystemTime::now()))
            .await;
        let mut dropped = 0usize;
        // One round trip per batch: a pipeline of EXISTS (one key each, so Cluster routes them).
        for batch in sessions.chunks(RESYNC_BATCH) {
            let pipeline = self.link.client.pipeline();
            let markers = async {
                for s in batch {
                    pipeline
                        .exists::<(), _>(self.keys.revoked(s.id.expose()))
                        .await?;
                }
                pipeline.all::<Vec<i64>>().await
            };
            let Some(markers) = self.link.call("load", markers).await else {
                return;
            };
            for (s, marker) in batch.iter().zip(markers) {
                if marker > 0 {
                    self.l1.revoke(s.id.expose()).await;
                    dropped += 1;
                }
            }
        }
        if dropped > 0 {
            tracing::info!(
                dropped,
                "sessions revoked on other replicas while this one may have missed it, dropped"
            );
        }
    }
}

/// Pings Redis, records whether it answers, and when it comes back, shares the queued
/// revocations and re-subscribes.
pub(super) async fn health_loop(inner: std::sync::Weak<Inner>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(PING_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => break,
        }
        let Some(inner) = inner.upgrade() else { break };
        let was_up = inner.link.is_up();
        let up = inner.link.ping().await;
        if up {
            inner.link.set_up(true);
            if !was_up {
                inner.link.subscribe(inner.keys.channel()).await;
            }
            inner.drain_pending().await;
            if !was_up {
                inner.clone_parts().resync().await;
            }
        }
    }
}

/// Applies every replica's revocations to this one's memory as they are published.
pub(super) async fn revocations_loop(listener: Listener, mut stop: watch::Receiver<bool>) {
    let mut messages = listener.link.subscriber.message_rx();
    let mut reconnects = listener.link.subscriber.reconnect_rx();
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Ok(m) => {
                    if let Some(text) = m.value.as_str() {
                        listener.apply(&text).await;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => listener.resync().await,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            reconnected = reconnects.recv() => match reconnected {
                // fred re-subscribes by itself; what was published meanwhile is missed.
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    listener.resync().await
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = stop.changed() => break,
        }
    }
    listener.link.quit().await;
}
