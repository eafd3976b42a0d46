//! TLS on both sides, with rustls (the `ring` provider; no OpenSSL anywhere in the build).
//!
//! - The listener's certificate is a [`ListenerCert`]: rustls asks it for the certificate at every
//!   handshake, and a reload swaps in newly read files, so new handshakes get the new certificate
//!   while open connections carry on with theirs.
//! - Client certificates (mTLS at the edge) are verified against `server.tls.client_ca_file`.
//! - Upstream TLS ([`UpstreamTls`]) is what an endpoint needs to verify a backend or app: the name
//!   to check (SNI), the roots (the system's, or `ca_file`), and an optional client certificate.
//!   Verification is never skipped: there is no setting that would.
//!
//! Handshake failures on the listener are counted by reason in
//! `idbridge_tls_handshake_failures_total` ([`HandshakeFailures`]): Pingora reports them only in a
//! log line, so a tracing layer reads that line and classifies it.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};

use arc_swap::ArcSwap;
use pingora::protocols::tls::CaType;
use pingora::utils::tls::{CertKey, WrappedX509, parse_x509};
use prometheus::IntCounterVec;
use rustls::RootCertStore;
use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

use crate::config::{ClientAuth, ListenerTls, UpstreamTlsConfig};

/// Why a file of certificates or keys cannot be used. Messages name the file and the reason,
/// never the key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TlsFileError {
    pub path: String,
    pub reason: String,
}

