//! The system under test: the EnOS simulator and the Net iD simulator in processes of their own
//! (so each can fail alone), a redis-server, and release gateway replicas sharing it. Each part
//! can be stalled (SIGSTOP … SIGCONT), crashed (SIGKILL) and restarted on the addresses it had.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use idbridge_benches::procs::{self, Gateway, Proc, Redis, Sims};

/// How long a restarted replica may take to reach Redis before the run gives up.
const PATIENCE: Duration = Duration::from_secs(15);

/// A part of the system that faults are injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Enos,
    Netid,
    Redis,
    /// A replica, by index (0 is A).
    Replica(usize),
}

impl Part {
    pub fn name(self) -> String {
        match self {
            Part::Enos => "EnOS simulator".into(),
            Part::Netid => "Net iD simulator".into(),
            Part::Redis => "Redis".into(),
            Part::Replica(i) => format!("replica {}", replica_name(i)),
        }
    }
}

pub fn replica_name(i: usize) -> char {
    char::from(b'A' + i as u8)
}

#[derive(Debug)]
struct Replica {
    gateway: Option<Gateway>,
    base: String,
    admin: String,
    tls: String,
}

#[derive(Debug)]
pub struct Topology {
    binary: PathBuf,
    repo: PathBuf,
    dir: PathBuf,
    tls: PathBuf,
    /// One `idbridge sim` process per backend; only its own simulator is used.
    enos: Option<Sims>,
    netid: Option<Sims>,
    enos_addrs: (SocketAddr, SocketAddr),
    netid_addrs: (SocketAddr, SocketAddr),
    redis: Option<Redis>,
    redis_port: u16,
    replicas: Vec<Replica>,
    /// `IDBRIDGE__…` settings of every replica.
    env: Vec<(&'static str, String)>,
}

impl Topology {
    /// Starts the simulators, Redis, and `replicas` gateways sharing it, with `env` on top of
    /// the shared-store settings. Returns once every replica uses Redis.
    pub async fn start(
        binary: &Path,
        repo: &Path,
        dir: &Path,
        replicas: usize,
        env: &[(&'static str, String)],
        http: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let tls = dir.join("tls");
        procs::tls_certs(repo, &tls)?;
        let keys = dir.join("keys");
        procs::token_keys(&keys)?;

        let any: SocketAddr = "127.0.0.1:0".parse()?;
        let enos = procs::sims(binary, repo, &dir.join("sim-enos.log"), any, any)?;
        let netid = procs::sims(binary, repo, &dir.join("sim-netid.log"), any, any)?;
        let redis = procs::redis(&dir.join("redis"))?;
        let redis_port = redis
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .context("redis URL without a port")?;
        let mut all_env = vec![
            ("IDBRIDGE__STORE__REDIS_URL", redis.url.clone()),
            ("IDBRIDGE__TOKENS__KEY_DIR", keys.display().to_string()),
            // Every request here comes from one address: lift the per-address lookup limit.
            ("IDBRIDGE__LIMITS__LOOKUPS_PER_ADDRESS", "1000000000".into()),
        ];
        all_env.extend(env.iter().cloned());
        let mut topology = Self {
            binary: binary.to_owned(),
            repo: repo.to_owned(),
            dir: dir.to_owned(),
            tls,
            enos_addrs: (enos.enos, enos.netid),
            netid_addrs: (netid.enos, netid.netid),
            enos: Some(enos),
            netid: Some(netid),
            redis: Some(redis),
            redis_port,
            replicas: Vec::new(),
            env: all_env,
        };
        for i in 0..replicas {
            let gateway = topology.gateway(i, None)?;
            topology.replicas.push(Replica {
                base: gateway.base.clone(),
                admin: gateway.admin.clone(),
                tls: gateway.tls.clone(),
                gateway: Some(gateway),
            });
        }
        for i in 0..replicas {
            topology.store_up(http, i).await?;
        }
        Ok(topology)
    }

    fn gateway(&self, i: usize, same_as: Option<&Replica>) -> anyhow::Result<Gateway> {
        let mut env = self.env.clone();
        if let Some(r) = same_as {
            let port = |url: &str| url.rsplit(':').next().unwrap_or_default().to_owned();
            env.push((
                "IDBRIDGE__SERVER__LISTEN",
                format!("127.0.0.1:{}", port(&r.base)),
            ));
            env.push((
                "IDBRIDGE__SERVER__ADMIN_LISTEN",
                format!("127.0.0.1:{}", port(&r.admin)),
            ));
            env.push((
                "IDBRIDGE__SERVER__TLS__LISTEN",
                format!("127.0.0.1:{}", port(&r.tls)),
            ));
        }
        procs::gateway(
            &self.binary,
            &self.repo,
            &self.dir.join(format!("replica-{}", replica_name(i))),
            &self.tls,
            self.enos_addrs.0,
            self.netid_addrs.1,
            &env,
        )
    }

    /// Waits until replica `i`'s `/readyz` says it shares through Redis.
    async fn store_up(&self, http: &reqwest::Client, i: usize) -> anyhow::Result<()> {
        let url = format!("{}/readyz", self.replicas[i].admin);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(resp) = http.get(&url).send().await
                && let Ok(v) = resp.json::<serde_json::Value>().await
                && v["store"] == "up"
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "replica {} did not reach Redis in {PATIENCE:?}",
                    replica_name(i)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The replicas' base URLs, which stay the same across restarts.
    pub fn bases(&self) -> Vec<String> {
        self.replicas.iter().map(|r| r.base.clone()).collect()
    }

    /// The process of `part`, if it runs.
    pub fn proc(&self, part: Part) -> Option<&Proc> {
        match part {
            Part::Enos => self.enos.as_ref().map(|s| &s.proc),
            Part::Netid => self.netid.as_ref().map(|s| &s.proc),
            Part::Redis => self.redis.as_ref().map(|r| &r.proc),
            Part::Replica(i) => self.replicas.get(i)?.gateway.as_ref().map(|g| &g.proc),
        }
    }

    pub fn stall(&self, part: Part) -> anyhow::Result<()> {
        self.proc(part).context("not running")?.signal("STOP")
    }

    pub fn resume(&self, part: Part) -> anyhow::Result<()> {
        self.proc(part).context("not running")?.signal("CONT")
    }

    /// SIGKILL: no shutdown, whatever the part held in memory is gone.
    pub fn crash(&mut self, part: Part) -> anyhow::Result<()> {
        let proc = match part {
            Part::Enos => self.enos.take().map(|s| s.proc),
            Part::Netid => self.netid.take().map(|s| s.proc),
            Part::Redis => self.redis.take().map(|r| r.proc),
            Part::Replica(i) => self.replicas[i].gateway.take().map(|g| g.proc),
        };
        proc.context("not running")?.crash()
    }

    /// Starts `part` again on the addresses it had; for a replica, returns once it uses Redis.
    pub async fn restart(&mut self, part: Part, http: &reqwest::Client) -> anyhow::Result<()> {
        match part {
            Part::Enos => {
                let (e, n) = self.enos_addrs;
                self.enos = Some(procs::sims(
                    &self.binary,
                    &self.repo,
                    &self.dir.join("sim-enos.log"),
                    e,
                    n,
                )?);
            }
            Part::Netid => {
                let (e, n) = self.netid_addrs;
                self.netid = Some(procs::sims(
                    &self.binary,
                    &self.repo,
                    &self.dir.join("sim-netid.log"),
                    e,
                    n,
                )?);
            }
            Part::Redis => {
                self.redis = Some(procs::redis_on(&self.dir.join("redis"), self.redis_port)?);
            }
            Part::Replica(i) => {
                let gateway = self.gateway(i, Some(&self.replicas[i]))?;
                self.replicas[i].gateway = Some(gateway);
                self.store_up(http, i).await?;
            }
        }
        Ok(())
    }

    /// The parts that should be running but have exited, with how they ended.
    pub fn unexpected_exits(&mut self) -> Vec<String> {
        let mut exits = Vec::new();
        let mut check = |name: String, proc: Option<&mut Proc>| {
            if let Some(status) = proc.and_then(Proc::exit_status) {
                exits.push(format!("{name} exited: {status}"));
            }
        };
        check(Part::Enos.name(), self.enos.as_mut().map(|s| &mut s.proc));
        check(Part::Netid.name(), self.netid.as_mut().map(|s| &mut s.proc));
        check(Part::Redis.name(), self.redis.as_mut().map(|r| &mut r.proc));
        for (i, r) in self.replicas.iter_mut().enumerate() {
            check(
                Part::Replica(i).name(),
                r.gateway.as_mut().map(|g| &mut g.proc),
            );
        }
        exits
    }

    /// Resident memory and open descriptors of every running part, named.
    pub fn sample(&self) -> Vec<(String, u64, usize)> {
        let mut parts = vec![Part::Enos, Part::Netid, Part::Redis];
        parts.extend((0..self.replicas.len()).map(Part::Replica));
        parts
            .into_iter()
            .filter_map(|p| {
                let proc = self.proc(p)?;
                Some((p.name(), proc.rss_bytes().ok()?, proc.open_fds().ok()?))
            })
            .collect()
    }
}
