use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use idbridge_session::{Backend, Session, SessionId, UnixTime};
use tokio::sync::oneshot;

use super::{Lookup, SessionCache};
use crate::error::{GatewayError, Rejection, UpstreamError};

const NOW: UnixTime = UnixTime(1_700_000_000);

fn session(id: &str, ttl: u64) -> Session {
    Session::new(
        Backend::ENOS,
        SessionId::new(id),
        NOW,
        Duration::from_secs(ttl),
    )
}

#[tokio::test]
async fn hit_after_insert_makes_no_fetch() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    cache.insert(session("a", 600), NOW).await.unwrap();
    let (s, how) = cache
        .get_or_fetch("a", NOW, || async { panic!("fetched on a hit") })
        .await
        .unwrap();
    assert_eq!(s.id.expose(), "a");
    assert_eq!(how, Lookup::Hit);
}

#[tokio::test]
async fn concurrent_misses_make_one_fetch() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let (release, gate) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (cache, calls, mut gate) = (cache.clone(), calls.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_fetch("k", NOW, || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    gate.wait_for(|open| *open).await.ok();
                    Ok(session("k", 600))
                })
                .await
        }));
    }
    tokio::task::yield_now().await;
    release.send(true).unwrap();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().unwrap().1);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(results.iter().filter(|r| **r == Lookup::Miss).count(), 1);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Lookup::Miss | Lookup::Coalesced | Lookup::Hit))
    );
}

#[tokio::test]
async fn errors_are_not_cached() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    let err = cache
        .get_or_fetch("k", NOW, || async {
            Err(GatewayError::Upstream(UpstreamError::Unreachable))
        })
        .await
        .unwrap_err();
    assert_eq!(*err, GatewayError::Upstream(UpstreamError::Unreachable));
    let (_, how) = cache
        .get_or_fetch("k", NOW, || async { Ok(session("k", 600)) })
        .await
        .unwrap();
    assert_eq!(how, Lookup::Miss, "the failure left nothing behind");
}

#[tokio::test]
async fn stale_entries_refresh_and_survive_a_down_backend() {
    let cache = SessionCache::new(100, Duration::ZERO); // every entry is stale at once
    cache.insert(session("k", 600), NOW).await.unwrap();

    let (s, how) = cache
        .get_or_fetch("k", NOW, || async {
            Err(GatewayError::Upstream(UpstreamError::Timeout))
        })
        .await
        .unwrap();
    assert_eq!(how, Lookup::Stale);
    assert_eq!(s.id.expose(), "k");

    let mut fresh = session("k", 600);
    fresh.subject.name = "refreshed".into();
    let (s, how) = cache
        .get_or_fetch("k", NOW, || async { Ok(fresh) })
        .await
        .unwrap();
    assert_eq!(how, Lookup::Miss);
    assert_eq!(s.subject.name, "refreshed");
}

#[tokio::test]
async fn a_rejected_refresh_drops_the_entry() {
    let cache = SessionCache::new(100, Duration::ZERO);
    cache.insert(session("k", 600), NOW).await.unwrap();
    let err = cache
        .get_or_fetch("k", NOW, || async {
            Err(GatewayError::NotLoggedIn(Rejection::NotFound))
        })
        .await
        .unwrap_err();
    assert_eq!(*err, GatewayError::NotLoggedIn(Rejection::NotFound));
    assert!(cache.peek("k", NOW).await.is_none());
}

#[tokio::test]
async fn expired_sessions_are_neither_stored_nor_served() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    assert!(cache.insert(session("dead", 0), NOW).await.is_none());
    cache.insert(session("k", 10), NOW).await.unwrap();
    let later = UnixTime(NOW.0 + 10);
    assert!(cache.peek("k", later).await.is_none());
    let (_, how) = cache
        .get_or_fetch("k", later, || async { Ok(session("k", 600)) })
        .await
        .unwrap();
    assert_eq!(how, Lookup::Miss);
}

