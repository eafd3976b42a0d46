//! The sealed session reference a gateway token carries (claim `ref`).
//!
//! XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): an AEAD whose 192-bit nonce may be drawn
//! at random for every token without any risk of reuse. The key is derived with HKDF-SHA256 from
//! the signing key's secret, so whoever holds the key ring can open what it sealed and nobody else
//! can, and a rotated key ring opens the tokens of every key it still holds. The backend name and
//! the token's `jti` are bound in as associated data: a reference cannot be moved to another
//! token or made to name another backend.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use idbridge_session::Backend;
use sha2::Sha256;

const NONCE: usize = 24;
const SALT: &[u8] = b"idbridge gateway token";
const INFO: &[u8] = b"session reference v1: xchacha20poly1305";

/// Seals and opens session references under one key of the ring.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

// === impl Sealer ===

impl Sealer {
    /// The sealer of a signing key, from its secret bytes.
    pub fn derive(secret: &[u8]) -> Self {
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = Hkdf::<Sha256>::new(Some(SALT), secret).expand(INFO, &mut key);
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// `id` sealed for a token of `backend` with this `jti`, as base64url.
    pub fn seal(&self, backend: Backend, jti: &str, id: &str) -> Result<String, String> {
        let nonce: [u8; NONCE] = rand::random();
        let aad = associated(backend, jti);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: id.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| "sealing the session reference failed".to_owned())?;
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(B64URL.encode(out))
    }

    /// The id a reference seals, or `None` when it was not sealed by this key for this token.
    pub fn open(&self, backend: Backend, jti: &str, reference: &str) -> Option<String> {
        let raw = B64URL.decode(reference).ok()?;
        if raw.len() <= NONCE {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE);
        let aad = associated(backend, jti);
        let id = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(id).ok()
    }
}

fn associated(backend: Backend, jti: &str) -> Vec<u8> {
    [backend.as_str().as_bytes(), b"\0", jti.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_references_open_only_with_their_key_token_and_backend() {
        let sealer = Sealer::derive(b"a signing key's secret bytes....");
        let sealed = sealer.seal(Backend::ENOS, "jti-1", "IAM_S_secret").unwrap();
        assert!(!sealed.contains("IAM_S"));
        assert_ne!(
            sealed,
            sealer.seal(Backend::ENOS, "jti-1", "IAM_S_secret").unwrap(),
            "a fresh nonce every time"
        );
        assert_eq!(
            sealer.open(Backend::ENOS, "jti-1", &sealed).as_deref(),
            Some("IAM_S_secret")
        );
        assert_eq!(sealer.open(Backend::ENOS, "jti-2", &sealed), None);
        assert_eq!(sealer.open(Backend::NETID, "jti-1", &sealed), None);
        let other = Sealer::derive(b"another key's secret bytes......");
        assert_eq!(other.open(Backend::ENOS, "jti-1", &sealed), None);
        assert_eq!(sealer.open(Backend::ENOS, "jti-1", "short"), None);
        assert_eq!(sealer.open(Backend::ENOS, "jti-1", "!!not base64!!"), None);
    }
}
