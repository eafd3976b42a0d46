//! The unified Log In request: one type, decoded from either binding of the unified face.
//!
//! Both bindings fill a binding-neutral [`Draft`] and finish it here, so the rules (which fields
//! each backend needs, which it refuses) are written once and the two faces cannot drift apart.
//! Only the field names in errors differ, so a client is told the name it actually sent.

use std::fmt;

use idbridge_session::{Backend, SessionId, UnixTime};

use crate::DecodeError;
use crate::enos::{self, AuthType, Credentials};
use crate::netid::{self, Role};

/// A login through the unified face, for either backend.
///
/// Business rules (an LDAP login without `link_name`, the `expire_interval` clamp) stay the
/// backend's to enforce; this type guarantees that the request is well-typed and complete for
/// the backend it names. `Debug` shows neither the password nor the certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum LoginRequest {
    /// An EnOS IAM account or LDAP login.
    Enos {
        principal: String,
        credentials: Credentials,
        auth_type: AuthType,
        link_name: Option<String>,
        /// Requested session lifetime in seconds.
        expire_interval: Option<u64>,
    },
    /// A Net iD Portal certificate login, step 1: answered with a challenge, never a session.
    Netid {
        /// The client's X.509 certificate, base64 DER.
        certificate: String,
        role: Role,
    },
    /// A Net iD Portal certificate login, step 2: the answer to step 1's challenge (see
    /// [`crate::netid::proof`]). Only this logs in.
    NetidAnswer { session_id: String, answer: String },
}

/// Step 1 of a Net iD login, as the unified faces answer it: the portal's session, waiting for
/// its answer, and the sealed nonce to answer. `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    pub session_id: String,
    /// The server nonce sealed to the client certificate (Net iD `Value`), base64.
    pub value: String,
    /// The portal's certificate, base64 DER, when it sent one.
    pub server_certificate: Option<String>,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Challenge(<redacted>)")
    }
}

/// What a binding decoded, before the per-backend rules are applied.
#[derive(Default)]
pub(super) struct Draft {
    pub(super) backend: Option<Backend>,
    pub(super) principal: Option<String>,
    pub(super) credentials: Option<String>,
    pub(super) auth_type: Option<AuthType>,
    pub(super) link_name: Option<String>,
    pub(super) expire_interval: Option<u64>,
    pub(super) certificate: Option<String>,
    pub(super) role: Option<Role>,
    pub(super) session_id: Option<String>,
    pub(super) answer: Option<String>,
}

/// Each field's name in one binding, for error messages.
pub(super) struct Names {
    pub(super) backend: &'static str,
    pub(super) principal: &'static str,
    pub(super) credentials: &'static str,
    pub(super) auth_type: &'static str,
    pub(super) link_name: &'static str,
    pub(super) expire_interval: &'static str,
    pub(super) certificate: &'static str,
    pub(super) role: &'static str,
    pub(super) session_id: &'static str,
    pub(super) answer: &'static str,
}

// === impl LoginRequest ===

impl LoginRequest {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Enos { .. } => Backend::ENOS,
            Self::Netid { .. } | Self::NetidAnswer { .. } => Backend::NETID,
        }
    }

    /// The EnOS Log In body this login becomes upstream; `None` for a Net iD login. `keyId`,
    /// `captcha` and `clientIp` are left unset for the caller to fill.
    pub fn to_enos(&self) -> Option<enos::LoginRequest> {
        match self {
            Self::Enos {
                principal,
                credentials,
                auth_type,
                link_name,
                expire_interval,
            } => Some(enos::LoginRequest {
                auth_type: *auth_type,
                link_name: link_name.clone(),
                principal: principal.clone(),
                credentials: credentials.clone(),
                key_id: None,
                captcha: None,
                client_ip: None,
                expire_interval: *expire_interval,
            }),
            Self::Netid { .. } | Self::NetidAnswer { .. } => None,
        }
    }

    /// The Net iD Login call this login becomes upstream: step 1 with `DateTime` = `now`
    /// (RFC 3339, which is ISO 8601) and no `Client`, or step 2; `None` for an EnOS login.
    pub fn to_netid(&self, now: UnixTime) -> Option<netid::LoginStep> {
        match self {
            Self::Netid { certificate, role } => {
                Some(netid::LoginStep::Begin(netid::LoginRequest {
                    certificate: certificate.clone(),
                    date_time: super::instant(now),
                    role: *role,
                    client: None,
                }))
            }
            Self::NetidAnswer { session_id, answer } => {
                Some(netid::LoginStep::Answer(netid::LoginAnswer {
                    session_id: SessionId::new(session_id.clone()),
                    value: answer.clone(),
                }))
            }
            Self::Enos { .. } => None,
        }
    }
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Enos {
                principal,
                credentials,
                auth_type,
                link_name,
                expire_interval,
            } => f
                .debug_struct("Enos")
                .field("principal", principal)
                .field("credentials", credentials)
                .field("auth_type", auth_type)
                .field("link_name", link_name)
                .field("expire_interval", expire_interval)
                .finish(),
            // A certificate identifies a person; it has no place in a log line either.
            Self::Netid { certificate, role } => f
                .debug_struct("Netid")
                .field(
                    "certificate",
                    &format_args!("<redacted:{}>", certificate.len()),
                )
                .field("role", role)
                .finish(),
            Self::NetidAnswer { answer, .. } => f
                .debug_struct("NetidAnswer")
                .field("session_id", &"<redacted>")
                .field("answer", &format_args!("<redacted:{}>", answer.len()))
                .finish(),
        }
    }
}

