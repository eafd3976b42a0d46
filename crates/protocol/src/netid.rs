//! Pointsharp Net iD Portal: the typed messages (Login, GetLoginStatus, Logout), their REST/JSON
//! ([`rest`]) and SOAP 1.1 ([`soap`]) bindings, and the mapping of GetLoginStatus to and from the
//! normalised [`Session`](idbridge_session::Session).
//!
//! Both bindings share one model and one field order, so a message decoded from one binding can
//! be written in the other. Login takes two steps, the second proving the
//! certificate's private key ([`proof`], whose cryptography is the project's assumption); a call
//! with a `Blob` is encrypted and is only ever passed through.

mod datetime;
mod decode;
mod mapping;
mod model;
mod out;
pub mod proof;
pub mod rest;
pub mod soap;
mod template;

pub use datetime::{format_login_time, parse_login_time};
pub use mapping::{
    ADMIN_USAGE, EXTRA_IMAGE_ID, EXTRA_TASK_COUNTER, login_status_from_session, not_logged_in,
    refused, session_from_login_status,
};
pub(crate) use mapping::{
    organizations_from_json, organizations_to_json, usages_from_json, usages_to_json,
};
pub use model::{
    ActivityObj, ClientInfo, LoginAnswer, LoginRequest, LoginResponse, LoginStatus, LoginStep,
    LogoutRequest, LogoutResponse, OrgItem, Role, Status, StatusCode, StatusRequest, UsageItem,
};
pub use template::{StatusParts, fill_status, status_template};
