//! Login certificates: from the text a Login request carries to the subject the directory is
//! searched with.
//!
//! The wire form is base64 DER (documented); PEM armour and whitespace (line breaks from a
//! copy-paste or an XML pretty-printer) are tolerated because they cost nothing and real clients
//! send them.

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use x509_parser::x509::AttributeTypeAndValue;

/// Standard alphabet; padding optional on input (we always write it padded).
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CertError {
    #[error("the certificate is empty")]
    Empty,
    #[error("the certificate is not base64")]
    NotBase64,
    #[error("the certificate is not a DER X.509 certificate")]
    NotX509,
}

/// What the simulator needs from a certificate: who it names and when it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject {
    pub(crate) cn: Option<String>,
    pub(crate) o: Option<String>,
    /// Validity bounds, seconds since the Unix epoch (inclusive).
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    /// The SubjectPublicKeyInfo, DER: what step 1 of a login seals the server nonce to.
    pub(crate) spki: Vec<u8>,
}

// === impl Subject ===

impl Subject {
    /// Decodes base64 DER (PEM armour and whitespace allowed) and parses the certificate.
    pub(crate) fn from_text(text: &str) -> Result<Self, CertError> {
        let der = decode(text)?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|_| CertError::NotX509)?;
        let subject = cert.subject();
        let validity = cert.validity();
        Ok(Self {
            cn: first_string(subject.iter_common_name()),
            o: first_string(subject.iter_organization()),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            spki: cert.public_key().raw.to_vec(),
        })
    }

    /// Whether the certificate is valid at `now_secs` (seconds since the Unix epoch).
    pub(crate) fn valid_at(&self, now_secs: u64) -> bool {
        let now = i64::try_from(now_secs).unwrap_or(i64::MAX);
        self.not_before <= now && now <= self.not_after
    }
}

/// The first attribute's value as text. A value that is not one of the string types x509-parser
/// reads counts as absent: it could not match a directory entry anyway.
fn first_string<'c, 'd: 'c>(
    mut attrs: impl Iterator<Item = &'c AttributeTypeAndValue<'d>>,
) -> Option<String> {
    attrs
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned)
}

/// Base64 text (optionally PEM-armoured) to DER bytes.
fn decode(text: &str) -> Result<Vec<u8>, CertError> {
    let body: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(str::chars)
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if body.is_empty() {
        return Err(CertError::Empty);
    }
    LENIENT_B64
        .decode(body.as_bytes())
        .map_err(|_| CertError::NotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOHN_DOE: &str = include_str!("../../../../config/demo/john-doe.cer");
    const SERVER: &str = include_str!("../../../../config/demo/netid-server.cer");

    #[test]
    fn reads_the_demo_certificates() {
        let john = Subject::from_text(JOHN_DOE).unwrap();
        assert_eq!(john.cn.as_deref(), Some("John Doe"));
        assert_eq!(john.o.as_deref(), Some("Contoso Ltd"));
        assert!(john.not_after - john.not_before > 19 * 365 * 86_400);
        let server = Subject::from_text(SERVER).unwrap();
        assert_eq!(server.cn.as_deref(), Some("Net iD Portal Simulator"));
        assert_eq!(server.o, None);
    }

    #[test]
    fn tolerates_pem_armour_whitespace_and_missing_padding() {
        let b64 = JOHN_DOE.trim();
        let wrapped: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\n",
            wrapped.join("\r\n")
        );
        assert_eq!(
            Subject::from_text(&pem).unwrap(),
            Subject::from_text(b64).unwrap()
        );
        let unpadded = b64.trim_end_matches('=');
        assert!(Subject::from_text(unpadded).is_ok());
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Subject::from_text(" \n"), Err(CertError::Empty));
        assert_eq!(Subject::from_text("not base64!"), Err(CertError::NotBase64));
        assert_eq!(
            Subject::from_text("aGVsbG8gd29ybGQ="),
            Err(CertError::NotX509)
        );
    }

    #[test]
    fn validity_is_inclusive() {
        let s = Subject {
            cn: None,
            o: None,
            not_before: 10,
            not_after: 20,
            spki: Vec::new(),
        };
        assert!(!s.valid_at(9));
        assert!(s.valid_at(10));
        assert!(s.valid_at(20));
        assert!(!s.valid_at(21));
    }
}
