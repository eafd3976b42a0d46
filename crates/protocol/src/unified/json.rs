//! The unified REST/JSON face (`/idbridge/v1/...`): response renderers, the Log In request
//! decoder, and the face's OpenAPI 3.1 document ([`openapi`]).
//!
//! Renderers are exact: every key is always present (absent values are `null`) and no other key
//! appears, so the schemas in [`openapi`] can say `additionalProperties: false` with every
//! property required, and clients can rely on it. The decoder is as strict as those schemas:
//! unknown keys, duplicate keys and wrong types are errors, never ignored.

mod openapi;

pub use super::{Challenge, LoginRequest};
pub use openapi::openapi;

use idbridge_session::{Backend, Organization, Session, UnixTime, Usage};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::login::{Draft, Names, parse_backend, refuse};
use super::{auth_method_name, backend_name, instant, kind_name, seconds};
use crate::enos::AuthType;
use crate::json::{loose_i64, loose_u64, member, opt_str, parse_object};
use crate::netid::Role;
use crate::{DecodeError, Limits};

/// Every path of the face starts with this.
pub const PATH_PREFIX: &str = "/idbridge/v1";
/// `Content-Type` of every JSON body of the face.
pub const CONTENT_TYPE: &str = "application/json";

/// The request keys, in the order the OpenAPI document lists them.
const LOGIN_KEYS: [&str; 10] = [
    "backend",
    "principal",
    "credentials",
    "auth_type",
    "link_name",
    "expire_interval",
    "certificate",
    "role",
    "session_id",
    "answer",
];

const ENOS_ONLY: [&str; 5] = [
    "principal",
    "credentials",
    "auth_type",
    "link_name",
    "expire_interval",
];
const NETID_ONLY: [&str; 4] = ["certificate", "role", "session_id", "answer"];

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

// === renderers ===

/// A session as the face shows it (the `Session` schema).
///
/// `organization` is the working organisation and `home_organization` the resident one, each
/// `null` when the backend names none; `expires_in` counts down to `expires_at` from `now` and
/// is 0 once past. Never the backend session id, never `extra`.
///
/// Serialised straight from the session's own fields (no `serde_json::Value` in between): it is
/// what every unified status answer writes.
pub fn session_view(session: &Session, now: UnixTime) -> SessionView<'_> {
    let s = session;
    SessionView {
        backend: backend_name(s.backend),
        subject: SubjectView {
            id: &s.subject.id,
            name: &s.subject.name,
            email: s.subject.email.as_deref(),
            phone: s.subject.phone.as_deref(),
            kind: kind_name(s.subject.kind),
        },
        organization: s.working_org.as_deref().map(OrganizationView::from),
        home_organization: s.home_org.as_deref().map(OrganizationView::from),
        organizations: Seq(&s.organizations),
        usages: Seq(&s.usages),
        auth_method: auth_method_name(&s.auth_method),
        created_at: instant(s.created),
        refreshed_at: instant(s.refreshed),
        expires_at: instant(s.expires_at),
        expires_in: seconds(s.time_to_live(now).as_secs()),
        idle_timeout: s.idle_timeout.map(|d| seconds(d.as_secs())),
    }
}

/// The `Session` schema, in its order; see [`session_view`].
#[derive(Debug, Serialize)]
pub struct SessionView<'a> {
    backend: &'a str,
    subject: SubjectView<'a>,
    organization: Option<OrganizationView<'a>>,
    home_organization: Option<OrganizationView<'a>>,
    organizations: Seq<'a, Organization>,
    usages: Seq<'a, Usage>,
    auth_method: &'a str,
    created_at: String,
    refreshed_at: String,
    expires_at: String,
    expires_in: i64,
    idle_timeout: Option<i64>,
}

#[derive(Debug, Serialize)]
struct SubjectView<'a> {
    id: &'a str,
    name: &'a str,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    kind: &'a str,
}

#[derive(Debug, Serialize)]
struct OrganizationView<'a> {
    id: &'a str,
    name: &'a str,
    domain: Option<&'a str>,
}

impl<'a> From<&'a Organization> for OrganizationView<'a> {
    fn from(o: &'a Organization) -> Self {
        Self {
            id: &o.id,
            name: &o.name,
            domain: o.domain.as_deref(),
        }
    }
}

/// A list written as the schema's items: organisations as `{id, name}`, usages by name.
#[derive(Debug)]
struct Seq<'a, T>(&'a [T]);

impl Serialize for Seq<'_, Organization> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Item<'a> {
            id: &'a str,
            name: &'a str,
        }
        s.collect_seq(self.0.iter().map(|o| Item {
            id: &o.id,
            name: &o.name,
        }))
    }
}

impl Serialize for Seq<'_, Usage> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|u| u.name.as_str()))
    }
}

/// `{"token", "token_type": "Bearer", "expires_in", "session"}` (the `LoginResponse` schema).
pub fn login_response<'a>(
    session: &'a Session,
    token: &'a str,
    token_expires_in: u64,
    now: UnixTime,
) -> impl Serialize + 'a {
    #[derive(Serialize)]
    struct LoginResponse<'a> {
        token: &'a str,
        token_type: &'a str,
        expires_in: i64,
        session: SessionView<'a>,
    }
    LoginResponse {
        token,
        token_type: "Bearer",
        expires_in: seconds(token_expires_in),
        session: session_view(session, now),
    }
}

/// `{"session": …}` (the `SessionResponse` schema).
pub fn session_response(session: &Session, now: UnixTime) -> impl Serialize + '_ {
    #[derive(Serialize)]
    struct SessionResponse<'a> {
        session: SessionView<'a>,
    }
    SessionResponse {
        session: session_view(session, now),
    }
}

