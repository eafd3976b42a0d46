//! Gateway token (JWT) verification: `Tokens::verify` and `Tokens::resolve` (header, `kid`,
//! algorithm pin, signature, claims, the sealed session reference) and `tokens::looks_like_jwt`,
//! against two key rings built once with fixed test keys: EdDSA (the default) and HS256.
//!
//! The first input byte chooses what the rest is (see `Mode`): a token string as presented; a
//! header and claims (JSON, split at the first NUL byte) made into a token signed with a ring's
//! key, or left unsigned; or the fields of a session to mint a token for.
//!
//! Invariants: an accepted token carries the ring's issuer and audience and is within its
//! validity (leeway included); an unsigned token is never accepted; a minted token verifies, with
//! the claims it was minted with, and resolves to the session it was minted for.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use idbridge_gateway::config::{TokenAlgorithm, TokensConfig};
use idbridge_gateway::tokens::{Claims, Tokens, looks_like_jwt};
use idbridge_session::{Backend, Session, SessionId, UnixTime};
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "idbridge";
const AUDIENCE: &str = "apps";
const LEEWAY: Duration = Duration::from_secs(30);
/// A test key made for fuzzing only (kid `fuzz`, the file stem it is loaded from).
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIOeMTGcypKlQ8pvt1X8vcfsExWcfhBDDlL9M1QheUKNK
-----END PRIVATE KEY-----
";
/// The HS256 ring's secret (kid `hs256`).
const HS256_SECRET: &str = "fuzzing-secret-fuzzing-secret-fuzzing-secret";

struct Rings {
    eddsa: Tokens,
    hs256: Tokens,
}

fn config(algorithm: TokenAlgorithm) -> TokensConfig {
    TokensConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        ttl: Duration::from_secs(900),
        leeway: LEEWAY,
        algorithm,
        key_dir: None,
        signing_kid: None,
        hs256_secret: None,
    }
}

fn rings() -> &'static Rings {
    static RINGS: OnceLock<Rings> = OnceLock::new();
    RINGS.get_or_init(|| {
        // Keys are read from PEM files only: the fixed key goes through a private directory.
        let dir = std::env::temp_dir().join(format!("idbridge-fuzz-jwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("key directory");
        std::fs::write(dir.join("fuzz.pem"), ED25519_PEM).expect("key file");
        let eddsa = Tokens::new(&TokensConfig {
            key_dir: Some(dir.clone()),
            ..config(TokenAlgorithm::EdDsa)
        });
        let _ = std::fs::remove_dir_all(&dir);
        let hs256 = Tokens::new(&TokensConfig {
            hs256_secret: Some(HS256_SECRET.into()),
            ..config(TokenAlgorithm::Hs256)
        });
        Rings {
            eddsa: eddsa.expect("EdDSA ring"),
            hs256: hs256.expect("HS256 ring"),
        }
    })
}

fn now() -> i64 {
    UnixTime::from_system(SystemTime::now()).as_secs()
}

/// Verifies with both rings and checks what an accepted token must carry.
fn verify(token: &str) -> Option<Claims> {
    let _ = looks_like_jwt(token);
    let rings = rings();
    let mut accepted = None;
    for ring in [&rings.eddsa, &rings.hs256] {
        let before = now();
        let claims = ring.verify(token);
        let resolved = ring.resolve(token);
        let after = now();
        if let Ok(claims) = claims {
            assert_eq!(
                (claims.iss.as_str(), claims.aud.as_str()),
                (ISSUER, AUDIENCE)
            );
            let leeway = LEEWAY.as_secs() as i64;
            assert!(claims.exp >= before - leeway, "accepted after exp");
            assert!(claims.nbf <= after + leeway, "accepted before nbf");
            if let Ok(resolved) = resolved {
                assert_eq!(resolved.backend, claims.backend);
            }
            accepted = Some(claims);
        } else {
            assert!(resolved.is_err(), "resolved a token that does not verify");
        }
    }
    accepted
}

fn signed(header: &[u8], claims: &[u8], signer: Option<(&EncodingKey, Algorithm)>) -> String {
    let message = format!("{}.{}", B64URL.encode(header), B64URL.encode(claims));
    let signature = match signer {
        Some((key, alg)) => jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign"),
        None => String::new(),
    };
    format!("{message}.{signature}")
}

fn mint(fields: &[u8]) {
    let mut parts = fields.split(|&b| b == 0).map(String::from_utf8_lossy);
    let (id, sub, name) = (parts.next(), parts.next(), parts.next());
    let backend = if fields.len() % 2 == 0 {
        Backend::ENOS
    } else {
        Backend::NETID
    };
    let now = UnixTime::from_system(SystemTime::now());
    let id = id.unwrap_or_default();
    let mut session = Session::new(
        backend,
        SessionId::new(&*id),
        now,
        Duration::from_secs(7200),
    );
    session.subject.id = sub.unwrap_or_default().into_owned();
    session.subject.name = name.unwrap_or_default().into_owned();
    let rings = rings();
    for ring in [&rings.eddsa, &rings.hs256] {
        let (token, _) = ring.mint(&session, now).expect("mint");
        let claims = ring.verify(&token).expect("a minted token verifies");
        assert_eq!(
            (claims.sub.as_str(), claims.name.as_str(), claims.backend),
            (&*session.subject.id, &*session.subject.name, backend)
        );
        let resolved = ring.resolve(&token).expect("a minted token resolves");
        assert_eq!((resolved.backend, resolved.id.as_str()), (backend, &*id));
        assert!(verify(&token).is_some());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (header, claims) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    match mode % 5 {
        // A token string as a client presents it.
        0 => {
            verify(&String::from_utf8_lossy(rest));
        }
        // Header and claims signed by the HS256 ring's secret, or the EdDSA ring's key.
        1 => {
            let key = EncodingKey::from_secret(HS256_SECRET.as_bytes());
            verify(&signed(header, claims, Some((&key, Algorithm::HS256))));
        }
        2 => {
            let key = EncodingKey::from_ed_pem(ED25519_PEM.as_bytes()).expect("test key");
            verify(&signed(header, claims, Some((&key, Algorithm::EdDSA))));
        }
        // Unsigned (whatever `alg` says): never accepted.
        3 => {
            let token = signed(header, claims, None);
            assert!(verify(&token).is_none(), "an unsigned token was accepted");
        }
        _ => mint(rest),
    }
});
