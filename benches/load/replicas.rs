//! Two replicas sharing sessions through Redis: the scenarios `r-l1` and `r-l2`, timed in the
//! same rounds as the single-process table, and how fast a logout on one replica reaches the
//! other.
//!
//! Replica A and replica B are two more release gateways in front of the same simulators, with
//! one redis-server of the benchmark's own as `store.redis_url` and one token key directory.
//! Sessions are logged in through A, so A holds them in memory (L1) and Redis (L2) holds their
//! copies. B runs with `cache.max_sessions = 1`: cycling through thousands of sessions, nearly
//! every lookup on B misses its memory and reads Redis, which B's `/metrics` confirms
//! (`idbridge_cache_lookups_total{result="shared"}`).
//!
//! The propagation runs the other way, B → A: A, whose memory holds every session it has read,
//! is the replica that would go on answering from memory if the pub/sub message did not arrive.
//! B's one-session memory would read Redis, which holds the revocation already when the logout
//! answers, and so would measure nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::Value;

use crate::Scenario;
use crate::calls::{cache_metrics, counter, enos_login, metrics, post};
use crate::report::{self, Lookups, Propagation, Row, delta};
use crate::wrk::{Call, Cycled};
use idbridge_benches::procs::{self, Gateway, Redis};

/// EnOS sessions logged in through A, which r-l1 and r-l2 cycle through: many more than B's
/// memory holds, as many as a few minutes of rounds can refresh at the backend once per
/// `cache.revalidate_after`.
const SESSIONS: usize = 2000;
/// Logins in flight at once while the sessions are made.
const LOGINS_AT_ONCE: usize = 32;
/// How long a replica may take to connect to Redis, and the other replica to refuse a session
/// after a logout, before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(10);
/// The EnOS status of a session that is no longer valid.
const INVALID_TOKEN: i64 = 30401;

const SESSION_INFO: &str = "/enos-iam-service/v2.0/session/info";
const LOGOUT: &str = "/enos-iam-service/v2.0/logout";

/// The two replicas, their Redis, and the sessions they share. The gateways stop before Redis.
pub struct Replicas {
    a: Gateway,
    b: Gateway,
    redis: Redis,
    sessions: Vec<String>,
    /// B's lookups once the sessions were logged in: what the check and warm-up add to them
    /// must be Redis reads.
    started: Lookups,
    /// The counters when the timed rounds start (after the warm-up).
    mark: Option<Mark>,
}

struct Mark {
    a: Lookups,
    b: Lookups,
    redis_ticks: u64,
}

/// Where the gateways under test come from: the same binary, certificates and simulators as the
/// single-process gateway.
pub struct Setup<'a> {
    pub binary: &'a Path,
    pub repo: &'a Path,
    pub dir: &'a Path,
    pub tls: &'a Path,
    pub enos: std::net::SocketAddr,
    pub netid: std::net::SocketAddr,
}

