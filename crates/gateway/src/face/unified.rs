//! idbridge's own REST/JSON face under `/idbridge/v1/`, forward-auth, and the JWKS.
//!
//! Logins here are made by the gateway itself, for whichever backend the request names, so it
//! can mint a token for the session: that is what lets an EnOS app accept a Net iD login.
//! Errors are `{"error": {"code", "message"}}` with the HTTP status the error means.

use idbridge_protocol::Limits;
use idbridge_protocol::unified::json as ujson;
use idbridge_session::{Session, UnixTime};

use super::{
    Answer, Doc, Face, Intent, Login, Methods, Op, PathMatch, Request, RouteDecl, Select,
    credential_from,
};
use crate::error::GatewayError;
use crate::reply::Reply;

pub const LOGIN: &str = "/idbridge/v1/login";
pub const SESSION: &str = "/idbridge/v1/session";
pub const LOGOUT: &str = "/idbridge/v1/logout";
pub const AUTH: &str = "/idbridge/v1/auth";
pub const OPENAPI: &str = "/idbridge/v1/openapi.json";
pub const JWKS: &str = "/.well-known/jwks.json";
const JSON: &str = "application/json";

/// The unified REST face.
#[derive(Debug, Default)]
pub struct UnifiedFace;

impl Face for UnifiedFace {
    fn name(&self) -> &'static str {
        "unified"
    }

    fn routes(&self) -> Vec<RouteDecl> {
        vec![
            RouteDecl::op(LOGIN, Methods::Post, Op::Login),
            RouteDecl::op(SESSION, Methods::Get, Op::Status),
            RouteDecl::op(LOGOUT, Methods::Post, Op::Logout),
            // Envoy's ext_authz forwards the original method and appends the original path.
            RouteDecl::op(AUTH, Methods::Any, Op::Authorize),
            RouteDecl {
                path: PathMatch::Prefix(format!("{AUTH}/")),
                methods: Methods::Any,
                select: Select::Op(Op::Authorize),
            },
            RouteDecl::exact(OPENAPI, Methods::Get, Select::Document(Doc::OpenApi)),
            RouteDecl::exact(JWKS, Methods::Get, Select::Document(Doc::Jwks)),
        ]
    }

    fn decode(&self, op: Op, req: &Request, limits: &Limits) -> Result<Intent, GatewayError> {
        let credential =
            credential_from(req.authorization.as_deref(), req.cookie.as_deref()).map(str::to_owned);
        Ok(match op {
            Op::Login => Intent::Login(Login::Unified(ujson::decode_login_request(
                &req.body, limits,
            )?)),
            Op::Status => Intent::Status {
                credential,
                count: None,
            },
            Op::Logout => Intent::Logout {
                credential,
                count: None,
            },
            Op::Authorize => Intent::Authorize { credential },
        })
    }

    fn render(&self, intent: &Intent, answer: Answer, now: UnixTime) -> Reply {
        match answer {
            Answer::LoggedIn { session, token } => Reply::json(
                200,
                JSON,
                &ujson::login_response(&session, &token.token, token.expires_in, now),
            ),
            Answer::Session { session, .. } if matches!(intent, Intent::Authorize { .. }) => {
                let mut reply = Reply::new(200, "text/plain", "");
                reply.headers.extend(identity_headers(&session));
                reply
            }
            Answer::Session { session, .. } => {
                Reply::json(200, JSON, &ujson::session_response(&session, now))
            }
            Answer::Challenge(c) => Reply::json(200, JSON, &ujson::challenge_response(&c)),
            Answer::LoggedOut => Reply::json(200, JSON, &ujson::logout_response()),
            Answer::NativeLogin { raw, .. } | Answer::Forwarded(raw) => Reply::upstream(raw),
        }
    }

    fn error(&self, e: &GatewayError, intent: Option<&Intent>) -> Reply {
        // Forward-auth speaks to nginx, Traefik and Envoy, which know 2xx, 401 and "failed":
        // every backend failure is 503, so none can be read as "logged out".
        let authorize = matches!(intent, Some(Intent::Authorize { .. }));
        let (status, code) = match e {
            GatewayError::Upstream(_) | GatewayError::Unconfirmed if authorize => {
                (503, "backend_unavailable")
            }
            _ => (e.http_status(), e.code()),
        };
        json_error(status, code, &e.public_message())
    }
}

/// The unified JSON error form: `{"error": {"code", "message"}}`; a 401 says how to
/// authenticate. The admin API answers its errors in this form too.
pub fn json_error(status: u16, code: &str, message: &str) -> Reply {
    let reply = Reply::json(status, JSON, &ujson::error_body(code, message));
    if status == 401 {
        reply.with_header("www-authenticate", "Bearer realm=\"idbridge\"")
    } else {
        reply
    }
}

/// The verified identity, as forward-auth answers it and protected apps receive it.
pub fn identity_headers(s: &Session) -> Vec<(&'static str, String)> {
    vec![
        ("x-auth-request-user", header_safe(&s.subject.id)),
        ("x-auth-request-name", header_safe(&s.subject.name)),
        (
            "x-auth-request-email",
            header_safe(s.subject.email.as_deref().unwrap_or("")),
        ),
        (
            "x-auth-request-org",
            header_safe(s.organization().map_or("", |o| o.name.as_str())),
        ),
        ("x-auth-request-backend", s.backend.as_str().to_owned()),
    ]
}

/// Header values must be visible ASCII: anything else (a name like "Åsa") is percent-encoded
/// as UTF-8, the way RFC 8187 encodes it.
fn header_safe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Rejection, UpstreamError};

    #[test]
    fn header_values_are_visible_ascii() {
        assert_eq!(header_safe("Åsa 100%"), "%C3%85sa 100%25");
    }

    #[test]
    fn forward_auth_answers_503_for_any_backend_failure() {
        let authorize = Intent::Authorize { credential: None };
        let timeout = GatewayError::Upstream(UpstreamError::Timeout);
        assert_eq!(UnifiedFace.error(&timeout, Some(&authorize)).status, 503);
        assert_eq!(UnifiedFace.error(&timeout, None).status, 504);
        let r = UnifiedFace.error(&GatewayError::NotLoggedIn(Rejection::Invalid), None);
        assert_eq!(r.status, 401);
        assert!(r.headers.iter().any(|(n, _)| *n == "www-authenticate"));
    }
}
