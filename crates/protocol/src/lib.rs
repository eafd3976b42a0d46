//! idbridge-protocol owns the wire codecs of idbridge: EnOS IAM JSON ([`enos`]) and Net iD
//! Portal REST/JSON and SOAP 1.1 ([`netid`]), and the mappings between each protocol and the
//! normalised [`Session`](idbridge_session::Session).
//!
//! The gateway uses it to decode intercepted client requests, to turn upstream responses into
//! sessions or typed backend errors, and to render one session in whichever protocol a caller
//! speaks. Everything here is pure: no I/O, no clock (the current time is a parameter).
//!
//! Every decoder takes the raw body and a [`Limits`], checks the size before parsing, bounds
//! nesting, and returns a [`DecodeError`] on any input, however hostile; none panics. Error
//! messages never quote a value from the input, so they are safe to return to the client.

mod error;
mod json;
mod limits;

pub mod enos;
pub mod netid;
pub mod unified;

pub use error::DecodeError;
pub use limits::Limits;