impl Replicas {
    /// Starts Redis and the two replicas, waits until both use Redis, and logs the sessions in
    /// through A.
    pub async fn start(setup: &Setup<'_>, http: &reqwest::Client) -> anyhow::Result<Self> {
        let dir = setup.dir.join("replicas");
        let redis = procs::redis(&dir.join("redis"))?;
        eprintln!("redis-server on {} (pid {})", redis.url, redis.proc.pid());
        let keys = dir.join("keys");
        procs::token_keys(&keys)?;
        let env = |max_sessions: Option<&str>| {
            let mut env = vec![
                ("IDBRIDGE__STORE__REDIS_URL", redis.url.clone()),
                ("IDBRIDGE__TOKENS__KEY_DIR", keys.display().to_string()),
                // One address stands for every caller here (see the report).
                ("IDBRIDGE__LIMITS__LOOKUPS_PER_ADDRESS", "1000000000".into()),
            ];
            if let Some(n) = max_sessions {
                env.push(("IDBRIDGE__CACHE__MAX_SESSIONS", n.into()));
            }
            env
        };
        let start = |name: &str, env: &[(&str, String)]| {
            procs::gateway(
                setup.binary,
                setup.repo,
                &dir.join(name),
                setup.tls,
                setup.enos,
                setup.netid,
                env,
            )
        };
        let a = start("a", &env(None))?;
        let b = start("b", &env(Some("1")))?;
        for (name, g) in [("A", &a), ("B", &b)] {
            store_up(http, &g.admin).await?;
            eprintln!("replica {name} on {} (pid {})", g.base, g.proc.pid());
        }

        eprintln!("logging {SESSIONS} EnOS sessions in through replica A…");
        let mut sessions = Vec::with_capacity(SESSIONS);
        while sessions.len() < SESSIONS {
            let mut logins = tokio::task::JoinSet::new();
            for _ in 0..LOGINS_AT_ONCE.min(SESSIONS - sessions.len()) {
                let (http, base) = (http.clone(), a.base.clone());
                logins.spawn(async move { enos_login(&http, &base).await });
            }
            while let Some(id) = logins.join_next().await {
                sessions.push(id??);
            }
        }
        Ok(Self {
            started: cache_metrics(http, &b.admin).await?,
            a,
            b,
            redis,
            sessions,
            mark: None,
        })
    }

