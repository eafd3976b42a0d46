//! The Net iD Portal faces, REST and SOAP: Login, GetLoginStatus, Logout.
//!
//! Both bindings carry the same messages, so each operation is written once and only decoding and
//! rendering look at the face.

use idbridge_protocol::DecodeError;
use idbridge_protocol::netid::StatusCode;
use idbridge_protocol::netid::{
    self as codec, LoginResponse, LoginStatus, LogoutRequest, LogoutResponse, Status,
    StatusRequest, rest, soap,
};
use idbridge_session::{Backend, UnixTime};

use super::{Outcome, Request, fetch_error, finish_login, forward, logout_session, lookup};
use crate::error::Rejection;
use crate::respond::{self, Kind, NETID_JSON, Reply, SOAP_XML};
use crate::route::{Face, Op};
use crate::state::State;

pub async fn handle(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    match req.op {
        Op::Login => login(state, req, now, outcome).await,
        Op::Status => status(state, req, now, outcome).await,
        Op::Logout => logout(state, req, outcome).await,
        // Forward-auth belongs to the unified face; the router never sends it here.
        Op::Auth => respond::bad_request(req.face, "not an operation of this face"),
    }
}

/// Forwards the login untouched and returns the portal's answer byte for byte. On success the
/// gateway asks for the new session's status at once (with its own counter) and caches it.
async fn login(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    outcome.backend = Some(Backend::NETID);
    let limits = &state.client_limits;
    let decoded = match req.face {
        Face::NetidSoap => {
            soap::parse_request(&req.body, limits).and_then(|r| soap::decode_login_request(&r))
        }
        _ => rest::decode_login_request(&req.body, limits),
    };
    if let Err(e) = decoded {
        return respond::bad_request(req.face, &e.to_string());
    }
    let raw = match forward(state, Backend::NETID, req).await {
        Ok(raw) => raw,
        Err(e) => {
            state
                .metrics
                .logins
                .with_label_values(&["netid", "error"])
                .inc();
            return respond::upstream_error(req.face, &e);
        }
    };
    let limits = &state.upstream_limits;
    let answer: Option<LoginResponse> = match (raw.status, req.face) {
        (200, Face::NetidSoap) => soap::decode_login_response(&raw.body, limits).ok(),
        (200, _) => rest::decode_login_response(&raw.body, limits).ok(),
        _ => None,
    };
    let mut cached = None;
    let (login_outcome, kind) = match answer {
        Some(LoginResponse {
            session_id: Some(id),
            status,
            ..
        }) if status.is_success() => {
            state.counters.reset(id.expose());
            match lookup(state, id.expose(), 0, now, outcome).await {
                Ok(session) => cached = Some(session),
                Err(e) => tracing::warn!(error = %e, "Net iD session not cached after login"),
            }
            ("success", Kind::Ok)
        }
        Some(resp) if resp.status.code == StatusCode::AccessDenied => {
            ("bad_credentials", Kind::Rejected)
        }
        Some(_) => ("error", Kind::Rejected),
        None => {
            tracing::warn!(status = raw.status, "Net iD login answer not understood");
            ("error", Kind::Ok)
        }
    };
    finish_login(
        state,
        Backend::NETID,
        raw,
        (login_outcome, kind),
        cached,
        now,
    )
}

async fn status(state: &State, req: &Request, now: UnixTime, outcome: &mut Outcome) -> Reply {
    let limits = &state.client_limits;
    let decoded: Result<StatusRequest, DecodeError> = match req.face {
        Face::NetidSoap => {
            soap::parse_request(&req.body, limits).and_then(|r| soap::decode_status_request(&r))
        }
        _ => rest::decode_status_request(&req.body, limits),
    };
    let sr = match decoded {
        Ok(sr) => sr,
        Err(e) => return respond::bad_request(req.face, &e.to_string()),
    };
    if sr.blob.is_some() {
        // Encrypted: the gateway cannot read it, so it neither answers nor caches it.
        return passthrough(state, req, outcome).await;
    }
    if sr.session_id.is_empty() {
        return respond::rejected(req.face, Op::Status, Rejection::NotFound, sr.count);
    }
    match lookup(state, sr.session_id.expose(), sr.count, now, outcome).await {
        Ok(session) => render_status(
            req.face,
            &codec::login_status_from_session(&session, sr.count, now),
        ),
        Err(e) => fetch_error(req.face, Op::Status, &e, sr.count),
    }
}

async fn logout(state: &State, req: &Request, outcome: &mut Outcome) -> Reply {
    let limits = &state.client_limits;
    let decoded: Result<LogoutRequest, DecodeError> = match req.face {
        Face::NetidSoap => {
            soap::parse_request(&req.body, limits).and_then(|r| soap::decode_logout_request(&r))
        }
        _ => rest::decode_logout_request(&req.body, limits),
    };
    let lr = match decoded {
        Ok(lr) => lr,
        Err(e) => return respond::bad_request(req.face, &e.to_string()),
    };
    if lr.session_id.is_empty() {
        return respond::rejected(req.face, Op::Logout, Rejection::NotFound, lr.count);
    }
    if lr.blob.is_some() {
        state.cache.remove(lr.session_id.expose()).await;
        return passthrough(state, req, outcome).await;
    }
    match logout_session(state, lr.session_id.expose(), lr.count, outcome).await {
        Ok(()) => {
            let resp = LogoutResponse {
                count: Some(lr.count),
                status: Status::success(),
            };
            respond::netid_logout(req.face, &resp)
        }
        Err(e) => fetch_error(req.face, Op::Logout, &e, lr.count),
    }
}

async fn passthrough(state: &State, req: &Request, outcome: &mut Outcome) -> Reply {
    outcome.backend = Some(Backend::NETID);
    match forward(state, Backend::NETID, req).await {
        Ok(raw) => Reply::upstream(raw),
        Err(e) => respond::upstream_error(req.face, &e),
    }
}

fn render_status(face: Face, status: &LoginStatus) -> Reply {
    match face {
        Face::NetidSoap => Reply::new(200, SOAP_XML, soap::encode_login_status(status)),
        _ => Reply::new(200, NETID_JSON, rest::encode_login_status(status)),
    }
}
