//! Reading an answer: what each face says about a session, and whether that is right.
//!
//! The simulators are the only backends and this client the only one acting on them, so what
//! they hold is known exactly: a session is valid at its backend from its login until this
//! client logs it out, or until its backend's simulator is crashed (it keeps sessions in memory
//! only, so a crash loses them all; the run counts crashes per backend as epochs).

use std::fmt;

/// A backend, as an index into per-backend tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Enos = 0,
    Netid = 1,
}

/// The faces a status question can be asked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Face {
    /// EnOS `session/info` with the credential as bearer.
    Enos,
    /// Net iD REST `GetLoginStatus` with the credential as `SessionId` and a rising `Count`.
    NetidRest,
    /// The same over SOAP 1.1.
    NetidSoap,
    /// idbridge's `GET /idbridge/v1/session`.
    Unified,
    /// Forward-auth, `GET /idbridge/v1/auth`.
    ForwardAuth,
}

pub const FACES: [Face; 5] = [
    Face::Enos,
    Face::NetidRest,
    Face::NetidSoap,
    Face::Unified,
    Face::ForwardAuth,
];

/// What an answer says about the session it was asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Valid,
    LoggedOut,
    /// Neither: an error of the named class (`http 502`, `InvalidCount`, `transport timeout`, …).
    Error(String),
}

/// How one request went, as the report counts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The right answer.
    Ok,
    /// "Logged out" for a session its backend lost in a crash: right.
    Lost,
    /// "Logged out" for a session valid at its backend: the failure this run exists to find.
    WronglyLoggedOut,
    /// "Valid" on the replica that just logged the session out.
    WronglyValid,
    /// A hostile request answered with a server error or a wrong status.
    HostileMishandled(String),
    Error(String),
}

impl Outcome {
    /// The outcomes that count against recovery: everything but a right answer.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Self::Ok | Self::Lost)
    }

    pub fn class(&self) -> String {
        match self {
            Self::Ok => "ok".into(),
            Self::Lost => "lost with its backend".into(),
            Self::WronglyLoggedOut => "WRONGLY LOGGED OUT".into(),
            Self::WronglyValid => "WRONGLY VALID".into(),
            Self::HostileMishandled(c) => format!("HOSTILE MISHANDLED {c}"),
            Self::Error(c) => c.clone(),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.class())
    }
}

/// Judges a status answer about a session that was valid at its backend when the request was
/// sent (`lost`: its backend crashed since its login, or while the request was in flight).
pub fn judge(answer: &Answer, lost: bool) -> Outcome {
    match answer {
        Answer::Valid => Outcome::Ok,
        Answer::LoggedOut if lost => Outcome::Lost,
        Answer::LoggedOut => Outcome::WronglyLoggedOut,
        Answer::Error(class) => Outcome::Error(class.clone()),
    }
}

/// Reads a status answer of `face` (HTTP status and body).
pub fn read(face: Face, status: u16, body: &[u8]) -> Answer {
    match face {
        Face::Enos => read_enos(status, body),
        Face::NetidRest => read_netid_rest(status, body),
        Face::NetidSoap => read_netid_soap(status, body),
        Face::Unified | Face::ForwardAuth => match status {
            200 => Answer::Valid,
            401 => Answer::LoggedOut,
            other => Answer::Error(format!("http {other}")),
        },
    }
}

/// EnOS envelopes: `status` 0 is a session; 30401 (logged out) and 30404 (unknown, as a session
/// is to a restarted simulator) are none; anything else is an error, named by the HTTP status
/// and the code.
pub fn read_enos(status: u16, body: &[u8]) -> Answer {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Answer::Error(format!("http {status}, not JSON"));
    };
    match v["status"].as_i64() {
        Some(0) if status == 200 => Answer::Valid,
        Some(30401 | 30404) => Answer::LoggedOut,
        Some(code) => Answer::Error(format!("http {status}, enos {code}")),
        None => Answer::Error(format!("http {status}, no envelope")),
    }
}