// === impl Draft ===

impl Draft {
    /// Applies the per-backend rules: the fields a backend needs must be there and non-empty,
    /// and the other backend's fields must be absent (silently dropping them would hide a
    /// client's mistake, such as a certificate sent with `backend` = `enos`).
    pub(super) fn finish(self, n: &Names) -> Result<LoginRequest, DecodeError> {
        match self.backend.ok_or(DecodeError::MissingField(n.backend))? {
            Backend::ENOS => {
                refuse(self.certificate.is_some(), n.certificate, "netid")?;
                refuse(self.role.is_some(), n.role, "netid")?;
                Ok(LoginRequest::Enos {
                    principal: non_empty(self.principal, n.principal)?,
                    credentials: Credentials::new(non_empty(self.credentials, n.credentials)?),
                    auth_type: self.auth_type.unwrap_or_default(),
                    link_name: self.link_name,
                    expire_interval: self.expire_interval,
                })
            }
            Backend::NETID => {
                refuse(self.principal.is_some(), n.principal, "enos")?;
                refuse(self.credentials.is_some(), n.credentials, "enos")?;
                refuse(self.auth_type.is_some(), n.auth_type, "enos")?;
                refuse(self.link_name.is_some(), n.link_name, "enos")?;
                refuse(self.expire_interval.is_some(), n.expire_interval, "enos")?;
                if self.session_id.is_some() || self.answer.is_some() {
                    // Step 2 names the session step 1 opened; the certificate was step 1's.
                    refuse_in_step2(self.certificate.is_some(), n.certificate)?;
                    refuse_in_step2(self.role.is_some(), n.role)?;
                    return Ok(LoginRequest::NetidAnswer {
                        session_id: non_empty(self.session_id, n.session_id)?,
                        answer: non_empty(self.answer, n.answer)?,
                    });
                }
                Ok(LoginRequest::Netid {
                    certificate: non_empty(self.certificate, n.certificate)?,
                    role: self.role.unwrap_or_default(),
                })
            }
            // `parse_backend` makes no other; a login form for another backend is added here.
            _ => Err(DecodeError::invalid(n.backend, "expected enos or netid")),
        }
    }
}

fn refuse_in_step2(present: bool, field: &'static str) -> Result<(), DecodeError> {
    if present {
        return Err(DecodeError::invalid(
            field,
            "belongs to step 1; step 2 sends only the session id and the answer",
        ));
    }
    Ok(())
}

/// `enos` / `netid`, case-sensitive like every enumeration of the face.
pub(super) fn parse_backend(text: &str) -> Option<Backend> {
    match text {
        "enos" => Some(Backend::ENOS),
        "netid" => Some(Backend::NETID),
        _ => None,
    }
}

pub(super) fn refuse(present: bool, field: &'static str, backend: &str) -> Result<(), DecodeError> {
    if present {
        return Err(DecodeError::invalid(
            field,
            format!("only allowed with backend {backend}"),
        ));
    }
    Ok(())
}