#[tokio::test]
async fn logout_beats_a_fetch_already_in_flight() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    let (release, gate) = oneshot::channel::<()>();
    let (started_tx, started) = oneshot::channel::<()>();
    let fetching = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_fetch("k", NOW, || async move {
                    started_tx.send(()).ok();
                    gate.await.ok();
                    Ok(session("k", 600))
                })
                .await
        })
    };
    started.await.unwrap();
    cache.remove("k").await;
    release.send(()).unwrap();
    let err = fetching.await.unwrap().unwrap_err();
    assert_eq!(*err, GatewayError::NotLoggedIn(Rejection::LoggedOut));
    assert!(cache.peek("k", NOW).await.is_none());
    assert!(
        cache.insert(session("k", 600), NOW).await.is_none(),
        "no resurrection by insert either"
    );
}

#[tokio::test]
async fn subjects_are_indexed_and_live_counts_follow_removals() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    let mut a = session("a", 600);
    a.subject.id = "u1".into();
    let mut b = session("b", 600);
    b.subject.id = "u1".into();
    let mut c = session("c", 600);
    c.subject.id = "u2".into();
    c.backend = Backend::NETID;
    for s in [a, b, c] {
        cache.insert(s, NOW).await.unwrap();
    }
    // Storing "a" again replaces it: still one entry, still indexed once.
    let mut a2 = session("a", 900);
    a2.subject.id = "u1".into();
    cache.insert(a2, NOW).await.unwrap();
    cache.sync().await;
    let mut of_u1: Vec<_> = cache
        .sessions_of("u1", NOW)
        .iter()
        .map(|s| s.id.expose().to_owned())
        .collect();
    of_u1.sort();
    assert_eq!(of_u1, ["a", "b"]);
    assert_eq!(cache.live(), vec![(Backend::ENOS, 2), (Backend::NETID, 1)]);

    cache.remove("a").await;
    cache.sync().await;
    assert_eq!(cache.sessions_of("u1", NOW).len(), 1);
    assert_eq!(cache.live(), vec![(Backend::ENOS, 1), (Backend::NETID, 1)]);
    assert!(cache.sessions_of("nobody", NOW).is_empty());
}

#[tokio::test]
async fn one_subject_with_many_sessions_stays_cheap() {
    let cache = SessionCache::new(100_000, Duration::from_secs(60));
    for i in 0..20_000 {
        let mut s = session(&format!("k{i}"), 600);
        s.subject.id = "service-account".into();
        cache.insert(s, NOW).await.unwrap();
    }
    cache.sync().await;
    assert_eq!(cache.sessions_of("service-account", NOW).len(), 20_000);
}

#[tokio::test]
async fn past_max_stale_a_down_backend_means_unconfirmed_until_it_answers() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    cache.set_max_stale(Duration::ZERO);
    cache.insert(session("k", 600), NOW).await.unwrap();
    let err = cache
        .get_or_fetch("k", NOW, || async {
            Err(GatewayError::Upstream(UpstreamError::Unreachable))
        })
        .await
        .unwrap_err();
    assert_eq!(*err, GatewayError::Unconfirmed);
    // Backing off: refused again without asking.
    let err = cache
        .get_or_fetch("k", NOW, || async {
            panic!("asked again while backing off")
        })
        .await
        .unwrap_err();
    assert_eq!(*err, GatewayError::Unconfirmed);

    // A session the backend just confirmed is served, max_stale or not.
    cache.set_max_stale(Duration::from_secs(300));
    let (_, how) = cache
        .get_or_fetch("k", NOW, || async { Ok(session("k", 600)) })
        .await
        .unwrap();
    assert_ne!(how, Lookup::Stale);
}

#[tokio::test]
async fn a_logout_stays_refused_until_the_session_would_have_expired() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    let now = UnixTime::from_system(std::time::SystemTime::now());
    let long = Session::new(
        Backend::ENOS,
        SessionId::new("long"),
        now,
        Duration::from_secs(7200),
    );
    cache.insert(long, now).await.unwrap();
    cache.remove("long").await.unwrap();
    let lives = cache.tombstones.get("long").await.unwrap();
    assert!(
        lives > Duration::from_secs(7100) && lives <= Duration::from_secs(7200),
        "{lives:?}"
    );
    // An id the cache never held: long enough to outlive any fetch in flight.
    assert!(cache.remove("unknown").await.is_none());
    assert_eq!(
        cache.tombstones.get("unknown").await,
        Some(super::TOMBSTONE_TTL)
    );
}
