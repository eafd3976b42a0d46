//! Gateway tokens: JWTs minted for sessions the gateway has seen, and the JWKS that verifies them.
//!
//! - Asymmetric by default (EdDSA, or ES256); HS256 only when configured, and then no key is
//!   published (a symmetric key must never be).
//! - Keys come from PEM files in `tokens.key_dir` (every file verifies, one signs: rotation is
//!   adding a new file and making it the signer, then removing the old one after a token
//!   lifetime), or one key is generated at start-up for the demo.
//! - Verification pins the algorithm to the ring's (so `alg: none` and "HS256 signed with the
//!   public key" are refused), requires a known `kid`, and checks `iss`, `aud`, `exp`, `nbf`.
//! - A token carries its backend session id sealed (claim `ref`): encrypted and authenticated
//!   with XChaCha20-Poly1305 under a key derived (HKDF-SHA256) from the signing key, so its
//!   holder cannot read it, and any process holding the same key ring resolves it — after a
//!   restart too, on any replica, with no per-token table. A token for a session that was logged
//!   out is refused because the session is.
//! - A verified token is remembered by the SHA-256 digest of its text until it expires (at most
//!   [`VERIFIED_TOKENS`] of them), so a hot token's signature is checked and its reference opened
//!   once: what a hit skips is only that work. `exp` is checked on every use, and a logged-out
//!   session still refuses its tokens, since the session is looked up after.

mod seal;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use idbridge_session::{Backend, Session, UnixTime};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use seal::Sealer;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::config::{TokenAlgorithm, TokensConfig};

/// Verified tokens remembered at most: a few hundred bytes each, so tens of MiB at worst. Only
/// tokens that verified are remembered, so forged ones cannot crowd them out.
pub const VERIFIED_TOKENS: u64 = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("reading signing keys: {0}")]
    Keys(String),
    #[error("signing a token: {0}")]
    Sign(String),
}

/// Why a presented token is not accepted. The detail stays in the gateway's logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRejection {
    Invalid,
    Expired,
}

/// The session a verified token names.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    pub backend: Backend,
    /// The backend session id: a secret.
    pub id: String,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("backend", &self.backend)
            .field("id", &format_args!("<redacted:{}>", self.id.len()))
            .finish()
    }
}

/// The claims of a gateway token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The subject's id at its backend.
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub backend: Backend,
    pub name: String,
    pub org: Option<String>,
    /// The backend session id, sealed: readable only by a holder of the key ring.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// A token that verified: its claims, and the session its reference names.
#[derive(Debug)]
struct Verified {
    claims: Claims,
    resolved: Option<Resolved>,
}

struct RingKey {
    algorithm: Algorithm,
    decoding: DecodingKey,
    sealer: Sealer,
}

/// The signing key, the verifying keys by `kid`, and the JWKS to publish.
pub struct Tokens {
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: Duration,
    signing_kid: String,
    signing_alg: Algorithm,
    encoding: EncodingKey,
    sealer: Sealer,
    verifying: HashMap<String, RingKey>,
    jwks: Value,
    /// Verified tokens by the SHA-256 digest of their text.
    verified: moka::sync::Cache<[u8; 32], Arc<Verified>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field("signing_kid", &self.signing_kid)
            .field("keys", &self.verifying.len())
            .field("verified", &self.verified.entry_count())
            .finish()
    }
}

// === impl Tokens ===

