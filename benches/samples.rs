//! The vendors' samples (`crates/protocol/tests/data/`) as the benchmarks use them: raw bytes, and
//! sessions decoded from them exactly as the gateway decodes a backend's answer. Shared by the
//! criterion benches (`micro/`) and the load harness's memory measurement (`load/`).

pub mod kernel;
pub mod procs;

use idbridge_protocol::enos::{self, EnosReply};
use idbridge_protocol::{DecodeError, Limits, netid};
use idbridge_session::{Session, SessionId, UnixTime};

/// An EnOS session/info answer.
pub const ENOS_INFO: &[u8] =
    include_bytes!("../crates/protocol/tests/data/enos-session-info-response.json");
/// A Net iD GetLoginStatus request over SOAP (its `SessionId` is empty).
pub const NETID_STATUS_REQUEST_XML: &str =
    include_str!("../crates/protocol/tests/data/netid-getloginstatus-request.xml");
/// A Net iD GetLoginStatus answer over REST, and over SOAP.
pub const NETID_STATUS_JSON: &[u8] =
    include_bytes!("../crates/protocol/tests/data/netid-getloginstatus-response.json");
pub const NETID_STATUS_XML: &[u8] =
    include_bytes!("../crates/protocol/tests/data/netid-getloginstatus-response.xml");

/// A minute after the EnOS sample's refresh time: its session is live.
pub const NOW: UnixTime = UnixTime::from_secs(1_562_850_112);

/// An EnOS answer decoded and normalised, as a cache miss does it.
pub fn decode_enos(body: &[u8], limits: &Limits, now: UnixTime) -> Result<Session, DecodeError> {
    match enos::decode_response(body, limits)? {
        EnosReply::Success(payload) => {
            let session = payload
                .get("session")
                .ok_or(DecodeError::MissingField("session"))?;
            enos::session_from_enos(session, now)
        }
        EnosReply::Failure { .. } => Err(DecodeError::MissingField("success")),
    }
}

/// The EnOS sample's session under another id.
pub fn enos_session(id: &str, now: UnixTime) -> Result<Session, DecodeError> {
    let mut session = decode_enos(ENOS_INFO, &Limits::default(), now)?;
    session.id = SessionId::new(id);
    Ok(session)
}

/// The Net iD sample's session under `id` (the sample answer carries none).
pub fn netid_session(id: &str, now: UnixTime) -> Result<Session, DecodeError> {
    let status = netid::rest::decode_login_status(NETID_STATUS_JSON, &Limits::default())?;
    netid::session_from_login_status(&status, SessionId::new(id), now)
}

/// An EnOS id of the backend's form: `IAM_S_` and 128 alphanumerics.
pub fn enos_id(i: u64) -> String {
    format!("IAM_S_{i:0>128}")
}

/// A Net iD id of the portal's length: 44 characters, like its base64 session ids.
pub fn netid_id(i: u64) -> String {
    format!("{i:0>43}=")
}