fn non_empty(value: Option<String>, field: &'static str) -> Result<String, DecodeError> {
    match value {
        None => Err(DecodeError::MissingField(field)),
        Some(v) if v.is_empty() => Err(DecodeError::invalid(field, "must not be empty")),
        Some(v) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Names = Names {
        backend: "backend",
        principal: "principal",
        credentials: "credentials",
        auth_type: "auth_type",
        link_name: "link_name",
        expire_interval: "expire_interval",
        certificate: "certificate",
        role: "role",
        session_id: "session_id",
        answer: "answer",
    };

    fn enos() -> Draft {
        Draft {
            backend: Some(Backend::ENOS),
            principal: Some("p".into()),
            credentials: Some("s3cret".into()),
            ..Draft::default()
        }
    }

    #[test]
    fn enos_defaults_and_conversion() {
        let r = enos().finish(&NAMES).unwrap();
        assert_eq!(r.backend(), Backend::ENOS);
        let up = r.to_enos().unwrap();
        assert_eq!(up.auth_type, AuthType::Enos);
        assert_eq!(up.principal, "p");
        assert_eq!(up.credentials.expose(), "s3cret");
        assert!(r.to_netid(UnixTime(0)).is_none());
    }

    #[test]
    fn netid_defaults_and_conversion() {
        let d = Draft {
            backend: Some(Backend::NETID),
            certificate: Some("MIIB".into()),
            ..Draft::default()
        };
        let r = d.finish(&NAMES).unwrap();
        assert_eq!(r.backend(), Backend::NETID);
        let up = r.to_netid(UnixTime(1_795_428_000)).unwrap();
        let netid::LoginStep::Begin(up) = up else {
            panic!("step 1 expected")
        };
        assert_eq!(up.role, Role::SelfService);
        assert_eq!(up.date_time, "2026-11-23T10:00:00Z");
        assert_eq!(up.certificate, "MIIB");
        assert!(r.to_enos().is_none());
    }

    #[test]
    fn netid_step_2_names_the_session_and_the_answer_only() {
        let step2 = |session_id: Option<&str>, answer: Option<&str>, certificate: Option<&str>| {
            Draft {
                backend: Some(Backend::NETID),
                session_id: session_id.map(str::to_owned),
                answer: answer.map(str::to_owned),
                certificate: certificate.map(str::to_owned),
                ..Draft::default()
            }
            .finish(&NAMES)
        };
        let r = step2(Some("c2lk"), Some("YW5z"), None).unwrap();
        let Some(netid::LoginStep::Answer(a)) = r.to_netid(UnixTime(0)) else {
            panic!("step 2 expected")
        };
        assert_eq!((a.session_id.expose(), a.value.as_str()), ("c2lk", "YW5z"));
        assert!(!format!("{r:?}").contains("YW5z"));
        assert_eq!(
            step2(Some("c2lk"), None, None),
            Err(DecodeError::MissingField("answer"))
        );
        assert_eq!(
            step2(None, Some("YW5z"), None),
            Err(DecodeError::MissingField("session_id"))
        );
        assert!(matches!(
            step2(Some("c2lk"), Some("YW5z"), Some("MIIB")),
            Err(DecodeError::InvalidField {
                field: "certificate",
                ..
            })
        ));
    }

    #[test]
    fn other_backends_fields_are_refused() {
        let mut d = enos();
        d.role = Some(Role::Officer);
        assert!(matches!(
            d.finish(&NAMES),
            Err(DecodeError::InvalidField { field: "role", .. })
        ));
        let d = Draft {
            backend: Some(Backend::NETID),
            certificate: Some("MIIB".into()),
            link_name: Some("corp".into()),
            ..Draft::default()
        };
        assert!(matches!(
            d.finish(&NAMES),
            Err(DecodeError::InvalidField {
                field: "link_name",
                ..
            })
        ));
    }

    #[test]
    fn required_fields() {
        assert_eq!(
            Draft::default().finish(&NAMES),
            Err(DecodeError::MissingField("backend"))
        );
        let mut d = enos();
        d.credentials = None;
        assert_eq!(
            d.finish(&NAMES),
            Err(DecodeError::MissingField("credentials"))
        );
        let mut d = enos();
        d.principal = Some(String::new());
        assert!(matches!(
            d.finish(&NAMES),
            Err(DecodeError::InvalidField {
                field: "principal",
                ..
            })
        ));
    }

    #[test]
    fn debug_redacts_password_and_certificate() {
        let r = enos().finish(&NAMES).unwrap();
        assert!(!format!("{r:?}").contains("s3cret"));
        let n = LoginRequest::Netid {
            certificate: "MIIBsecret".into(),
            role: Role::Officer,
        };
        let debug = format!("{n:?}");
        assert!(!debug.contains("MIIBsecret"));
        assert!(debug.contains("<redacted:10>"));
    }
}