    /// r-l1 and r-l2: EnOS session/info through A and through B, cycling through the sessions.
    pub fn scenarios(&self) -> Vec<Scenario> {
        let call = |g: &Gateway| Call {
            method: "POST",
            url: format!("{}{SESSION_INFO}", g.base),
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("Authorization", format!("Bearer {}", self.sessions[0])),
            ],
            body: "{}".into(),
            counted: None,
            cycled: Some(Cycled {
                header: "Authorization",
                prefix: "Bearer ".into(),
                values: self.sessions.clone(),
            }),
        };
        vec![
            Scenario {
                key: "r-l1",
                what: "replica A, memory hit (L1): EnOS session/info",
                server: vec![self.a.proc.pid()],
                call: call(&self.a),
            },
            Scenario {
                key: "r-l2",
                what: "replica B, memory of one session, so Redis (L2): EnOS session/info",
                server: vec![self.b.proc.pid()],
                call: call(&self.b),
            },
        ]
    }

    /// Marks the start of the timed rounds, after the warm-up. Refuses to go on if B did not
    /// answer nearly all of its lookups so far from Redis: r-l2 would time something else.
    pub async fn mark(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let b = cache_metrics(http, &self.b.admin).await?;
        let during = delta(&self.started, &b);
        let all: u64 = during.values().sum();
        let shared = during.get("shared").copied().unwrap_or(0);
        ensure!(
            all > 0 && shared * 10 >= all * 9,
            "replica B answered {shared} of its {all} warm-up lookups from Redis, not nearly all: \
             {during:?}"
        );
        self.mark = Some(Mark {
            a: cache_metrics(http, &self.a.admin).await?,
            b,
            redis_ticks: procs::cpu_ticks(&[self.redis.proc.pid()]),
        });
        Ok(())
    }

    /// After the timed rounds, with their rows: what the counters say, then the revocation
    /// propagation (`logouts` times). Stops the replicas and Redis.
    pub async fn finish(
        self,
        http: &reqwest::Client,
        rows: Vec<Row>,
        logouts: usize,
    ) -> anyhow::Result<report::Replicas> {
        let mark = self
            .mark
            .as_ref()
            .context("the timed rounds were not marked")?;
        let redis_ticks = procs::cpu_ticks(&[self.redis.proc.pid()]) - mark.redis_ticks;
        let lookups_a = delta(&mark.a, &cache_metrics(http, &self.a.admin).await?);
        let lookups_b = delta(&mark.b, &cache_metrics(http, &self.b.admin).await?);
        let looked_up: u64 = lookups_b.values().sum();
        let redis_cpu_us =
            redis_ticks as f64 / procs::ticks_per_second() * 1e6 / looked_up.max(1) as f64;
        eprintln!("timing {logouts} logouts on replica B until replica A refuses the session…");
        let propagation = self.propagation(http, logouts).await?;
        eprintln!(
            "revocation B → A: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            propagation.quantile(0.5).as_secs_f64() * 1e3,
            propagation.quantile(0.99).as_secs_f64() * 1e3,
            propagation.quantile(1.0).as_secs_f64() * 1e3
        );
        Ok(report::Replicas {
            rows,
            sessions: self.sessions.len(),
            lookups_a,
            lookups_b,
            redis_cpu_us,
            redis_rss: self.redis.proc.rss_bytes().ok(),
            propagation,
        })
    }

    /// See the module documentation: log in through B, read on A, log out through B, poll A.
    async fn propagation(
        &self,
        http: &reqwest::Client,
        logouts: usize,
    ) -> anyhow::Result<Propagation> {
        let (from, to) = (&self.b, &self.a);
        let info = format!("{}{SESSION_INFO}", to.base);
        let logout = format!("{}{LOGOUT}", from.base);
        let received = "idbridge_revocations_received_total";
        let received_before = counter(&metrics(http, &to.admin).await?, received).unwrap_or(0);
        let lookups_before = cache_metrics(http, &to.admin).await?;
        let (mut times, mut at_first_poll, mut polls) = (Vec::with_capacity(logouts), 0, 0);
        for _ in 0..logouts {
            let id = enos_login(http, &from.base).await?;
            let bearer = format!("Bearer {id}");
            let status = enos_status(http, &info, &bearer).await?;
            ensure!(
                status == 0,
                "replica A did not find a fresh session: {status}"
            );
            let answer = post(
                http,
                &logout,
                &[
                    ("Authorization", &bearer),
                    ("Content-Type", "application/json"),
                ],
                "{}",
            )
            .await?;
            let logged_out = Instant::now();
            let v: Value = serde_json::from_slice(&answer)?;
            ensure!(v["status"] == 0, "logout on replica B failed: {v}");
            let mut n = 0;
            loop {
                n += 1;
                match enos_status(http, &info, &bearer).await? {
                    INVALID_TOKEN => break,
                    0 => ensure!(
                        logged_out.elapsed() < PATIENCE,
                        "replica A still serves a session logged out on B {PATIENCE:?} ago"
                    ),
                    other => anyhow::bail!("replica A answered status {other} after a logout"),
                }
            }
            times.push(logged_out.elapsed());
            polls += n;
            if n == 1 {
                at_first_poll += 1;
            }
        }
        let received_after = counter(&metrics(http, &to.admin).await?, received).unwrap_or(0);
        Ok(Propagation {
            times,
            at_first_poll,
            polls,
            received: received_after.saturating_sub(received_before),
            lookups: delta(&lookups_before, &cache_metrics(http, &to.admin).await?),
        })
    }
}

/// The EnOS `status` of a session/info call (0: valid; 30401: not a valid session).
async fn enos_status(http: &reqwest::Client, url: &str, bearer: &str) -> anyhow::Result<i64> {
    let answer = http
        .post(url)
        .header("Authorization", bearer)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await?
        .bytes()
        .await?;
    let v: Value = serde_json::from_slice(&answer)
        .with_context(|| format!("session/info: {}", String::from_utf8_lossy(&answer)))?;
    v["status"]
        .as_i64()
        .with_context(|| format!("session/info without a status: {v}"))
}

/// Waits until the replica's `/readyz` says it uses Redis (`"store": "up"`).
async fn store_up(http: &reqwest::Client, admin: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let v: Value = http
            .get(format!("{admin}/readyz"))
            .send()
            .await?
            .json()
            .await?;
        if v["store"] == "up" {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the replica at {admin} is not using Redis after {PATIENCE:?}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
