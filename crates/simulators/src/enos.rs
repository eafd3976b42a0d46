//! The EnOS IAM simulator (`/enos-iam-service/v2.0/`).
//!
//! Operations (all `POST`):
//! - `login` (documented): body per the Log In page. authType 0 looks the principal up among the
//!   EnOS accounts; authType 1 needs `linkName` to name an LDAP link (else 30404) and the account
//!   to be an LDAP account of that link. `expireInterval` is clamped to 900..=864000 s (default
//!   7200). Errors: 30400 wrong principal/password, malformed body, missing fields; 30410 password
//!   expired; 30511 disabled; 30429 when the account or the client IP (`clientIp`, else the peer
//!   address) has 5 failed logins within 15 minutes (assumed numbers): from the 6th attempt on,
//!   even the right password is refused until the window has passed.
//! - `session/info` (documented): `Authorization: Bearer <id>` or the bare id. Missing, empty or
//!   not of the session-id form (`IAM_S_` + 128 alphanumerics) → 30401; logged out → 30401 (a revoked
//!   token); unknown or expired → 30404.
//!   Refreshes the session (sliding: valid until `refreshTime + expires`).
//! - `logout` (assumed endpoint): same `Authorization` rules; ends the session; bare envelope.
//! - `organization/info` (documented endpoint, assumed details): a valid session (30401/30404, not
//!   refreshed) and body `{"id": orgId}` (else 30400); unknown organisation → 30404.
//!
//! Every answer is `application/json;charset=UTF-8` with the seven envelope keys; business errors
//! are HTTP 200 (assumed). Unknown paths are HTTP 404 (envelope status 404), a known path with
//! another method HTTP 405 (status 405), a body over 1 MiB HTTP 413 (status 413).
//!
//! Request counters: `enos.login`, `enos.session_info`, `enos.logout`, `enos.organization_info`,
//! `enos.other` (everything else).

mod login;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::SimOptions;
use crate::body::{self, BodyError};
use crate::control::Control;
use state::EnosState;

const PREFIX: &str = "/enos-iam-service/v2.0/";
const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Every counter the EnOS simulator keeps.
pub(crate) const STATS: &[&str] = &[
    "enos.login",
    "enos.session_info",
    "enos.logout",
    "enos.organization_info",
    "enos.other",
];

/// Where a request goes; a pure function of method and path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Login,
    SessionInfo,
    Logout,
    OrganizationInfo,
    WrongMethod,
    Unknown,
}

/// An EnOS error answer: the envelope's `status` code and `message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    BadCredentials,
    BadRequest,
    InvalidToken,
    LinkNotFound,
    SessionNotFound,
    OrganizationNotFound,
    PasswordExpired,
    TooManyFailures,
    Disabled,
}

/// The payload keys of a success answer, beside the envelope.
pub(crate) type Payload = Vec<(&'static str, Value)>;

struct EnosSim {
    control: Arc<Control>,
    state: EnosState,
}

// === impl Route ===

impl Route {
    fn of(method: &Method, path: &str) -> Route {
        let route = match path.strip_prefix(PREFIX) {
            Some("login") => Route::Login,
            Some("session/info") => Route::SessionInfo,
            Some("logout") => Route::Logout,
            Some("organization/info") => Route::OrganizationInfo,
            _ => return Route::Unknown,
        };
        if method == Method::POST {
            route
        } else {
            Route::WrongMethod
        }
    }

    fn stat(self) -> &'static str {
        match self {
            Route::Login => "enos.login",
            Route::SessionInfo => "enos.session_info",
            Route::Logout => "enos.logout",
            Route::OrganizationInfo => "enos.organization_info",
            Route::WrongMethod | Route::Unknown => "enos.other",
        }
    }
}

// === impl Failure ===

impl Failure {
    pub(crate) fn code(self) -> u32 {
        match self {
            Failure::BadCredentials | Failure::BadRequest => 30400,
            Failure::InvalidToken => 30401,
            Failure::LinkNotFound | Failure::SessionNotFound | Failure::OrganizationNotFound => {
                30404
            }
            Failure::PasswordExpired => 30410,
            Failure::TooManyFailures => 30429,
            Failure::Disabled => 30511,
        }
    }