impl Tokens {
    pub fn new(config: &TokensConfig) -> Result<Self, TokenError> {
        let keys = match (config.algorithm, &config.key_dir, &config.hs256_secret) {
            (TokenAlgorithm::Hs256, _, Some(secret)) => vec![hmac_key(secret)],
            (TokenAlgorithm::Hs256, _, None) => {
                return Err(TokenError::Keys("HS256 needs a secret".into()));
            }
            (alg, Some(dir), _) => load_dir(dir, alg)?,
            (alg, None, _) => vec![generate(alg)?],
        };
        let signer = match &config.signing_kid {
            Some(kid) => keys.iter().find(|k| &k.kid == kid),
            None => keys.last(),
        }
        .ok_or_else(|| TokenError::Keys("no signing key (check tokens.signing_kid)".into()))?;
        let (signing_kid, signing_alg, encoding, sealer) = (
            signer.kid.clone(),
            signer.algorithm,
            signer.encoding.clone(),
            signer.sealer.clone(),
        );
        let jwks = json!({ "keys": keys.iter().filter_map(|k| k.jwk.clone()).collect::<Vec<_>>() });
        let verifying = keys
            .into_iter()
            .map(|k| {
                (
                    k.kid,
                    RingKey {
                        algorithm: k.algorithm,
                        decoding: k.decoding,
                        sealer: k.sealer,
                    },
                )
            })
            .collect();
        Ok(Self {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: config.ttl,
            leeway: config.leeway,
            signing_kid,
            signing_alg,
            encoding,
            sealer,
            verifying,
            jwks,
            // No entry outlives its token: `exp` is at most `ttl` after minting.
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_TOKENS)
                .time_to_live(config.ttl.saturating_add(config.leeway))
                .build(),
        })
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// A token for `session`, expiring with it at the latest. Returns the token and its lifetime.
    pub fn mint(&self, session: &Session, now: UnixTime) -> Result<(String, u64), TokenError> {
        let exp = now.saturating_add(self.ttl).min(session.expires_at);
        let jti = format!("{:032x}", rand::random::<u128>());
        let reference = self
            .sealer
            .seal(session.backend, &jti, session.id.expose())
            .map_err(TokenError::Sign)?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: session.subject.id.clone(),
            iat: now.as_secs(),
            nbf: now.as_secs(),
            exp: exp.as_secs(),
            jti,
            backend: session.backend,
            name: session.subject.name.clone(),
            org: session.organization().map(|o| o.name.clone()),
            reference,
        };
        let mut header = Header::new(self.signing_alg);
        header.kid = Some(self.signing_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        Ok((token, now.until(exp).as_secs()))
    }

    /// Checks signature, algorithm, `kid`, `iss`, `aud`, `exp` and `nbf`; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenRejection> {
        self.verified(token).map(|v| v.claims.clone())
    }

    /// Verifies `token` and opens its sealed reference: the session it names.
    pub fn resolve(&self, token: &str) -> Result<Resolved, TokenRejection> {
        self.verified(token)?
            .resolved
            .clone()
            .ok_or(TokenRejection::Invalid)
    }

    /// [`Self::verify`] without the memory of verified tokens: every check, every time.
    pub fn verify_uncached(&self, token: &str) -> Result<Claims, TokenRejection> {
        self.verify_with_key(token).map(|(claims, _)| claims)
    }

    /// How many verified tokens are remembered now (approximate).
    pub fn verified_count(&self) -> u64 {
        self.verified.entry_count()
    }

    /// A remembered verification of `token`, while it has not expired, or a new one.
    fn verified(&self, token: &str) -> Result<Arc<Verified>, TokenRejection> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(v) = self.verified.get(&digest) {
            let now = UnixTime::from_system(SystemTime::now());
            if expired(v.claims.exp, now, self.leeway) {
                self.verified.invalidate(&digest);
                return Err(TokenRejection::Expired);
            }
            return Ok(v);
        }
        let (claims, key) = self.verify_with_key(token)?;
        let resolved = key
            .sealer
            .open(claims.backend, &claims.jti, &claims.reference)
            .map(|id| Resolved {
                backend: claims.backend,
                id,
            });
        let verified = Arc::new(Verified { claims, resolved });
        self.verified.insert(digest, verified.clone());
        Ok(verified)
    }

    fn verify_with_key(&self, token: &str) -> Result<(Claims, &RingKey), TokenRejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Invalid)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(TokenRejection::Invalid)?;
        if header.alg != key.algorithm {
            return Err(TokenRejection::Invalid);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]);
        match jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation) {
            Ok(data) => Ok((data.claims, key)),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(TokenRejection::Expired)
            }
            Err(_) => Err(TokenRejection::Invalid),
        }
    }
}

