//! EnOS IAM (`enos-iam-service` v2.0): the Log In request, the flat response envelope, the Session
//! struct, and its mapping to and from the normalised [`Session`](idbridge_session::Session).
//!
//! The key sets follow the vendor samples (`tests/data/enos-*.json`) and the project's wire
//! decisions: every response carries the seven envelope keys; a failure is HTTP 200 with a
//! non-zero `status` and no payload key. Decoders are loose where the backend is known to be
//! (numbers as floats or strings, snake_case user keys); renderers are exact.

mod auth;
mod code;
mod envelope;
mod login;
mod render;
mod session;
mod write;

pub use auth::{is_session_id, parse_authorization};
pub use code::EnosCode;
pub use envelope::{
    EnosReply, decode_response, failure, login_response, logout_response, session_info_response,
};
pub use login::{AuthType, Credentials, LoginRequest};
pub use render::session_json;
pub use session::session_from_enos;
pub use write::{JavaNumbers, java_double, to_vec};

/// `Content-Type` of every EnOS IAM request and response.
pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Prefix of the session extras that carry EnOS Session struct keys without a typed field.
pub const SESSION_EXTRA_PREFIX: &str = "enos.session.";
/// Prefix of the session extras that carry EnOS User struct keys without a typed field.
pub const USER_EXTRA_PREFIX: &str = "enos.user.";
