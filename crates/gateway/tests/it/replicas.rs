//! Two replicas and a real Redis: they behave as one. Each test starts its own `redis-server`
//! ([`crate::redis`]) and two gateways in process, both in front of the same simulators, both
//! holding the same signing key.

use std::time::{Duration, Instant};

use idbridge_gateway::RunningGateway;
use serde_json::{Value, json};

use crate::common::{self, Builder, Harness};
use crate::ops::sample;
use crate::redis::{self, Redis};

/// Replica A (the harness's gateway), replica B, and what they share.
struct Pair {
    h: Harness,
    b: RunningGateway,
    /// The standalone server, where the test started one (not for a Cluster).
    redis: Option<Redis>,
    _keys: tempfile::TempDir,
}

async fn pair() -> Option<Pair> {
    pair_with(|b| b).await
}

async fn pair_with(tweak: impl FnOnce(Builder<'static>) -> Builder<'static>) -> Option<Pair> {
    if !redis::available() {
        return None;
    }
    let redis = Redis::start();
    Some(pair_on(redis.url(), Some(redis), tweak).await)
}

/// Two replicas on the Redis at `url`, whatever its topology, sharing one key dir. `redis` is
/// the standalone server behind it, when there is one the test drives.
async fn pair_on(
    url: String,
    redis: Option<Redis>,
    tweak: impl FnOnce(Builder<'static>) -> Builder<'static>,
) -> Pair {
    let keys = crate::tokens::key_dir();
    let builder = common::builder()
        .set("store.redis_url", url)
        .set("tokens.key_dir", keys.path().display().to_string());
    let h = tweak(builder).start().await;
    let b = RunningGateway::start_with(h.config.clone(), h.kinds.clone())
        .await
        .unwrap();
    for replica in [&h.gw, &b] {
        assert_eq!(replica.runtime().store.state(), "up");
    }
    Pair {
        h,
        b,
        redis,
        _keys: keys,
    }
}

impl Pair {
    /// Logs a session in through A and shows B answers it from Redis, with no backend call.
    async fn shared_login(&self) -> String {
        let id = self.h.enos_login().await;
        let upstream = self.h.enos.count("enos.session_info");
        assert_eq!(self.enos_info(&self.b(), &id).await["status"], 0);
        assert_eq!(
            self.h.enos.count("enos.session_info"),
            upstream,
            "B answered from Redis"
        );
        id
    }

    fn redis(&mut self) -> &mut Redis {
        self.redis.as_mut().expect("a pair on a standalone Redis")
    }

    fn a(&self) -> String {
        self.h.gw.base_url()
    }

    fn b(&self) -> String {
        self.b.base_url()
    }

    async fn enos_info(&self, base: &str, credential: &str) -> Value {
        let (status, v) = self
            .h
            .post_json(
                base,
                "/enos-iam-service/v2.0/session/info",
                Some(&format!("Bearer {credential}")),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    async fn enos_logout(&self, base: &str, id: &str) {
        let (status, v) = self
            .h
            .post_json(
                base,
                "/enos-iam-service/v2.0/logout",
                Some(&format!("Bearer {id}")),
                json!({}),
            )
            .await;
        assert_eq!((status, &v["success"]), (200, &json!(true)), "{v}");
    }

    async fn get(&self, url: String, token: &str) -> u16 {
        self.h
            .http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn readyz_store(&self, admin: &str) -> String {
        let v: Value = self
            .h
            .http
            .get(format!("{admin}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["store"].as_str().unwrap_or_default().to_owned()
    }

    /// Polls both replicas' `/readyz` until each reports `want`, for up to 20 s.
    async fn until_store(&self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for admin in [self.h.gw.admin_url(), self.b.admin_url()] {
            while self.readyz_store(&admin).await != want {
                assert!(
                    Instant::now() < deadline,
                    "{admin} never reported store {want}"
                );
                tokio::task::yield_now().await;
            }
        }
    }

    /// Logs `id` out through `via` and measures how long until `other` refuses it (it answered
    /// for it before). Polls, with a 2 s cap.
    async fn propagation(&self, via: &str, other: &str, id: &str) -> Duration {
        assert_eq!(self.enos_info(other, id).await["status"], 0);
        self.enos_logout(via, id).await;
        let start = Instant::now();
        loop {
            let v = self.enos_info(other, id).await;
            if v["status"] == 30401 {
                return start.elapsed();
            }
            assert_eq!(v["status"], 0, "{v}");
            assert!(start.elapsed() < Duration::from_secs(2), "never refused");
        }
    }
}

async fn unified_token(h: &Harness, base: &str) -> String {
    let body = json!({"backend": "enos", "principal": common::DEMO_PRINCIPAL, "credentials": common::DEMO_PASSWORD});
    let (status, v) = h.post_json(base, "/idbridge/v1/login", None, body).await;
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_token_and_sessions_from_one_replica_work_on_the_other_on_every_face() {
    let Some(mut p) = pair().await else { return };
    let token = unified_token(&p.h, &p.a()).await;
    let enos = p.h.enos_login().await;
    let netid = p.h.netid_login_at(&p.a()).await;
    // Each backend's login asks for the session once; nothing after that.
    let upstream = (
        p.h.enos.count("enos.session_info"),
        p.h.netid.count("netid.get_login_status"),
    );
    assert_eq!(
        p.get(format!("{}/idbridge/v1/session", p.b()), &token)
            .await,
        200
    );
    assert_eq!(
        p.get(format!("{}/idbridge/v1/auth", p.b()), &token).await,
        200
    );
    assert_eq!(p.enos_info(&p.b(), &token).await["status"], 0);
    let soap = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetSession xmlns="urn:idbridge:v1"><Token>{token}</Token></GetSession></s:Body></s:Envelope>"#
    );
    let resp =
        p.h.http
            .post(format!("{}/idbridge/soap", p.b()))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(soap)
            .send()
            .await
            .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("John Doe") || text.contains(common::DEMO_PRINCIPAL),
        "{text}"
    );

    assert_eq!(p.enos_info(&p.b(), &enos).await["status"], 0);
    let (_, v) =
        p.h.post_json(
            &p.b(),
            "/api/login/status/get",
            None,
            json!({"SessionId": netid, "Count": "1"}),
        )
        .await;
    assert_eq!(v["IsLoggedIn"], "True", "{v}");
    // Logins through A were shared: B asked no backend.
    let after = (
        p.h.enos.count("enos.session_info"),
        p.h.netid.count("netid.get_login_status"),
    );
    assert_eq!(after, upstream);
    let metrics = p.h.metrics_at(&p.b.admin_url()).await;
    let shared = sample(&metrics, "idbridge_cache_lookups_total{result=\"shared\"}").unwrap();
    assert!(shared >= 3.0, "{shared}");
    // Key names carry digests under the prefix, never a session id.
    let keys = p.redis().cli(&["--scan"]);
    assert!(keys.lines().count() >= 3, "{keys}");
    assert!(keys.lines().all(|k| k.starts_with("idbridge:{")), "{keys}");
    assert!(!keys.contains(&enos) && !keys.contains(&netid), "{keys}");
}

#[tokio::test]
async fn a_session_one_replica_looked_up_is_a_hit_on_the_other() {
    let Some(p) = pair().await else { return };
    let id = p.h.enos_login_direct().await;
    assert_eq!(p.enos_info(&p.a(), &id).await["status"], 0);
    for _ in 0..3 {
        assert_eq!(p.enos_info(&p.b(), &id).await["status"], 0);
    }
    assert_eq!(
        p.h.enos.count("enos.session_info"),
        1,
        "one upstream status call in all"
    );
}

#[tokio::test]
async fn a_subjects_index_holds_only_its_sessions_that_may_still_live() {
    // One subject logging in and out for ever must not grow its index for ever.
    let Some(mut p) = pair().await else { return };
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(p.h.enos_login().await);
    }
    for id in &ids[..4] {
        p.enos_logout(&p.b(), id).await;
    }
    let subject = "u15578227990211";
    let index = format!(
        "idbridge:{{{}}}:x",
        idbridge_gateway::store::handle(subject)
    );
    assert_eq!(p.redis().cli(&["ZCARD", &index]).trim(), "2");
}

#[tokio::test]
async fn a_logout_on_one_replica_is_refused_on_the_other_within_100_ms() {
    let Some(p) = pair().await else { return };
    let mut times = Vec::new();
    for i in 0..20 {
        let id = p.h.enos_login().await;
        let (via, other) = if i % 2 == 0 {
            (p.b(), p.a())
        } else {
            (p.a(), p.b())
        };
        times.push(p.propagation(&via, &other, &id).await);
    }
    times.sort();
    let (p50, p99) = (times[times.len() / 2], times[times.len() - 1]);
    eprintln!("revocation propagation over 20 logouts: p50 {p50:?}, max {p99:?}");
    assert!(p99 < Duration::from_millis(100), "{times:?}");
}

#[tokio::test]
async fn a_restarted_replica_keeps_serving_sessions_and_tokens() {
    let Some(mut p) = pair().await else { return };
    let token = unified_token(&p.h, &p.a()).await;
    let id = p.h.enos_login().await;
    let upstream = p.h.enos.count("enos.session_info");
    p.h = p.h.restart().await;
    assert_eq!(
        p.get(format!("{}/idbridge/v1/session", p.a()), &token)
            .await,
        200
    );
    assert_eq!(p.enos_info(&p.a(), &id).await["status"], 0);
    assert_eq!(
        p.h.enos.count("enos.session_info"),
        upstream,
        "served from the shared store"
    );
}

#[tokio::test]
async fn netid_counts_never_repeat_across_replicas() {
    // Every status call goes upstream, alternately through A and B.
    let Some(p) = pair_with(|b| b.set("cache.revalidate_after", "0s")).await else {
        return;
    };
    let id = p.h.netid_login_at(&p.a()).await;
    let upstream = p.h.netid.count("netid.get_login_status");
    for count in 1..=200u64 {
        let base = if count % 2 == 0 { p.a() } else { p.b() };
        let body = json!({"SessionId": id, "Count": count.to_string()});
        let (status, v) =
            p.h.post_json(&base, "/api/login/status/get", None, body)
                .await;
        assert_eq!(
            (status, &v["IsLoggedIn"]),
            (200, &json!("True")),
            "call {count}: {v}"
        );
    }
    // One upstream call each: no InvalidCount had to be retried.
    assert_eq!(p.h.netid.count("netid.get_login_status") - upstream, 200);
    // A client's replayed Count is refused by the replica that did not see it.
    let body = json!({"SessionId": id, "Count": "200"});
    let (_, v) =
        p.h.post_json(&p.b(), "/api/login/status/get", None, body)
            .await;
    assert_eq!(v["Status"]["Code"], "InvalidCount", "{v}");
}

#[tokio::test]
async fn failed_logins_are_counted_across_replicas() {
    let Some(p) = pair_with(|b| b.set("limits.login_failures_per_account", "3")).await else {
        return;
    };
    let body = json!({"authType": 0, "principal": "ldap_user01", "credentials": "guess"});
    for base in [p.a(), p.b(), p.a()] {
        let (_, v) =
            p.h.post_json(&base, "/enos-iam-service/v2.0/login", None, body.clone())
                .await;
        assert_eq!(v["status"], 30400, "{v}");
    }
    let (_, v) =
        p.h.post_json(&p.b(), "/enos-iam-service/v2.0/login", None, body)
            .await;
    assert_eq!(v["status"], 30429, "{v}");
    assert_eq!(p.h.enos.count("enos.login"), 3);
}

#[tokio::test]
async fn redis_down_logs_nobody_out_and_sharing_resumes_when_it_returns() {
    let Some(mut p) = pair().await else { return };
    let kept = p.h.enos_login().await;
    let ended = p.h.enos_login().await;
    for base in [p.a(), p.b()] {
        assert_eq!(p.enos_info(&base, &kept).await["status"], 0);
        assert_eq!(p.enos_info(&base, &ended).await["status"], 0);
    }
    p.redis().kill();
    // Cached sessions are answered on both, whatever Redis does; nobody gets a 401.
    for _ in 0..20 {
        for base in [p.a(), p.b()] {
            assert_eq!(p.enos_info(&base, &kept).await["status"], 0);
        }
    }
    p.until_store("degraded").await;
    let token = unified_token(&p.h, &p.a()).await;
    assert_eq!(
        p.get(format!("{}/idbridge/v1/session", p.b()), &token)
            .await,
        200
    );
    assert_eq!(sample(&p.h.metrics().await, "idbridge_store_up"), Some(0.0));
    // A logout while Redis is away holds where it was made, and is shared when Redis returns.
    p.enos_logout(&p.b(), &ended).await;
    assert_eq!(p.enos_info(&p.b(), &ended).await["status"], 30401);

    p.redis().restart();
    p.until_store("up").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while p.enos_info(&p.a(), &ended).await["status"] != 30401 {
        assert!(
            Instant::now() < deadline,
            "the queued revocation never reached A"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(p.enos_info(&p.a(), &kept).await["status"], 0);
    assert_eq!(sample(&p.h.metrics().await, "idbridge_store_up"), Some(1.0));
    // And sharing works as before: a logout on A reaches B.
    assert!(p.propagation(&p.a(), &p.b(), &kept).await < Duration::from_millis(100));
}

#[tokio::test]
async fn a_replica_started_while_redis_is_down_serves_then_shares_when_it_comes() {
    let Some(mut p) = pair().await else { return };
    p.redis().kill();
    p.h = p.h.restart().await;
    p.until_store("degraded").await;
    let id = p.h.enos_login().await;
    assert_eq!(p.enos_info(&p.a(), &id).await["status"], 0);
    p.redis().restart();
    p.until_store("up").await;
    // Sharing works without a restart: a logout on B reaches A.
    assert!(p.propagation(&p.b(), &p.a(), &id).await < Duration::from_millis(100));
}

#[tokio::test]
async fn a_replica_that_may_have_missed_revocations_catches_up_when_it_reconnects() {
    let Some(mut p) = pair().await else { return };
    let id = p.h.enos_login().await;
    assert_eq!(p.enos_info(&p.a(), &id).await["status"], 0);
    // A revocation whose message A never got: only the marker in Redis.
    let marker = format!("idbridge:{{{}}}:r", idbridge_gateway::store::handle(&id));
    assert_eq!(p.redis().cli(&["SET", &marker, "1", "PX", "60000"]), "OK");
    assert_eq!(
        p.enos_info(&p.a(), &id).await["status"],
        0,
        "memory answers"
    );
    // The pub/sub connections drop; on reconnecting, A checks its memory against the markers.
    p.redis().cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.enos_info(&p.a(), &id).await["status"] != 30401 {
        assert!(Instant::now() < deadline, "A never caught up");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn replicas_share_over_tls_and_never_without_a_verified_certificate() {
    if !redis::available() {
        return;
    }
    let pki = common::pki();
    let redis = Redis::start_tls(pki.path());
    let ca = pki.path().join("ca.pem").display().to_string();
    let p = pair_on(redis.url(), Some(redis), |b| b.set("store.ca_file", ca)).await;
    p.shared_login().await;

    // Without the CA, the server's certificate is not trusted: degraded, never in the clear.
    let mut config = p.h.config.clone();
    config.store.ca_file = None;
    let untrusting = RunningGateway::start_with(config, p.h.kinds.clone())
        .await
        .unwrap();
    assert_eq!(untrusting.runtime().store.state(), "degraded");
}

#[tokio::test]
async fn replicas_find_their_redis_through_sentinel() {
    if !redis::available() {
        return;
    }
    let master = Redis::start();
    let sentinel = redis::Sentinel::start(&master);
    let p = pair_on(sentinel.url(), Some(master), |b| b).await;
    p.shared_login().await;
    let keys = p
        .redis
        .as_ref()
        .map(|m| m.cli(&["--scan"]))
        .unwrap_or_default();
    assert!(
        keys.contains("idbridge:{"),
        "the copy is on the master: {keys}"
    );
}

#[tokio::test]
async fn replicas_share_through_a_redis_cluster() {
    if !redis::available() {
        return;
    }
    let cluster = redis::Cluster::start();
    let p = pair_on(cluster.url(), None, |b| b).await;
    // Sessions (one MGET and one script per session, its keys in one slot), Net iD counters,
    // and revocation by pub/sub, across the cluster's slots.
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(p.shared_login().await);
    }
    let netid = p.h.netid_login_at(&p.a()).await;
    for count in 1..=4u64 {
        let base = if count % 2 == 0 { p.a() } else { p.b() };
        let body = json!({"SessionId": netid, "Count": count.to_string()});
        let (_, v) =
            p.h.post_json(&base, "/api/login/status/get", None, body)
                .await;
        assert_eq!(v["IsLoggedIn"], "True", "{v}");
    }
    for id in &ids {
        assert!(p.propagation(&p.a(), &p.b(), id).await < Duration::from_millis(100));
    }
    // Each session's keys share a slot; different sessions spread over the nodes.
    let per_node = cluster.keys();
    let holding = per_node
        .iter()
        .filter(|keys| keys.contains("idbridge:{"))
        .count();
    assert!(holding >= 2, "{per_node:?}");
}

#[tokio::test]
async fn without_a_redis_url_the_store_is_local() {
    let h = common::start().await;
    assert_eq!(h.gw.runtime().store.state(), "local");
    assert_eq!(sample(&h.metrics().await, "idbridge_store_up"), Some(1.0));
}