/// Whether a token with `exp` has expired at `now`, as jsonwebtoken decides it: once `exp` is
/// more than `leeway` ago.
fn expired(exp: i64, now: UnixTime, leeway: Duration) -> bool {
    let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
    now.as_secs() > exp.saturating_add(leeway)
}

/// Whether a presented credential is a JWT rather than a backend session id: three base64url
/// parts. Session ids of both backends contain no dot.
pub fn looks_like_jwt(value: &str) -> bool {
    value.split('.').count() == 3
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

struct LoadedKey {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    sealer: Sealer,
    jwk: Option<Value>,
}

fn hmac_key(secret: &str) -> LoadedKey {
    LoadedKey {
        kid: "hs256".into(),
        algorithm: Algorithm::HS256,
        encoding: EncodingKey::from_secret(secret.as_bytes()),
        decoding: DecodingKey::from_secret(secret.as_bytes()),
        sealer: Sealer::derive(secret.as_bytes()),
        jwk: None,
    }
}

/// Every `*.pem` in `dir`, sorted by name; each must be a PKCS#8 key of the configured algorithm.
fn load_dir(dir: &Path, alg: TokenAlgorithm) -> Result<Vec<LoadedKey>, TokenError> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| TokenError::Keys(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(TokenError::Keys(format!(
            "no *.pem key in {}",
            dir.display()
        )));
    }
    paths
        .iter()
        .map(|path| {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| TokenError::Keys(format!("{}: {e}", path.display())))?;
            let kid = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let parsed = match alg {
                TokenAlgorithm::EdDsa => ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
                    .map(|k| ed_key(kid, &k))
                    .ok(),
                _ => p256::SecretKey::from_pkcs8_pem(&pem)
                    .ok()
                    .map(|k| es_key(kid, &k)),
            };
            parsed.transpose()?.ok_or_else(|| {
                TokenError::Keys(format!(
                    "{}: not a PKCS#8 {alg:?} private key",
                    path.display()
                ))
            })
        })
        .collect()
}

fn generate(alg: TokenAlgorithm) -> Result<LoadedKey, TokenError> {
    let kid = format!("generated-{:08x}", rand::random::<u32>());
    match alg {
        TokenAlgorithm::EdDsa => {
            ed_key(kid, &ed25519_dalek::SigningKey::from_bytes(&rand::random()))
        }
        _ => loop {
            // A random 32-byte scalar is valid with overwhelming probability; retry otherwise.
            if let Ok(secret) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break es_key(kid, &secret);
            }
        },
    }
}

fn ed_key(kid: String, key: &ed25519_dalek::SigningKey) -> Result<LoadedKey, TokenError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| TokenError::Keys(e.to_string()))?;
    let public = key.verifying_key().to_bytes();
    let x = B64URL.encode(public);
    Ok(LoadedKey {
        jwk: Some(
            json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA" }),
        ),
        kid,
        algorithm: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(der.as_bytes()),
        decoding: DecodingKey::from_ed_der(&public),
        sealer: Sealer::derive(&key.to_bytes()),
    })
}

fn es_key(kid: String, key: &p256::SecretKey) -> Result<LoadedKey, TokenError> {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use p256::pkcs8::EncodePrivateKey as _;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| TokenError::Keys(e.to_string()))?;
    let point = key.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(TokenError::Keys(
            "P-256 public key has no coordinates".into(),
        ));
    };
    let (x, y) = (B64URL.encode(x), B64URL.encode(y));
    let decoding =
        DecodingKey::from_ec_components(&x, &y).map_err(|e| TokenError::Keys(e.to_string()))?;
    Ok(LoadedKey {
        jwk: Some(
            json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256" }),
        ),
        kid,
        algorithm: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        decoding,
        sealer: Sealer::derive(&key.to_bytes()),
    })
}

#[cfg(test)]
mod tests;
