//! idbridge-session owns the normalised identity session: the one model every backend's answer is
//! turned into, and every protocol face renders from.
//!
//! It is pure data and pure functions. Nothing here reads a clock, a socket or a file: the current
//! time is always a parameter, so expiry rules are testable to the second.
//!
//! The backend session id is a secret (whoever holds it is the user). [`SessionId`] keeps it out of
//! `Debug` and `Display` so that a stray `?session` in a log line cannot leak it; code that really
//! needs the value calls [`SessionId::expose`].

mod extra;
mod id;
mod model;
mod time;

pub use extra::{Extra, ExtraValue};
pub use id::SessionId;
pub use model::{
    Activity, AuthMethod, Backend, BackendNameError, Organization, Session, Subject, SubjectKind,
    Usage,
};
pub use time::UnixTime;
