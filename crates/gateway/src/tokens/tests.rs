use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use idbridge_session::{Backend, Session, SessionId, UnixTime};
use jsonwebtoken::{EncodingKey, Header};

use super::*;
use crate::config::{TokenAlgorithm, TokensConfig};

fn config(algorithm: TokenAlgorithm) -> TokensConfig {
    TokensConfig {
        issuer: "idbridge".into(),
        audience: "apps".into(),
        ttl: Duration::from_secs(900),
        leeway: Duration::from_secs(30),
        algorithm,
        key_dir: None,
        signing_kid: None,
        hs256_secret: (algorithm == TokenAlgorithm::Hs256).then(|| "x".repeat(40)),
    }
}

fn now() -> UnixTime {
    UnixTime::from_system(SystemTime::now())
}

fn session(at: UnixTime) -> Session {
    let mut s = Session::new(
        Backend::ENOS,
        SessionId::new("IAM_S_abc"),
        at,
        Duration::from_secs(7200),
    );
    s.subject.id = "u1".into();
    s.subject.name = "portal_test01".into();
    s
}

#[test]
fn round_trip_for_every_algorithm() {
    for alg in [
        TokenAlgorithm::EdDsa,
        TokenAlgorithm::Es256,
        TokenAlgorithm::Hs256,
    ] {
        let tokens = Tokens::new(&config(alg)).unwrap();
        let (token, expires_in) = tokens.mint(&session(now()), now()).unwrap();
        assert_eq!(expires_in, 900);
        let claims = tokens.verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.name.as_str()),
            ("u1", "portal_test01")
        );
        assert_eq!(claims.backend, Backend::ENOS);
        let resolved = tokens.resolve(&token).unwrap();
        assert_eq!(
            (resolved.backend, resolved.id.as_str()),
            (Backend::ENOS, "IAM_S_abc")
        );
        let readable: String = token
            .split('.')
            .take(2)
            .map(|p| String::from_utf8_lossy(&B64URL.decode(p).unwrap()).into_owned())
            .collect();
        assert!(
            !token.contains("IAM_S_abc") && !readable.contains("IAM_S_abc"),
            "the backend session id is never readable in a token"
        );
        let published = tokens.jwks()["keys"].as_array().unwrap().len();
        assert_eq!(
            published,
            usize::from(alg != TokenAlgorithm::Hs256),
            "{alg:?}"
        );
    }
}

#[test]
fn a_token_never_outlives_its_session() {
    let tokens = Tokens::new(&config(TokenAlgorithm::EdDsa)).unwrap();
    let mut s = session(now());
    s.expires_at = UnixTime(now().0 + 60);
    let (token, expires_in) = tokens.mint(&s, now()).unwrap();
    assert_eq!(expires_in, 60);
    assert_eq!(tokens.verify(&token).unwrap().exp, s.expires_at.0);
}

#[test]
fn tampered_expired_and_foreign_tokens_are_refused() {
    let tokens = Tokens::new(&config(TokenAlgorithm::EdDsa)).unwrap();
    let (token, _) = tokens.mint(&session(now()), now()).unwrap();

    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = "admin".into();
    parts[1] = B64URL.encode(claims.to_string());
    assert_eq!(
        tokens.verify(&parts.join(".")),
        Err(TokenRejection::Invalid),
        "tampered"
    );

    let long_ago = UnixTime(now().0 - 7200);
    let (old, _) = tokens.mint(&session(long_ago), long_ago).unwrap();
    assert_eq!(tokens.verify(&old), Err(TokenRejection::Expired));

    let mut other = config(TokenAlgorithm::EdDsa);
    other.issuer = "someone-else".into();
    let stranger = Tokens::new(&other).unwrap();
    let (theirs, _) = stranger.mint(&session(now()), now()).unwrap();
    assert_eq!(
        tokens.verify(&theirs),
        Err(TokenRejection::Invalid),
        "unknown kid and issuer"
    );

    // Same keys, other issuer or audience: only the claim differs.
    for (iss, aud) in [("someone-else", "apps"), ("idbridge", "other-app")] {
        let mut c = config(TokenAlgorithm::Hs256);
        let reference = Tokens::new(&c).unwrap();
        c.issuer = iss.into();
        c.audience = aud.into();
        let forger = Tokens::new(&c).unwrap();
        let (forged, _) = forger.mint(&session(now()), now()).unwrap();
        assert_eq!(
            reference.verify(&forged),
            Err(TokenRejection::Invalid),
            "iss {iss}, aud {aud}"
        );
    }
}

