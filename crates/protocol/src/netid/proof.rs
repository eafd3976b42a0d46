//! The two-step Net iD login's cryptography: how step 1's server nonce reaches only the holder of
//! the certificate's private key, and how step 2 proves that the client read it.
//!
//! Documented (the vendor's "API authentication operations" page): step 1 takes the client
//! certificate, creates a 20-byte session id and a 32-byte server nonce, and answers with the
//! nonce *encrypted with the client certificate* (`Value`) and the server certificate. Step 2
//! "handles the common derivation key". The vendor publishes neither the cipher nor step 2's
//! inputs, so these are this project's assumptions, stated once here:
//!
//! - `Value` (step 1 out) is RSA-OAEP with SHA-256 (and MGF1-SHA-256, empty label) of the 32-byte
//!   nonce to the RSA key in the client certificate, base64.
//! - Step 2 is a second `Login` call whose inputs are `SessionId` and `Value` =
//!   base64(HMAC-SHA-256(key = nonce, message = the `SessionId` text)). Only the key holder can
//!   compute it, and the nonce itself never crosses the wire in the clear, so it can go on to
//!   derive the per-session key.
//!
//! Whoever has only the (public) certificate cannot answer: step 1 alone never logs anyone in.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// Length of the server nonce (documented).
pub const NONCE_LEN: usize = 32;

/// Why a challenge could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the certificate's key is not an RSA public key")]
    NotRsa,
    #[error("the private key is not an RSA key in PKCS#8 PEM")]
    BadPrivateKey,
    #[error("the challenge is not base64")]
    NotBase64,
    #[error("the challenge does not open with this key")]
    WrongKey,
    #[error("the encryption failed")]
    Encrypt,
}

/// The 32-byte server nonce. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Nonce(pub [u8; NONCE_LEN]);

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonce(<redacted>)")
    }
}

/// Server side of step 1: `nonce` encrypted to the key of a certificate whose
/// SubjectPublicKeyInfo is `spki_der`, as the base64 `Value` output.
pub fn seal(spki_der: &[u8], nonce: &Nonce) -> Result<String, ProofError> {
    let key = RsaPublicKey::from_public_key_der(spki_der).map_err(|_| ProofError::NotRsa)?;
    let sealed = key
        .encrypt(&mut rsa::rand_core::OsRng, Oaep::new::<Sha256>(), &nonce.0)
        .map_err(|_| ProofError::Encrypt)?;
    Ok(STANDARD.encode(sealed))
}

/// A client's private key, read from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
pub struct ClientKey(RsaPrivateKey);

impl ClientKey {
    pub fn from_pem(pem: &str) -> Result<Self, ProofError> {
        RsaPrivateKey::from_pkcs8_pem(pem.trim())
            .map(Self)
            .map_err(|_| ProofError::BadPrivateKey)
    }

    /// Client side: the server nonce inside step 1's `Value`.
    pub fn open(&self, value: &str) -> Result<Nonce, ProofError> {
        let sealed = STANDARD
            .decode(value.trim())
            .map_err(|_| ProofError::NotBase64)?;
        let plain = self
            .0
            .decrypt(Oaep::new::<Sha256>(), &sealed)
            .map_err(|_| ProofError::WrongKey)?;
        <[u8; NONCE_LEN]>::try_from(plain.as_slice())
            .map(Nonce)
            .map_err(|_| ProofError::WrongKey)
    }

    /// Client side, both halves: step 2's `Value` for step 1's `SessionId` and `Value`.
    pub fn answer(&self, session_id: &str, value: &str) -> Result<String, ProofError> {
        Ok(answer(&self.open(value)?, session_id))
    }
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientKey(<redacted>)")
    }
}

/// Step 2's `Value`: base64(HMAC-SHA-256(nonce, session id)).
pub fn answer(nonce: &Nonce, session_id: &str) -> String {
    STANDARD.encode(mac(nonce, session_id).finalize().into_bytes())
}

/// Server side of step 2: whether `value` answers `nonce` for `session_id`, compared in
/// constant time.
pub fn verify(nonce: &Nonce, session_id: &str, value: &str) -> bool {
    STANDARD
        .decode(value.trim())
        .is_ok_and(|tag| mac(nonce, session_id).verify_slice(&tag).is_ok())
}

fn mac(nonce: &Nonce, session_id: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; 32 bytes cannot fail.
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&nonce.0)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(session_id.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};

    fn keypair() -> (String, Vec<u8>) {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let spki = key.to_public_key().to_public_key_der().unwrap().into_vec();
        (pem, spki)
    }

    #[test]
    fn only_the_key_holder_answers() {
        let (pem, spki) = keypair();
        let (other_pem, _) = keypair();
        let nonce = Nonce([7; NONCE_LEN]);
        let value = seal(&spki, &nonce).unwrap();
        let key = ClientKey::from_pem(&pem).unwrap();
        assert_eq!(key.open(&value).unwrap(), nonce);
        let a = key.answer("c2Vzc2lvbg==", &value).unwrap();
        assert!(verify(&nonce, "c2Vzc2lvbg==", &a));
        assert!(!verify(&nonce, "b3RoZXI=", &a), "bound to its session");
        assert!(!verify(&Nonce([8; NONCE_LEN]), "c2Vzc2lvbg==", &a));
        assert!(!verify(&nonce, "c2Vzc2lvbg==", "not base64!"));
        let other = ClientKey::from_pem(&other_pem).unwrap();
        assert_eq!(other.open(&value), Err(ProofError::WrongKey));
        assert_eq!(key.open("%%%"), Err(ProofError::NotBase64));
    }

    #[test]
    fn bad_keys_are_refused_and_never_shown() {
        assert_eq!(seal(b"not der", &Nonce([0; 32])), Err(ProofError::NotRsa));
        assert!(matches!(
            ClientKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
            Err(ProofError::BadPrivateKey)
        ));
        let (pem, _) = keypair();
        let key = ClientKey::from_pem(&pem).unwrap();
        assert_eq!(format!("{key:?}"), "ClientKey(<redacted>)");
        assert_eq!(format!("{:?}", Nonce([1; 32])), "Nonce(<redacted>)");
    }
}
