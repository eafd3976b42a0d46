//! idbridge's own faces: the unified REST/JSON face, the unified SOAP face, and forward-auth.
//!
//! Both faces share one core per operation (login, session, logout); only decoding and rendering
//! differ. Logins here are made by the gateway itself, so it can mint a token for the session
//! whichever backend it came from: that is what lets an EnOS app accept a Net iD login.

use std::sync::Arc;

use idbridge_protocol::enos::{EnosCode, EnosReply};
use idbridge_protocol::netid::StatusCode;
use idbridge_protocol::unified::soap::{self as usoap, FaultCode, UnifiedSoapRequest};
use idbridge_protocol::unified::{LoginRequest, json as ujson};
use idbridge_protocol::{DecodeError, enos as enos_codec, netid as netid_codec};
use idbridge_session::{Session, UnixTime};

use super::{
    Outcome, Request, backend_label, enos::cache_after_login, fetch, logout_session, lookup,
};
use crate::error::FetchError;
use crate::respond::{JSON, Kind, Reply};
use crate::route::{Face, Op};
use crate::state::State;

/// The cookie a browser app may carry the gateway token in (forward-auth and protected apps).
pub const TOKEN_COOKIE: &str = "idbridge_token";

/// An error of the unified faces: HTTP status, stable code, and a message fit for any client.
#[derive(Debug)]
struct Failure {
    status: u16,
    code: &'static str,
    message: String,
    kind: Kind,
}

pub async fn handle(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    if req.op == Op::Auth {
        return forward_auth(state, req, now, outcome).await;
    }
    if req.face == Face::UnifiedSoap {
        return soap(state, req, now, outcome).await;
    }
    let result = match req.op {
        Op::Login => match ujson::decode_login_request(&req.body, &state.client_limits) {
            Ok(login_req) => login(state, &login_req, req, now, outcome)
                .await
                .map(|(s, token, exp)| ujson::login_response(&s, &token, exp, now)),
            Err(e) => Err(bad_request(&e)),
        },
        Op::Status => match credential(req) {
            Some(c) => session(state, c, now, outcome)
                .await
                .map(|s| ujson::session_response(&s, now)),
            None => Err(unauthorized()),
        },
        _ => match credential(req) {
            Some(c) => logout(state, c, outcome)
                .await
                .map(|()| ujson::logout_response()),
            None => Err(unauthorized()),
        },
    };
    match result {
        Ok(body) => Reply::json(200, JSON, &body),
        Err(f) => json_failure(f),
    }
}

async fn soap(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    let parsed = usoap::parse_request(&req.body, &state.client_limits, req.soap_action.as_deref());
    let result = match parsed {
        Err(e) => Err(bad_request(&e)),
        Ok(UnifiedSoapRequest::Login(l)) => login(state, &l, req, now, outcome)
            .await
            .map(|(s, token, exp)| usoap::encode_login_response(&s, &token, exp, now)),
        Ok(UnifiedSoapRequest::GetSession { token }) => session(state, &token, now, outcome)
            .await
            .map(|s| usoap::encode_session_response(&s, now)),
        Ok(UnifiedSoapRequest::Logout { token }) => logout(state, &token, outcome)
            .await
            .map(|()| usoap::encode_logout_response()),
    };
    match result {
        Ok(body) => Reply::new(200, usoap::CONTENT_TYPE, body),
        Err(f) => {
            // SOAP 1.1 puts faults on HTTP 500; a backend problem keeps its own status, so that no
            // client can read a down backend as "not logged in".
            let (code, status) = if f.status >= 500 || f.status == 429 {
                (FaultCode::Server, f.status)
            } else {
                (FaultCode::Client, 500)
            };
            Reply::new(
                status,
                usoap::CONTENT_TYPE,
                usoap::encode_fault(code, f.code, &f.message),
            )
            .with_kind(f.kind)
        }
    }
}

