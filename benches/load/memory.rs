//! Resident memory per cached session, measured in a process of its own (`idbridge-load memory`)
//! so nothing else it holds moves the figure.
//!
//! The process builds the gateway's own session store (`LocalStore`) as the default configuration
//! sizes it, then caches
//! `sessions` sessions exactly as a cache miss does: each one is decoded and normalised from the
//! backend's answer (the vendor samples, which are what the simulators send) and stored under an
//! id of the backend's real form and length; a Net iD session also gets its call counter, as after
//! a login. Each session belongs to a user of its own (the sample's subject under another id), as
//! a million sessions of a real deployment mostly do, so the per-subject index counts in full.
//! The figure is the growth of `VmRSS` divided by the number of sessions, so it includes moka's
//! bookkeeping, the key, the `Arc`s, the index and the allocator's overhead, not only the session.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use idbridge_benches::{NOW, enos_id, enos_session, netid_id, netid_session};
use idbridge_gateway::store::{LocalStore, SessionStore};
use idbridge_session::Backend;
use serde_json::{Value, json};

use crate::report::Memory;
use idbridge_benches::procs::rss_of;

/// What one measurement found; printed as JSON by the child, read by the parent.
pub fn measure(backend: Backend, sessions: u64) -> anyhow::Result<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = LocalStore::new(sessions, Duration::from_secs(3600), Duration::from_secs(30));
    let before = rss()?;
    rt.block_on(async {
        for i in 0..sessions {
            let mut session = match backend {
                Backend::ENOS => enos_session(&enos_id(i), NOW)?,
                _ => {
                    let id = netid_id(i);
                    store.reset_count(&id).await;
                    netid_session(&id, NOW)?
                }
            };
            if std::env::var_os("MEM_ONE_SUBJECT").is_none() {
                session.subject.id = format!("{}{i}", session.subject.id);
            }
            store
                .insert(session, NOW)
                .await
                .context("a fresh session was not cached")?;
        }
        store.sync().await;
        anyhow::Ok(())
    })?;
    let after = rss()?;
    let cached = store.len();
    if cached != sessions {
        bail!("{cached} of {sessions} sessions stayed cached");
    }
    Ok(json!({
        "backend": backend.as_str(),
        "sessions": sessions,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_session": after.saturating_sub(before) as f64 / sessions as f64,
    }))
}

/// Runs the memory measurement in a fresh process of this same binary.
pub fn in_child(backend: Backend, sessions: u64) -> anyhow::Result<Memory> {
    let name = backend.as_str();
    eprintln!("caching {sessions} {name} sessions in a fresh process…");
    let out = Command::new(std::env::current_exe()?)
        .args(["memory", "--backend", name, "--sessions"])
        .arg(sessions.to_string())
        .output()?;
    ensure!(
        out.status.success(),
        "memory measurement failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)?;
    Ok(Memory {
        backend: name,
        sessions,
        bytes_per_session: v["bytes_per_session"]
            .as_f64()
            .context("no bytes_per_session")?,
        rss_after: v["rss_after"].as_u64().unwrap_or(0),
    })
}

fn rss() -> anyhow::Result<u64> {
    rss_of("/proc/self/status")
}