    /// The vendor's wording where the docs give one.
    fn message(self) -> &'static str {
        match self {
            Failure::BadCredentials => "The user account or password is not correct.",
            Failure::BadRequest => "The request is not valid.",
            Failure::InvalidToken => "The provided bearer token is not valid.",
            Failure::LinkNotFound => "The LDAP connection does not exist.",
            Failure::SessionNotFound => "The session information is not found.",
            Failure::OrganizationNotFound => "The organization is not found.",
            Failure::PasswordExpired => "The password has expired.",
            Failure::TooManyFailures => {
                "The login failure times of the IP or account has reached the limit. Please try again later."
            }
            Failure::Disabled => "The user account is disabled.",
        }
    }
}

/// The EnOS simulator's routes (without the `/__sim` control routes).
pub(crate) fn router(control: Arc<Control>, opts: &SimOptions) -> Router {
    let sim = EnosSim {
        control,
        state: EnosState::new(
            opts.directory.enos.clone(),
            opts.clock.clone(),
            opts.enos_lockout_failures,
        ),
    };
    Router::new().fallback(handle).with_state(Arc::new(sim))
}

async fn handle(
    State(sim): State<Arc<EnosSim>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let route = Route::of(&parts.method, parts.uri.path());
    if let Some(injected) = sim.control.admit(&[route.stat()]).await {
        return injected;
    }
    let auth = parts.headers.get(header::AUTHORIZATION);
    let result = match route {
        Route::Login | Route::OrganizationInfo => match body::read(body).await {
            Ok(bytes) if route == Route::Login => sim.state.login(&bytes, peer.ip()),
            Ok(bytes) => sim.state.organization_info(auth, &bytes),
            Err(BodyError::TooLarge) => {
                return http_error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.");
            }
            Err(BodyError::Broken) => Err(Failure::BadRequest),
        },
        Route::SessionInfo => sim.state.session_info(auth),
        Route::Logout => sim.state.logout(auth),
        Route::WrongMethod => return http_error(StatusCode::METHOD_NOT_ALLOWED, "Use POST."),
        Route::Unknown => return http_error(StatusCode::NOT_FOUND, "Not Found."),
    };
    if let Err(failure) = result {
        tracing::debug!(
            op = route.stat(),
            code = failure.code(),
            "enos request refused"
        );
    }
    envelope(StatusCode::OK, result.map_err(|f| (f.code(), f.message())))
}

/// The seven-key envelope, plus the payload keys on success, in the vendor samples' order
/// (`fail`, the payload, `success`, `requestId`, `failed`, `message`, `status`, `successful`),
/// written as EnOS (a Java service) writes JSON: `1.601192046E12`, not `1601192046000.0`.
fn envelope(status: StatusCode, result: Result<Payload, (u32, &str)>) -> Response {
    let failed = result.is_err();
    let (code, message, payload) = match result {
        Ok(payload) => (0, "", payload),
        Err((code, message)) => (code, message, Vec::new()),
    };
    let mut body = Map::new();
    body.insert("fail".into(), Value::Bool(failed));
    for (key, value) in payload {
        body.insert(key.into(), value);
    }
    body.insert("success".into(), Value::Bool(!failed));
    body.insert("requestId".into(), Value::Null);
    body.insert("failed".into(), Value::Bool(failed));
    body.insert("message".into(), Value::from(message));
    body.insert("status".into(), Value::from(code));
    body.insert("successful".into(), Value::Bool(!failed));
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        idbridge_protocol::enos::to_vec(&Value::Object(body)),
    )
        .into_response()
}

/// An HTTP-level error (not a business one) in envelope form, `status` mirroring the HTTP code.
fn http_error(status: StatusCode, message: &str) -> Response {
    envelope(status, Err((u32::from(status.as_u16()), message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        let post = Method::POST;
        assert_eq!(
            Route::of(&post, "/enos-iam-service/v2.0/login"),
            Route::Login
        );
        assert_eq!(
            Route::of(&post, "/enos-iam-service/v2.0/session/info"),
            Route::SessionInfo
        );
        assert_eq!(
            Route::of(&post, "/enos-iam-service/v2.0/logout"),
            Route::Logout
        );
        assert_eq!(
            Route::of(&post, "/enos-iam-service/v2.0/organization/info"),
            Route::OrganizationInfo
        );
        assert_eq!(
            Route::of(&Method::GET, "/enos-iam-service/v2.0/login"),
            Route::WrongMethod
        );
        assert_eq!(
            Route::of(&post, "/enos-iam-service/v2.0/nope"),
            Route::Unknown
        );
        assert_eq!(Route::of(&post, "/login"), Route::Unknown);
        for r in [Route::Login, Route::WrongMethod, Route::Unknown] {
            assert!(STATS.contains(&r.stat()));
        }
    }
}