/// `{"challenge": {"session_id", "value", "server_certificate"}}` (the `LoginChallenge`
/// schema): step 1 of a Net iD login. The client opens `value` with its private key and
/// answers with step 2 (see [`crate::netid::proof`]).
pub fn challenge_response(c: &Challenge) -> Value {
    json!({
        "challenge": {
            "session_id": c.session_id,
            "value": c.value,
            "server_certificate": c.server_certificate,
        }
    })
}

/// `{"logged_out": true}` (the `LogoutResponse` schema).
pub fn logout_response() -> Value {
    json!({ "logged_out": true })
}

/// `{"error": {"code", "message"}}` (the `Error` schema). Both texts go to the client as given:
/// pass codes and messages written for it, never a backend's own error text.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message } })
}

// === decoder ===

/// Decodes a `POST /idbridge/v1/login` body: `{"backend": "enos", "principal", "credentials",
/// "auth_type"?, "link_name"?, "expire_interval"?}`, `{"backend": "netid", "certificate",
/// "role"?}` (Net iD step 1) or `{"backend": "netid", "session_id", "answer"}` (step 2).
/// Optional keys may also be `null`.
///
/// Fails on: size, depth, syntax and duplicate keys (as every decoder of the crate); an unknown
/// key ([`DecodeError::UnexpectedElement`]); a missing or empty required key; a wrong type or
/// value; a key of the other backend ([`DecodeError::InvalidField`]).
pub fn decode_login_request(body: &[u8], limits: &Limits) -> Result<LoginRequest, DecodeError> {
    let map = parse_object(body, limits)?;
    if let Some(unknown) = map.keys().find(|k| !LOGIN_KEYS.contains(&k.as_str())) {
        return Err(DecodeError::unexpected(unknown));
    }
    let backend = enumerated(&map, "backend", "expected enos or netid", parse_backend)?;
    // The other backend's keys are refused even when null: the schemas do not list them at all.
    let (foreign, owner): (&[&'static str], &str) = match backend {
        Some(Backend::ENOS) => (&NETID_ONLY, "netid"),
        Some(Backend::NETID) => (&ENOS_ONLY, "enos"),
        _ => (&[], ""),
    };
    for key in foreign {
        refuse(map.contains_key(*key), key, owner)?;
    }
    let owned = |key: &'static str| opt_str(&map, key, key).map(|s| s.map(str::to_owned));
    let draft = Draft {
        backend,
        principal: owned("principal")?,
        credentials: owned("credentials")?,
        auth_type: number(&map, "auth_type", "expected 0 or 1", |v| {
            loose_i64(v).and_then(AuthType::from_code)
        })?,
        link_name: owned("link_name")?,
        expire_interval: number(
            &map,
            "expire_interval",
            "expected a non-negative integer",
            loose_u64,
        )?,
        certificate: owned("certificate")?,
        role: enumerated(&map, "role", "expected Self or Officer", Role::parse)?,
        session_id: owned("session_id")?,
        answer: owned("answer")?,
    };
    draft.finish(&NAMES)
}

/// A string member from a fixed set; `null` counts as absent.
fn enumerated<T>(
    map: &Map<String, Value>,
    key: &'static str,
    expected: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, DecodeError> {
    opt_str(map, key, key)?
        .map(|s| parse(s).ok_or_else(|| DecodeError::invalid(key, expected)))
        .transpose()
}

/// A JSON number member (an integral float such as `3600.0` is an integer, as in JSON Schema;
/// a string is not); `null` counts as absent.
fn number<T>(
    map: &Map<String, Value>,
    key: &'static str,
    expected: &str,
    convert: impl FnOnce(&Value) -> Option<T>,
) -> Result<Option<T>, DecodeError> {
    match member(map, key) {
        None => Ok(None),
        Some(v @ Value::Number(_)) => convert(v)
            .map(Some)
            .ok_or_else(|| DecodeError::invalid(key, expected)),
        Some(_) => Err(DecodeError::invalid(key, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> Result<LoginRequest, DecodeError> {
        decode_login_request(body.as_bytes(), &Limits::default())
    }

    #[test]
    fn numbers_must_be_json_numbers() {
        let ok = decode(
            r#"{"backend":"enos","principal":"p","credentials":"c","auth_type":1,"link_name":"corp","expire_interval":3600.0}"#,
        )
        .unwrap();
        let up = ok.to_enos().unwrap();
        assert_eq!(up.auth_type, AuthType::Ldap);
        assert_eq!(up.expire_interval, Some(3600));
        assert_eq!(up.link_name.as_deref(), Some("corp"));
        for bad in [
            r#"{"backend":"enos","principal":"p","credentials":"c","auth_type":"1"}"#,
            r#"{"backend":"enos","principal":"p","credentials":"c","auth_type":2}"#,
            r#"{"backend":"enos","principal":"p","credentials":"c","auth_type":0.5}"#,
        ] {
            assert!(
                matches!(
                    decode(bad),
                    Err(DecodeError::InvalidField {
                        field: "auth_type",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            decode(r#"{"backend":"enos","principal":"p","credentials":"c","expire_interval":-1}"#),
            Err(DecodeError::InvalidField {
                field: "expire_interval",
                ..
            })
        ));
    }

    #[test]
    fn own_optional_nulls_are_absent_but_foreign_keys_are_refused_even_null() {
        let r = decode(r#"{"backend":"netid","certificate":"MIIB","role":null}"#).unwrap();
        assert_eq!(
            r,
            LoginRequest::Netid {
                certificate: "MIIB".into(),
                role: Role::SelfService
            }
        );
        assert!(matches!(
            decode(r#"{"backend":"netid","certificate":"MIIB","principal":null}"#),
            Err(DecodeError::InvalidField {
                field: "principal",
                ..
            })
        ));
    }
}