fn file_error(path: &Path, reason: impl Into<String>) -> TlsFileError {
    TlsFileError {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Every certificate in a PEM file, in order (leaf first for a chain).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not PEM certificates ({e})")))?;
    if certs.is_empty() {
        return Err(file_error(path, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// The one private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsFileError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| file_error(path, "holds no PEM private key"))
}

/// A certificate chain with its key, checked to belong together.
pub fn certified_key(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsFileError> {
    let chain = load_certs(cert_file)?;
    let key = load_key(key_file)?;
    let mismatch = || {
        file_error(
            key_file,
            format!("does not match the certificate in {}", cert_file.display()),
        )
    };
    let ck = CertifiedKey::from_der(chain, key, &default_provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => mismatch(),
        e => file_error(key_file, format!("not a usable key ({e})")),
    })?;
    ck.keys_match().map_err(|_| mismatch())?;
    Ok(ck)
}

/// When a certificate stops being valid, in seconds since 1970.
pub fn not_after(cert: &CertificateDer<'_>) -> Option<i64> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(parsed.validity().not_after.timestamp())
}

pub(crate) fn roots(ca_file: &Path) -> Result<RootCertStore, TlsFileError> {
    let mut store = RootCertStore::empty();
    for cert in load_certs(ca_file)? {
        store
            .add(cert)
            .map_err(|e| file_error(ca_file, format!("not a usable CA certificate ({e})")))?;
    }
    Ok(store)
}

// === the listener ===

/// The listener's certificate, swapped whole on reload.
#[derive(Debug)]
pub struct ListenerCert {
    current: ArcSwap<CertifiedKey>,
    not_after: AtomicI64,
}

impl ListenerCert {
    pub fn load(tls: &ListenerTls) -> Result<Self, TlsFileError> {
        let ck = certified_key(&tls.cert_file, &tls.key_file)?;
        let expiry = ck.end_entity_cert().ok().and_then(not_after).unwrap_or(0);
        Ok(Self {
            current: ArcSwap::from_pointee(ck),
            not_after: AtomicI64::new(expiry),
        })
    }

    /// Reads the files again; new handshakes get the new certificate, open connections keep
    /// theirs. On any problem the current certificate stays.
    pub fn reload(&self, tls: &ListenerTls) -> Result<(), TlsFileError> {
        let next = Self::load(tls)?;
        self.not_after
            .store(next.not_after.load(Ordering::Relaxed), Ordering::Relaxed);
        self.current.store(next.current.load_full());
        Ok(())
    }

    /// When the certificate served now expires, in seconds since 1970.
    pub fn not_after(&self) -> i64 {
        self.not_after.load(Ordering::Relaxed)
    }
}

impl ResolvesServerCert for ListenerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The verifier of client certificates, when `client_ca_file` is set.
pub fn client_verifier(
    tls: &ListenerTls,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsFileError> {
    let Some(ca_file) = &tls.client_ca_file else {
        return Ok(None);
    };
    let builder = WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(ca_file)?),
        Arc::new(default_provider()),
    );
    let builder = match tls.client_auth {
        ClientAuth::Required => builder,
        ClientAuth::Optional => builder.allow_unauthenticated(),
    };
    builder
        .build()
        .map(Some)
        .map_err(|e| file_error(ca_file, format!("cannot verify client certificates ({e})")))
}

// === upstreams ===

/// What an endpoint needs to reach an HTTPS backend or app, loaded once per configuration.
#[derive(Clone)]
pub struct UpstreamTls {
    /// The name sent in SNI and checked against the certificate: the URL's host unless `sni`
    /// overrides it. Never empty (Pingora skips verification for an empty name).
    pub sni: String,
    /// `ca_file`'s certificates, for the proxy (`None`: the system's roots).
    pub ca: Option<Arc<CaType>>,
    /// The client certificate for backends that demand mTLS.
    pub client_cert: Option<Arc<CertKey>>,
    /// The same, for the gateway's own calls.
    pub http_roots: Vec<reqwest::Certificate>,
    pub http_identity: Option<reqwest::Identity>,
    /// When the client certificate expires, in seconds since 1970.
    pub client_cert_not_after: Option<i64>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("sni", &self.sni)
            .field("ca_file", &self.ca.is_some())
            .field("client_cert", &self.client_cert.is_some())
            .finish()
    }
}

impl UpstreamTls {
    pub fn load(host: &str, config: &UpstreamTlsConfig) -> Result<Self, TlsFileError> {
        let sni = config.sni.clone().unwrap_or_else(|| host.to_owned());
        let (ca, http_roots) = match &config.ca_file {
            None => (None, Vec::new()),
            Some(path) => {
                let certs = load_certs(path)?;
                roots(path)?;
                let wrapped: Vec<WrappedX509> = certs
                    .iter()
                    .map(|c| WrappedX509::new(c.to_vec(), parse_x509))
                    .collect();
                let http = certs
                    .iter()
                    .map(|c| {
                        reqwest::Certificate::from_der(c.as_ref())
                            .map_err(|e| file_error(path, e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (Some(Arc::from(wrapped.into_boxed_slice())), http)
            }
        };
        let (client_cert, http_identity, client_cert_not_after) =
            match (&config.client_cert_file, &config.client_key_file) {
                (Some(cert_file), Some(key_file)) => {
                    // Checks that the key belongs to the certificate.
                    certified_key(cert_file, key_file)?;
                    let chain = load_certs(cert_file)?;
                    let key = load_key(key_file)?;
                    let expiry = chain.first().and_then(not_after);
                    let pem = [
                        std::fs::read(cert_file)
                            .map_err(|e| file_error(cert_file, e.to_string()))?,
                        std::fs::read(key_file).map_err(|e| file_error(key_file, e.to_string()))?,
                    ]
                    .join(&b"\n"[..]);
                    let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                        file_error(key_file, format!("not a usable identity ({e})"))
                    })?;
                    let certs = chain.iter().map(|c| c.to_vec()).collect();
                    let cert_key = CertKey::new(certs, key.secret_der().to_vec());
                    (Some(Arc::new(cert_key)), Some(identity), expiry)
                }
                _ => (None, None, None),
            };
        Ok(Self {
            sni,
            ca,
            client_cert,
            http_roots,
            http_identity,
            client_cert_not_after,
        })
    }
}

// === handshake failures ===

/// `idbridge_tls_handshake_failures_total{reason}`: one process-wide counter, registered in every
/// gateway's registry (a process serves one gateway; tests start several).
#[allow(clippy::expect_used)] // a constant name and label, which prometheus accepts: cannot fail
pub static HANDSHAKE_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let opts = prometheus::Opts::new(
        "idbridge_tls_handshake_failures_total",
        "TLS handshakes on the listener that failed, by reason.",
    );
    IntCounterVec::new(opts, &["reason"]).expect("a valid metric name")
});

/// The reasons, all exported from start.
pub const HANDSHAKE_REASONS: [&str; 7] = [
    "client_certificate_missing",
    "client_certificate_invalid",
    "certificate_rejected_by_client",
    "incompatible",
    "not_tls",
    "timeout",
    "other",
];

/// The reason of a handshake failure, from the text Pingora logs (rustls' error in it).
pub fn classify(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("handshake timeout") {
        "timeout"
    } else if m.contains("no certificates") || m.contains("certificaterequired") {
        "client_certificate_missing"
    } else if m.contains("invalid peer certificate") {
        "client_certificate_invalid"
    } else if m.contains("received fatal alert") {
        "certificate_rejected_by_client"
    } else if m.contains("peer is incompatible") || m.contains("no ciphersuites in common") {
        "incompatible"
    } else if m.contains("corrupt message") || m.contains("invalid message") {
        "not_tls"
    } else {
        "other"
    }
}

/// A tracing layer that counts the listener's handshake failures from Pingora's log lines.
/// Install it beside the formatting layer with [`HandshakeFailures::layer`]: it sees the error
/// lines whatever level the logs are filtered at, and nothing below error (so it enables no
/// debug logging anywhere).
#[derive(Clone, Copy, Debug, Default)]
pub struct HandshakeFailures;

impl HandshakeFailures {
    pub fn layer<S>() -> impl Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::filter::LevelFilter;
        Self.with_filter(LevelFilter::ERROR)
    }
}

impl<S: tracing::Subscriber> Layer<S> for HandshakeFailures {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        // Bridged `log` records carry their original target in `log.target`.
        if *event.metadata().level() != tracing::Level::ERROR {
            return;
        }
        let mut visitor = Message::default();
        event.record(&mut visitor);
        if visitor.message.starts_with("Downstream handshake") {
            HANDSHAKE_FAILURES
                .with_label_values(&[classify(&visitor.message)])
                .inc();
        }
    }
}

#[derive(Default)]
struct Message {
    message: String,
}

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_failures_are_classified_from_rustls_messages() {
        let at = |m: &str| classify(m);
        assert_eq!(
            at(
                "Downstream handshake error from 127.0.0.1: TLSHandshakeFailure context: TLS accept() failed: peer sent no certificates"
            ),
            "client_certificate_missing"
        );
        assert_eq!(
            at("TLS accept() failed: invalid peer certificate: UnknownIssuer"),
            "client_certificate_invalid"
        );
        assert_eq!(
            at("TLS accept() failed: received fatal alert: UnknownCA"),
            "certificate_rejected_by_client"
        );
        assert_eq!(
            at("received corrupt message of type InvalidContentType"),
            "not_tls"
        );
        assert_eq!(at("Downstream handshake timeout"), "timeout");
        assert_eq!(at("something else"), "other");
        for r in HANDSHAKE_REASONS {
            assert!(!r.is_empty());
        }
    }
}