fn read_netid_rest(status: u16, body: &[u8]) -> Answer {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Answer::Error(format!("http {status}, not JSON"));
    };
    let code = v["Status"]["Code"].as_str().unwrap_or("");
    netid_answer(status, v["IsLoggedIn"].as_str(), code)
}

fn read_netid_soap(status: u16, body: &[u8]) -> Answer {
    let xml = String::from_utf8_lossy(body);
    if xml.contains("Fault>") {
        return Answer::Error(format!("http {status}, soap fault"));
    }
    let text = |name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open)? + open.len();
        let len = xml[start..].find('<')?;
        Some(xml[start..start + len].to_owned())
    };
    netid_answer(
        status,
        text("IsLoggedIn").as_deref(),
        text("Code").as_deref().unwrap_or(""),
    )
}

fn netid_answer(status: u16, logged_in: Option<&str>, code: &str) -> Answer {
    match (status, logged_in, code) {
        (200, Some("True"), "Success") => Answer::Valid,
        (200, _, "InvalidSession") | (200, Some("False"), _) => Answer::LoggedOut,
        (_, _, "") => Answer::Error(format!("http {status}")),
        (_, _, code) => Answer::Error(format!("http {status}, netid {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_reads_valid_logged_out_and_errors() {
        let enos_ok = br#"{"status":0,"success":true,"session":{}}"#;
        assert_eq!(read(Face::Enos, 200, enos_ok), Answer::Valid);
        for code in [30401, 30404] {
            let body = format!(r#"{{"status":{code},"success":false}}"#);
            assert_eq!(read(Face::Enos, 200, body.as_bytes()), Answer::LoggedOut);
        }
        assert_eq!(
            read(Face::Enos, 503, br#"{"status":503}"#),
            Answer::Error("http 503, enos 503".into())
        );
        let rest = br#"{"IsLoggedIn":"True","Status":{"Code":"Success"}}"#;
        assert_eq!(read(Face::NetidRest, 200, rest), Answer::Valid);
        let gone = br#"{"IsLoggedIn":"False","Status":{"Code":"InvalidSession"}}"#;
        assert_eq!(read(Face::NetidRest, 200, gone), Answer::LoggedOut);
        let replayed = br#"{"Status":{"Code":"InvalidCount"}}"#;
        assert_eq!(
            read(Face::NetidRest, 200, replayed),
            Answer::Error("http 200, netid InvalidCount".into())
        );
        let soap = b"<s:Envelope><s:Body><GetLoginStatusResponse><GetLoginStatusResult>\
            <IsLoggedIn>True</IsLoggedIn><Status><Code>Success</Code></Status>\
            </GetLoginStatusResult></GetLoginStatusResponse></s:Body></s:Envelope>";
        assert_eq!(read(Face::NetidSoap, 200, soap), Answer::Valid);
        let fault = b"<s:Envelope><s:Body><s:Fault><faultcode>s:Server</faultcode></s:Fault></s:Body></s:Envelope>";
        assert_eq!(
            read(Face::NetidSoap, 500, fault),
            Answer::Error("http 500, soap fault".into())
        );
        assert_eq!(read(Face::Unified, 401, b""), Answer::LoggedOut);
        assert_eq!(read(Face::ForwardAuth, 200, b""), Answer::Valid);
    }

    #[test]
    fn logged_out_is_wrong_unless_the_backend_lost_the_session() {
        assert_eq!(judge(&Answer::LoggedOut, false), Outcome::WronglyLoggedOut);
        assert_eq!(judge(&Answer::LoggedOut, true), Outcome::Lost);
        assert_eq!(judge(&Answer::Valid, true), Outcome::Ok);
        assert!(!Outcome::Lost.is_failure());
        assert!(Outcome::Error("x".into()).is_failure());
    }
}
