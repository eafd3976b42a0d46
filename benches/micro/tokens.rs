//! Gateway tokens: minting one (every login) and verifying one (every request that presents a
//! token instead of a session id), for each algorithm the gateway offers; and resolving a token
//! verified before, which the gateway remembers (the common case for a hot token).
//!
//! Run: `cargo bench -p idbridge-benches --bench tokens`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use idbridge_benches::enos_session;
use idbridge_gateway::config::{TokenAlgorithm, TokensConfig};
use idbridge_gateway::tokens::Tokens;
use idbridge_session::{Session, UnixTime};

/// The vendor sample's session, made live now: `verify` checks `exp` against the real clock.
fn session(now: UnixTime) -> Session {
    let mut session = enos_session("IAM_S_bench", now).unwrap();
    session.expires_at = now.saturating_add(Duration::from_secs(7200));
    session
}

fn config(algorithm: TokenAlgorithm) -> TokensConfig {
    TokensConfig {
        issuer: "idbridge".into(),
        audience: "idbridge".into(),
        ttl: Duration::from_secs(900),
        leeway: Duration::from_secs(30),
        algorithm,
        key_dir: None,
        signing_kid: None,
        hs256_secret: (algorithm == TokenAlgorithm::Hs256).then(|| "s".repeat(48)),
    }
}

fn mint_and_verify(c: &mut Criterion) {
    let now = UnixTime::from_system(SystemTime::now());
    let session = session(now);
    let mut g = c.benchmark_group("tokens");
    for (name, alg) in [
        ("EdDSA", TokenAlgorithm::EdDsa),
        ("ES256", TokenAlgorithm::Es256),
        ("HS256", TokenAlgorithm::Hs256),
    ] {
        let tokens = Tokens::new(&config(alg)).unwrap();
        g.bench_function(format!("mint/{name}"), |b| {
            b.iter(|| tokens.mint(black_box(&session), now).unwrap())
        });
        let (token, _) = tokens.mint(&session, now).unwrap();
        // Every check, as for a token seen for the first time.
        g.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| tokens.verify_uncached(black_box(&token)).unwrap())
        });
        // A token verified before: its digest, one lookup and the `exp` check.
        g.bench_function(format!("resolve-remembered/{name}"), |b| {
            b.iter(|| tokens.resolve(black_box(&token)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, mint_and_verify);
criterion_main!(benches);