#[test]
fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let tokens = Tokens::new(&config(TokenAlgorithm::EdDsa)).unwrap();
    let (token, _) = tokens.mint(&session(now()), now()).unwrap();
    let kid = tokens.jwks()["keys"][0]["kid"].as_str().unwrap().to_owned();
    let payload = token.split('.').nth(1).unwrap().to_owned();

    let none_header = B64URL.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#));
    assert_eq!(
        tokens.verify(&format!("{none_header}.{payload}.")),
        Err(TokenRejection::Invalid)
    );

    // The classic confusion attack: HMAC keyed with the published public key.
    let claims = tokens.verify(&token).unwrap();
    let public_x = B64URL
        .decode(tokens.jwks()["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let jwks_text = tokens.jwks().to_string();
    for secret in [public_x.as_slice(), jwks_text.as_bytes()] {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        let forged =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(tokens.verify(&forged), Err(TokenRejection::Invalid));
    }
}

#[test]
fn a_key_ring_from_pem_files_rotates() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["2026-01", "2026-02"] {
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random());
        let pem = key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        std::fs::write(dir.path().join(format!("{name}.pem")), pem.as_bytes()).unwrap();
    }
    std::fs::write(dir.path().join("README.txt"), "not a key").unwrap();
    let mut c = config(TokenAlgorithm::EdDsa);
    c.key_dir = Some(dir.path().into());
    c.signing_kid = Some("2026-01".into());
    let old = Tokens::new(&c).unwrap();
    let (old_token, _) = old.mint(&session(now()), now()).unwrap();

    c.signing_kid = None; // the last by name signs: 2026-02
    let rotated = Tokens::new(&c).unwrap();
    let (new_token, _) = rotated.mint(&session(now()), now()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref(),
        Some("2026-02")
    );
    assert!(
        rotated.verify(&old_token).is_ok(),
        "tokens of the previous key still verify"
    );
    assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);

    std::fs::write(
        dir.path().join("2026-03.pem"),
        "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    assert!(
        Tokens::new(&c).is_err(),
        "a broken key file is an error, not a silent skip"
    );
}

#[test]
fn jwt_shape() {
    assert!(looks_like_jwt("aaa.bbb.ccc"));
    assert!(!looks_like_jwt("IAM_S_abcdef"));
    assert!(!looks_like_jwt("q83vEjRWeJq83vEjRWeJq83vEjQ="));
}

#[test]
fn tokens_resolve_in_any_process_with_the_same_key_ring() {
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();
    std::fs::write(dir.path().join("k1.pem"), pem.as_bytes()).unwrap();
    let mut c = config(TokenAlgorithm::EdDsa);
    c.key_dir = Some(dir.path().into());
    let (token, _) = Tokens::new(&c)
        .unwrap()
        .mint(&session(now()), now())
        .unwrap();
    // Another process (a restart, a replica): the same files, no shared memory.
    let other = Tokens::new(&c).unwrap();
    assert_eq!(other.resolve(&token).unwrap().id, "IAM_S_abc");
    // A stranger with its own key cannot, even when it picks the same kid.
    let dir2 = tempfile::tempdir().unwrap();
    let key2 = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let pem2 = key2
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();
    std::fs::write(dir2.path().join("k1.pem"), pem2.as_bytes()).unwrap();
    c.key_dir = Some(dir2.path().into());
    assert_eq!(
        Tokens::new(&c).unwrap().resolve(&token),
        Err(TokenRejection::Invalid)
    );
}

#[test]
fn a_verified_token_is_checked_once_and_forgeries_are_not_remembered() {
    let tokens = Tokens::new(&config(TokenAlgorithm::EdDsa)).unwrap();
    let (token, _) = tokens.mint(&session(now()), now()).unwrap();
    let first = tokens.resolve(&token).unwrap();
    for _ in 0..3 {
        assert_eq!(tokens.resolve(&token).unwrap(), first);
        assert_eq!(tokens.verify(&token), tokens.verify_uncached(&token));
    }
    tokens.verified.run_pending_tasks();
    assert_eq!(tokens.verified_count(), 1);

    // A token differing by one signature character is another digest, verified on its own
    // (and refused).
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() - 10;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    assert_eq!(tokens.resolve(&forged), Err(TokenRejection::Invalid));
    tokens.verified.run_pending_tasks();
    assert_eq!(
        tokens.verified_count(),
        1,
        "refused tokens are not remembered"
    );
}

#[test]
fn a_remembered_token_expires_as_jsonwebtoken_would_expire_it() {
    let leeway = Duration::from_secs(30);
    let exp = 1_000;
    assert!(!expired(exp, UnixTime(1_000), leeway));
    assert!(!expired(exp, UnixTime(1_030), leeway));
    assert!(expired(exp, UnixTime(1_031), leeway));
    assert!(!expired(i64::MAX, UnixTime(i64::MAX), leeway));
}
