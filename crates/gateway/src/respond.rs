//! Replies in the caller's protocol. Every error the gateway itself produces is rendered here, so
//! each face keeps its own form: EnOS envelope, Net iD `Status`, SOAP `Fault`, or idbridge's JSON.
//! Each reply also says what kind of answer it is: the `outcome` of metrics and the access log.

use bytes::Bytes;
use idbridge_protocol::enos::{self, EnosCode};
use idbridge_protocol::netid::{self, LogoutResponse, Status, StatusCode, soap};
use idbridge_protocol::unified::soap::{self as usoap, FaultCode};
use serde_json::{Value, json};

use crate::error::{Rejection, UpstreamError};
use crate::route::{Face, Op};
use crate::upstream::RawReply;

pub use idbridge_protocol::enos::CONTENT_TYPE as ENOS_JSON;
pub use idbridge_protocol::netid::rest::CONTENT_TYPE as NETID_JSON;
pub use idbridge_protocol::netid::soap::CONTENT_TYPE as SOAP_XML;
pub const JSON: &str = "application/json";

/// What an answer means, whatever its form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Ok,
    /// Not a valid session, or a refused login.
    Rejected,
    BadRequest,
    TooLarge,
    UpstreamError,
    NotFound,
}

/// A complete answer to write to the client.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
    pub kind: Kind,
}

// === impl Kind ===

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Rejected => "rejected",
            Self::BadRequest => "bad_request",
            Self::TooLarge => "too_large",
            Self::UpstreamError => "upstream_error",
            Self::NotFound => "not_found",
        }
    }
}

// === impl Reply ===

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type: content_type.to_owned(),
            body: body.into(),
            headers: Vec::new(),
            kind: Kind::Ok,
        }
    }

    pub fn json(status: u16, content_type: &str, value: &Value) -> Self {
        Self::new(status, content_type, value.to_string())
    }

    /// The backend's own answer, byte for byte.
    pub fn upstream(raw: RawReply) -> Self {
        let content_type = raw
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream");
        Self::new(raw.status, content_type, raw.body)
    }

    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }
}

/// The backend could not answer: 502/503/504/429, never anything that reads as "logged out".
pub fn upstream_error(face: Face, e: &UpstreamError) -> Reply {
    let status = e.http_status();
    let message = e.public_message();
    let reply = match face {
        Face::Enos => {
            let body = enos::failure(EnosCode::Other(i64::from(status)), message);
            Reply::json(status, ENOS_JSON, &body)
        }
        Face::NetidRest => netid_status_only(status, StatusCode::InternalError, message),
        Face::NetidSoap => Reply::new(status, SOAP_XML, soap::encode_fault("s:Server", message)),
        Face::Unified => unified_json(status, "backend_unavailable", message),
        Face::UnifiedSoap => {
            unified_fault(status, FaultCode::Server, "backend_unavailable", message)
        }
    };
    reply.with_kind(Kind::UpstreamError)
}

/// The client's request is malformed. `message` must be safe to echo (no values, only reasons).
pub fn bad_request(face: Face, message: &str) -> Reply {
    let reply = match face {
        Face::Enos => {
            let body = enos::failure(EnosCode::BadCredentials, message);
            Reply::json(400, ENOS_JSON, &body)
        }
        Face::NetidRest => netid_status_only(400, StatusCode::InvalidInput, message),
        // SOAP 1.1 carries faults on HTTP 500.
        Face::NetidSoap => Reply::new(500, SOAP_XML, soap::encode_fault("s:Client", message)),
        Face::Unified => unified_json(400, "bad_request", message),
        Face::UnifiedSoap => unified_fault(500, FaultCode::Client, "bad_request", message),
    };
    reply.with_kind(Kind::BadRequest)
}

pub fn too_large(face: Face, limit: usize) -> Reply {
    let message = format!("request body exceeds {limit} bytes");
    let reply = match face {
        Face::Enos => {
            let body = enos::failure(EnosCode::Other(413), &message);
            Reply::json(413, ENOS_JSON, &body)
        }
        Face::NetidRest => netid_status_only(413, StatusCode::InvalidInput, &message),
        Face::NetidSoap => Reply::new(413, SOAP_XML, soap::encode_fault("s:Client", &message)),
        Face::Unified => unified_json(413, "too_large", &message),
        Face::UnifiedSoap => unified_fault(413, FaultCode::Client, "too_large", &message),
    };
    reply.with_kind(Kind::TooLarge)
}

/// The session is not valid, answered as the backend itself would (HTTP 200, business error).
pub fn rejected(face: Face, op: Op, why: Rejection, count: u64) -> Reply {
    let reply = match face {
        Face::Enos => {
            let code = match why {
                Rejection::NotFound => EnosCode::NotFound,
                Rejection::Invalid | Rejection::LoggedOut => EnosCode::InvalidToken,
            };
            Reply::json(200, ENOS_JSON, &enos::failure(code, code.message()))
        }
        Face::NetidRest | Face::NetidSoap if op == Op::Logout => {
            let status = Status::new(StatusCode::InvalidSession, "The session is not logged in");
            netid_logout(
                face,
                &LogoutResponse {
                    count: Some(count),
                    status,
                },
            )
        }
        Face::NetidRest => {
            let body = netid::rest::encode_login_status(&netid::not_logged_in(count));
            Reply::new(200, NETID_JSON, body)
        }
        Face::NetidSoap => {
            let body = soap::encode_login_status(&netid::not_logged_in(count));
            Reply::new(200, SOAP_XML, body)
        }
        Face::Unified => unified_json(
            401,
            "invalid_token",
            "a valid gateway token or session is required",
        ),
        Face::UnifiedSoap => unified_fault(
            500,
            FaultCode::Client,
            "invalid_token",
            "a valid gateway token or session is required",
        ),
    };
    reply.with_kind(Kind::Rejected)
}

pub fn netid_logout(face: Face, resp: &LogoutResponse) -> Reply {
    match face {
        Face::NetidSoap => Reply::new(200, SOAP_XML, soap::encode_logout_response(resp)),
        _ => Reply::new(200, NETID_JSON, netid::rest::encode_logout_response(resp)),
    }
}

/// idbridge's own JSON error form: `{"error": {"code", "message"}}`.
pub fn gateway_error(status: u16, code: &str, message: &str) -> Reply {
    let kind = match status {
        401 | 403 => Kind::Rejected,
        404 => Kind::NotFound,
        413 => Kind::TooLarge,
        400..=499 => Kind::BadRequest,
        _ => Kind::UpstreamError,
    };
    let body = json!({ "error": { "code": code, "message": message } });
    Reply::json(status, JSON, &body).with_kind(kind)
}

fn unified_json(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        JSON,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

fn unified_fault(status: u16, code: FaultCode, error_code: &str, message: &str) -> Reply {
    Reply::new(
        status,
        usoap::CONTENT_TYPE,
        usoap::encode_fault(code, error_code, message),
    )
}

fn netid_status_only(status: u16, code: StatusCode, description: &str) -> Reply {
    let body = netid::rest::encode_status(&Status::new(code, description));
    Reply::new(status, NETID_JSON, body)
}