/// Logs in at the request's backend, caches the session and mints a token for it.
async fn login(
    state: &State,
    login_req: &LoginRequest,
    req: &Request,
    now: UnixTime,
    outcome: &mut Outcome,
) -> Result<(Arc<Session>, String, u64), Failure> {
    let backend = login_req.backend();
    outcome.backend = Some(backend);
    let session = match (login_req.to_enos(), login_req.to_netid(now)) {
        (Some(enos_req), _) => login_enos(state, &enos_req, req, now).await,
        (_, Some(netid_req)) => login_netid(state, &netid_req, now, outcome).await,
        _ => Err(upstream_failure(&crate::error::UpstreamError::BadResponse(
            "no backend".into(),
        ))),
    };
    let label = match &session {
        Ok(_) => "success",
        Err(f) => f.code_label(),
    };
    state
        .metrics
        .logins
        .with_label_values(&[backend_label(backend), label])
        .inc();
    let session = session?;
    let (token, expires_in) = state
        .tokens
        .mint(&session, &state.token_index, now)
        .map_err(|e| {
            tracing::error!(error = %e, "minting a gateway token failed");
            failure(
                500,
                "internal",
                "could not issue a token",
                Kind::UpstreamError,
            )
        })?;
    state
        .metrics
        .tokens_issued
        .with_label_values(&[backend_label(backend)])
        .inc();
    Ok((session, token, expires_in))
}

async fn login_enos(
    state: &State,
    enos_req: &enos_codec::LoginRequest,
    req: &Request,
    now: UnixTime,
) -> Result<Arc<Session>, Failure> {
    match fetch::login_enos(state, enos_req, req.client_addr.as_deref()).await {
        Ok(EnosReply::Success(payload)) => {
            let session = payload
                .get("session")
                .ok_or_else(|| bad_answer("login answer without a session"))
                .and_then(|s| {
                    enos_codec::session_from_enos(s, now).map_err(|e| bad_answer(&e.to_string()))
                })?;
            cache_after_login(state, session, now).await.ok_or_else(|| {
                failure(
                    401,
                    "invalid_session",
                    "the new session is already over",
                    Kind::Rejected,
                )
            })
        }
        Ok(EnosReply::Failure { code, .. }) => Err(enos_login_failure(code)),
        Err(e) => Err(upstream_failure(&e)),
    }
}

async fn login_netid(
    state: &State,
    netid_req: &netid_codec::LoginRequest,
    now: UnixTime,
    outcome: &mut Outcome,
) -> Result<Arc<Session>, Failure> {
    let resp = fetch::login_netid(state, netid_req)
        .await
        .map_err(|e| upstream_failure(&e))?;
    match (resp.session_id, resp.status.code) {
        (Some(id), StatusCode::Success) => {
            state.counters.reset(id.expose());
            lookup(state, id.expose(), 0, now, outcome)
                .await
                .map_err(|e| fetch_failure(&e))
        }
        (_, StatusCode::AccessDenied) => Err(failure(
            401,
            "bad_credentials",
            "the certificate was not accepted",
            Kind::Rejected,
        )),
        (_, StatusCode::InvalidInput) => Err(failure(
            400,
            "bad_request",
            "the backend refused the login request",
            Kind::BadRequest,
        )),
        _ => Err(bad_answer("unexpected Net iD login status")),
    }
}

async fn session(
    state: &State,
    credential: &str,
    now: UnixTime,
    outcome: &mut Outcome,
) -> Result<Arc<Session>, Failure> {
    lookup(state, credential, 0, now, outcome)
        .await
        .map_err(|e| fetch_failure(&e))
}

async fn logout(state: &State, credential: &str, outcome: &mut Outcome) -> Result<(), Failure> {
    logout_session(state, credential, 0, outcome)
        .await
        .map_err(|e| fetch_failure(&e))
}

/// Forward-auth for nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz`: 200 with
/// the identity headers, 401 for no or a bad session, 503 when a backend must answer and cannot.
async fn forward_auth(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    let Some(credential) = credential(req) else {
        return json_failure(unauthorized());
    };
    match lookup(state, credential, 0, now, outcome).await {
        Ok(s) => {
            let mut reply = Reply::new(200, "text/plain", "");
            reply.headers.extend(identity_headers(&s));
            reply
        }
        Err(e) => match &*e {
            FetchError::Rejected(_) => json_failure(unauthorized()),
            FetchError::Upstream(u) => json_failure(failure(
                503,
                "backend_unavailable",
                u.public_message(),
                Kind::UpstreamError,
            )),
        },
    }
}

