//! The gateway's own upstream calls about one session: status (on a cache miss or revalidation) and
//! logout. Net iD is always asked over REST, whatever the caller spoke, with the gateway's counter.

use bytes::Bytes;
use idbridge_protocol::enos::{self as enos_codec, EnosCode, EnosReply};
use idbridge_protocol::netid::{self as netid_codec, LogoutRequest, StatusCode, StatusRequest};
use idbridge_session::{Backend, Session, SessionId, UnixTime};

use crate::error::{FetchError, Rejection, UpstreamError};
use crate::respond::{ENOS_JSON, NETID_JSON};
use crate::route::{ENOS_SESSION_INFO, NETID_LOGOUT, NETID_STATUS};
use crate::state::State;
use crate::upstream::{Call, RawReply};

/// Asks `backend` whether `id` is a live session, and normalises the answer.
pub async fn session(
    state: &State,
    backend: Backend,
    id: &str,
    client_count: u64,
    now: UnixTime,
) -> Result<Session, FetchError> {
    match backend {
        Backend::ENOS => {
            let reply = enos_call(state, ENOS_SESSION_INFO, "status", id).await?;
            match decode_enos(state, &reply)? {
                EnosReply::Success(payload) => {
                    let session = payload
                        .get("session")
                        .ok_or_else(|| bad("session/info without session"))?;
                    enos_codec::session_from_enos(session, now)
                        .map_err(|e| bad(&e.to_string()).into())
                }
                EnosReply::Failure { code, .. } => Err(enos_rejection(code)),
            }
        }
        _ => {
            let count = state.counters.next(id, client_count);
            let req = StatusRequest {
                session_id: SessionId::new(id),
                count,
                blob: None,
            };
            let body = netid_codec::rest::encode_status_request(&req);
            let reply = netid_call(state, NETID_STATUS, "status", body).await?;
            let status =
                netid_codec::rest::decode_login_status(&reply.body, &state.upstream_limits)
                    .map_err(|e| bad(&e.to_string()))?;
            match status.status.code {
                StatusCode::Success if status.logged_in() => {
                    netid_codec::session_from_login_status(&status, SessionId::new(id), now)
                        .map_err(|e| bad(&e.to_string()).into())
                }
                StatusCode::Success | StatusCode::InvalidSession => {
                    Err(FetchError::Rejected(Rejection::NotFound))
                }
                other => Err(bad(&format!("GetLoginStatus answered {}", other.as_str())).into()),
            }
        }
    }
}

/// Ends `id` at its backend.
pub async fn logout(
    state: &State,
    backend: Backend,
    id: &str,
    client_count: u64,
) -> Result<(), FetchError> {
    match backend {
        Backend::ENOS => {
            let path = state.config.backends.enos.logout_path.clone();
            let reply = enos_call(state, &path, "logout", id).await?;
            match decode_enos(state, &reply)? {
                EnosReply::Success(_) => Ok(()),
                EnosReply::Failure { code, .. } => Err(enos_rejection(code)),
            }
        }
        _ => {
            let count = state.counters.next(id, client_count);
            let req = LogoutRequest {
                session_id: SessionId::new(id),
                count,
                blob: None,
            };
            let body = netid_codec::rest::encode_logout_request(&req);
            let reply = netid_call(state, NETID_LOGOUT, "logout", body).await?;
            state.counters.forget(id);
            let resp =
                netid_codec::rest::decode_logout_response(&reply.body, &state.upstream_limits)
                    .map_err(|e| bad(&e.to_string()))?;
            match resp.status.code {
                StatusCode::Success => Ok(()),
                StatusCode::InvalidSession => Err(FetchError::Rejected(Rejection::NotFound)),
                other => Err(bad(&format!("Logout answered {}", other.as_str())).into()),
            }
        }
    }
}

async fn enos_call(
    state: &State,
    path: &str,
    op: &'static str,
    id: &str,
) -> Result<RawReply, UpstreamError> {
    let enos = &state.config.backends.enos;
    let call = Call {
        backend: "enos",
        op,
        base: &enos.url,
        path,
        timeout: enos.timeout,
        headers: vec![
            ("authorization", format!("Bearer {id}")),
            ("content-type", ENOS_JSON.to_owned()),
        ],
        body: Bytes::new(),
    };
    state.upstream.post(call).await
}

async fn netid_call(
    state: &State,
    path: &str,
    op: &'static str,
    body: Vec<u8>,
) -> Result<RawReply, UpstreamError> {
    let netid = &state.config.backends.netid;
    let call = Call {
        backend: "netid",
        op,
        base: &netid.url,
        path,
        timeout: netid.timeout,
        headers: vec![("content-type", NETID_JSON.to_owned())],
        body: Bytes::from(body),
    };
    let reply = state.upstream.post(call).await?;
    if reply.status != 200 {
        return Err(UpstreamError::Status(reply.status));
    }
    Ok(reply)
}

fn decode_enos(state: &State, reply: &RawReply) -> Result<EnosReply, UpstreamError> {
    if reply.status != 200 {
        return Err(UpstreamError::Status(reply.status));
    }
    enos_codec::decode_response(&reply.body, &state.upstream_limits)
        .map_err(|e| bad(&e.to_string()))
}

fn enos_rejection(code: EnosCode) -> FetchError {
    match code {
        EnosCode::InvalidToken => FetchError::Rejected(Rejection::Invalid),
        EnosCode::NotFound => FetchError::Rejected(Rejection::NotFound),
        other => bad(&format!("EnOS answered {}", other.code())).into(),
    }
}

fn bad(detail: &str) -> UpstreamError {
    UpstreamError::BadResponse(detail.to_owned())
}

/// A login the gateway makes itself (the unified faces): EnOS Log In with the request's JSON.
pub async fn login_enos(
    state: &State,
    req: &idbridge_protocol::enos::LoginRequest,
    client_addr: Option<&str>,
) -> Result<EnosReply, UpstreamError> {
    let enos = &state.config.backends.enos;
    let mut headers = vec![("content-type", ENOS_JSON.to_owned())];
    headers.extend(client_addr.map(|a| ("x-forwarded-for", a.to_owned())));
    let call = Call {
        backend: "enos",
        op: "login",
        base: &enos.url,
        path: crate::route::ENOS_LOGIN,
        timeout: enos.timeout,
        headers,
        body: Bytes::from(req.encode()),
    };
    let reply = state.upstream.post(call).await?;
    decode_enos(state, &reply)
}

/// A Net iD login the gateway makes itself, over REST.
pub async fn login_netid(
    state: &State,
    req: &idbridge_protocol::netid::LoginRequest,
) -> Result<idbridge_protocol::netid::LoginResponse, UpstreamError> {
    let body = netid_codec::rest::encode_login_request(req);
    let reply = netid_call(state, crate::route::NETID_LOGIN, "login", body).await?;
    netid_codec::rest::decode_login_response(&reply.body, &state.upstream_limits)
        .map_err(|e| bad(&e.to_string()))
}
