//! What the gateway refuses before a face or a backend sees the request: a path the router
//! would not route, a request head over `limits.max_header_bytes`, and errors outside any face
//! — each answered in the protocol of the path it came on.

use pingora::http::RequestHeader;

use crate::error::GatewayError;
use crate::face::unified::json_error;
use crate::reply::Reply;
use crate::router::{Refusal, Target};
use crate::runtime::{Runtime, UNIFIED};

/// What the router refused, in the protocol of the face the caller was aiming at.
pub(super) fn refused(rt: &Runtime, face: Option<usize>, why: Refusal) -> Reply {
    let e = match why {
        Refusal::Path(problem) => GatewayError::BadPath(problem),
        Refusal::Method { allowed } => GatewayError::MethodNotAllowed(allowed),
    };
    let reply = match face {
        Some(f) => rt.face(f).error(&e, None).with_outcome(e.outcome()),
        None => gateway_error(&e),
    };
    match why {
        Refusal::Method { allowed } => reply.with_header("allow", allowed.allow_header()),
        Refusal::Path(_) => reply,
    }
}

/// The size of a request head as the client sent it, near enough: the request line and each
/// header line with its CRLF.
pub(super) fn head_bytes(req: &RequestHeader) -> usize {
    let line = req.method.as_str().len() + req.raw_path().len() + 12;
    req.headers.iter().fold(line, |n, (name, value)| {
        n + name.as_str().len() + value.len() + 4
    })
}

/// 431 for a head over `limits.max_header_bytes`, in the protocol of the path it came on.
pub(super) fn refused_head(rt: &Runtime, target: Target, limit: usize) -> Reply {
    let e = GatewayError::HeadersTooLarge { limit };
    let face = match target {
        Target::Face { face, .. } | Target::Proxy { face, .. } => Some(face),
        Target::Refused { face, .. } => face,
        Target::App(_) => Some(UNIFIED),
        Target::Document(_) | Target::NotFound => None,
    };
    match face {
        Some(f) => rt.face(f).error(&e, None).with_outcome(e.outcome()),
        None => gateway_error(&e),
    }
}

/// An error outside any face (no route, a failed app), in the unified JSON form.
pub(super) fn gateway_error(e: &GatewayError) -> Reply {
    json_error(e.http_status(), e.code(), &e.public_message()).with_outcome(e.outcome())
}