/// The verified identity, as forward-auth answers it and protected apps receive it.
pub fn identity_headers(s: &Session) -> Vec<(&'static str, String)> {
    let backend = s.backend.as_str();
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
        ("x-auth-request-backend", backend.to_owned()),
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

/// The caller's credential: `Authorization: Bearer …` (a gateway token or a backend session
/// id), else the `idbridge_token` cookie.
pub fn credential(req: &Request) -> Option<&str> {
    credential_from(req.authorization.as_deref(), req.cookie.as_deref())
}

/// [`credential`] from the raw `Authorization` and `Cookie` header values.
pub fn credential_from<'a>(
    authorization: Option<&'a str>,
    cookie: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = authorization.and_then(|v| {
        let (scheme, rest) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim())
            .filter(|t| !t.is_empty())
    });
    bearer.or_else(|| {
        cookie?.split(';').find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == TOKEN_COOKIE && !value.is_empty()).then_some(value)
        })
    })
}

fn enos_login_failure(code: EnosCode) -> Failure {
    match code {
        EnosCode::BadCredentials => failure(
            401,
            "bad_credentials",
            "wrong account or password",
            Kind::Rejected,
        ),
        EnosCode::TooManyAttempts => failure(
            429,
            "locked",
            "too many failed logins; try later",
            Kind::Rejected,
        ),
        EnosCode::PasswordExpired => failure(
            403,
            "password_expired",
            "the password has expired",
            Kind::Rejected,
        ),
        EnosCode::Disabled => failure(403, "disabled", "the account is disabled", Kind::Rejected),
        EnosCode::NotFound => failure(
            400,
            "unknown_link",
            "the LDAP link does not exist",
            Kind::BadRequest,
        ),
        _ => bad_answer("unexpected EnOS login code"),
    }
}

impl Failure {
    /// The `outcome` label of `idbridge_logins_total` for a failed login.
    fn code_label(&self) -> &'static str {
        match self.code {
            "bad_credentials" => "bad_credentials",
            "locked" => "locked",
            "password_expired" => "expired",
            "disabled" => "disabled",
            _ => "error",
        }
    }
}

fn fetch_failure(e: &FetchError) -> Failure {
    match e {
        FetchError::Rejected(_) => unauthorized(),
        FetchError::Upstream(u) => upstream_failure(u),
    }
}

fn upstream_failure(e: &crate::error::UpstreamError) -> Failure {
    let code = match e.http_status() {
        429 => "backend_throttling",
        504 => "backend_timeout",
        503 => "backend_unavailable",
        _ => "backend_error",
    };
    failure(
        e.http_status(),
        code,
        e.public_message(),
        Kind::UpstreamError,
    )
}

fn bad_answer(detail: &str) -> Failure {
    tracing::warn!(detail, "backend login answer not understood");
    failure(
        502,
        "backend_error",
        "identity backend error",
        Kind::UpstreamError,
    )
}

fn bad_request(e: &DecodeError) -> Failure {
    let kind = if matches!(e, DecodeError::TooLarge { .. }) {
        Kind::TooLarge
    } else {
        Kind::BadRequest
    };
    let status = if kind == Kind::TooLarge { 413 } else { 400 };
    failure(status, "bad_request", &e.to_string(), kind)
}

fn unauthorized() -> Failure {
    failure(
        401,
        "invalid_token",
        "a valid gateway token or session is required",
        Kind::Rejected,
    )
}

fn failure(status: u16, code: &'static str, message: &str, kind: Kind) -> Failure {
    Failure {
        status,
        code,
        message: message.to_owned(),
        kind,
    }
}

fn json_failure(f: Failure) -> Reply {
    let mut reply =
        Reply::json(f.status, JSON, &ujson::error_body(f.code, &f.message)).with_kind(f.kind);
    if f.status == 401 {
        reply
            .headers
            .push(("www-authenticate", "Bearer realm=\"idbridge\"".to_owned()));
    }
    reply
}
