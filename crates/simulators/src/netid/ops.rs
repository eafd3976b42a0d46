//! The Net iD operations and the session state they share, independent of SOAP or REST.
//!
//! Rules (assumed, unless the vendor GetLoginStatus page says otherwise):
//! - Login takes two steps (documented); the cryptography is assumed, as written in the
//!   protocol crate's `netid::proof` and implemented here on its own so each checks the other.
//!   Step 1 (`Certificate`, `DateTime`, `Role`) opens a session that is *not* logged in and
//!   answers the 32-byte server nonce sealed with RSA-OAEP-SHA-256 to the certificate's key.
//!   Step 2 (`SessionId`, `Value`) must answer base64(HMAC-SHA-256(nonce, SessionId)) within
//!   [`LOGIN_WINDOW_SECS`]; only then is the session logged in. A wrong answer ends the session
//!   (`AccessDenied`). Until step 2, every other call treats the session as unknown. The session's
//!   last accepted `Count` starts at 0.
//! - Every later call names the session and a `Count` strictly greater than the last accepted one;
//!   a repeated or lower one gets `InvalidCount` and changes nothing. An accepted call refreshes
//!   the idle timer, so `IdleExpiration` in an answer is always the full idle timeout.
//! - A session with no accepted call for the idle timeout is logged out (`InvalidSession`).
//! - Encrypted calls (a `Blob` input) get `InvalidInput`: the simulator speaks plaintext only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use rand::Rng as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Oaep, RsaPublicKey};
use sha2::Sha256;
use time::format_description::well_known::Iso8601;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::Clock;
use crate::directory::{Activity, NetIdDirectory, NetIdUser};
use crate::netid::cert::Subject;
use crate::netid::message::{Code, Fields, Inputs, Node, Op};

/// Application name and version GetObject(ApplicationInfo) answers with.
const APPLICATION_NAME: &str = "Pointsharp Net iD Portal (idbridge simulator)";
const APPLICATION_VERSION: &str = concat!("simulator-", env!("CARGO_PKG_VERSION"));
/// The GUI's local idle time GetObject(ApplicationInfo) advertises, seconds (assumed value).
const CACHE_EXPIRATION_SECS: u64 = 900;

/// How long step 1's session waits for its step 2.
pub(crate) const LOGIN_WINDOW_SECS: u64 = 60;

/// Sessions are swept of idle ones when a login finds more than this many.
const SWEEP_ABOVE: usize = 1024;

/// The Net iD simulator's state: the directory, the clock and the live sessions.
#[derive(Debug)]
pub(crate) struct NetIdState {
    directory: Arc<NetIdDirectory>,
    clock: Clock,
    idle_timeout_secs: u64,
    sessions: Mutex<HashMap<String, Session>>,
    /// When this portal started: GetObject(ApplicationInfo)'s `Updated`.
    started_secs: u64,
}

#[derive(Debug)]
struct Session {
    /// Index into the directory's users.
    user: usize,
    login_secs: u64,
    last_active_secs: u64,
    last_count: u64,
    /// Step 1's nonce while the session waits for step 2; `None` once logged in.
    pending: Option<[u8; 32]>,
}

// === impl NetIdState ===

impl NetIdState {
    pub(crate) fn new(directory: NetIdDirectory, clock: Clock, idle_timeout: Duration) -> Self {
        let started_secs = clock.now_secs();
        Self {
            directory: Arc::new(directory),
            clock,
            idle_timeout_secs: idle_timeout.as_secs(),
            sessions: Mutex::new(HashMap::new()),
            started_secs,
        }
    }

    /// Runs one call; the result is the call's output fields, `Status` last.
    pub(crate) fn execute(&self, op: Op, inputs: &Inputs) -> Fields {
        if inputs.has("Blob") {
            return invalid_input("encrypted calls are not supported by the simulator");
        }
        match op {
            Op::Login => self.login(inputs),
            Op::GetLoginStatus => self.get_login_status(inputs),
            Op::Logout => self.logout(inputs),
            Op::GetObject => self.get_object(inputs),
        }
    }

    fn login(&self, inputs: &Inputs) -> Fields {
        if inputs.has("SessionId") {
            return self.login_answer(inputs);
        }
        let Some(certificate) = inputs.text("Certificate").filter(|c| !c.trim().is_empty()) else {
            return invalid_input("Certificate is required");
        };
        match inputs.text("DateTime").map(str::trim) {
            None | Some("") => return invalid_input("DateTime is required"),
            Some(dt) if !is_iso8601(dt) => return invalid_input("DateTime is not ISO 8601"),
            Some(_) => {}
        }
        match inputs.text("Role").map(str::trim) {
            None | Some("" | "Self" | "Officer") => {}
            Some(_) => return invalid_input("Role must be Self or Officer"),
        }
        let subject = match Subject::from_text(certificate) {
            Ok(subject) => subject,
            Err(e) => return invalid_input(&e.to_string()),
        };
        let now = self.clock.now_secs();
        if !subject.valid_at(now) {
            return access_denied("the certificate is not valid at this time");
        }
        let user = (subject.cn.as_deref())
            .and_then(|cn| self.directory.user_index(cn, subject.o.as_deref()));
        let Some(user) = user else {
            return access_denied("the certificate's subject is not a known user");
        };
        let (session_id, nonce) = {
            let mut rng = rand::rng();
            (
                STANDARD.encode(rng.random::<[u8; 20]>()),
                rng.random::<[u8; 32]>(),
            )
        };
        let Some(value) = seal(&subject.spki, &nonce) else {
            return invalid_input("the certificate's key is not an RSA key");
        };
        let mut sessions = self.lock();
        if sessions.len() > SWEEP_ABOVE {
            sessions.retain(|_, s| !self.is_idle(s, now));
        }
        sessions.insert(
            session_id.clone(),
            Session {
                user,
                login_secs: now,
                last_active_secs: now,
                last_count: 0,
                pending: Some(nonce),
            },
        );
        vec![
            ("SessionId", Node::Text(session_id)),
            (
                "Certificate",
                Node::text(self.directory.server_certificate.trim()),
            ),
            ("Value", Node::Text(value)),
            Code::Success.status("Success"),
        ]
    }

    /// Step 2: the answer to step 1's nonce logs the session in, or ends it.
    fn login_answer(&self, inputs: &Inputs) -> Fields {
        let Some(id) = inputs
            .text("SessionId")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return invalid_input("SessionId is required");
        };
        let Some(value) = inputs
            .text("Value")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return invalid_input("Value is required");
        };
        let now = self.clock.now_secs();
        let mut sessions = self.lock();
        let Some(session) = sessions.get_mut(id) else {
            return vec![Code::InvalidSession.status("no login is waiting for this SessionId")];
        };
        let Some(nonce) = session.pending else {
            return vec![Code::InvalidSession.status("this session is already logged in")];
        };
        if self.is_idle(session, now) {
            sessions.remove(id);
            return vec![Code::InvalidSession.status("step 2 came after the login window")];
        }
        if !answers(&nonce, id, value) {
            sessions.remove(id);
            return access_denied("the answer does not prove the certificate's private key");
        }
        session.pending = None;
        session.login_secs = now;
        session.last_active_secs = now;
        if let Some(u) = self.directory.users.get(session.user) {
            tracing::info!(user = %u.name, "netid login");
        }
        vec![
            ("SessionId", Node::text(id)),
            Code::Success.status("Success"),
        ]
    }

    fn get_login_status(&self, inputs: &Inputs) -> Fields {
        let mut sessions = self.lock();
        let (count, session) = match self.accept(&mut sessions, inputs, true) {
            Ok(ok) => ok,
            Err(refused) => return refused,
        };
        let Some(user) = self.directory.users.get(session.user) else {
            return vec![Code::InvalidSession.status("the session's user is gone")];
        };
        let mut fields = vec![
            ("Count", Node::Text(count)),
            ("Id", Node::text(&user.id)),
            ("ImageId", Node::text(&user.image_id)),
            ("Name", Node::text(&user.name)),
            ("OrganizationName", Node::text(&user.organization_name)),
            ("IsLoggedIn", Node::text("True")),
            (
                "IdleExpiration",
                Node::Text(self.idle_timeout_secs.to_string()),
            ),
            (
                "DateTime",
                Node::Text(format_login_time(session.login_secs)),
            ),
            ("TaskCounter", Node::Text(user.task_counter.to_string())),
        ];
        fields.extend(user_lists(user));
        fields.push(Code::Success.status("Success"));
        fields
    }

    fn logout(&self, inputs: &Inputs) -> Fields {
        let mut sessions = self.lock();
        let count = match self.accept(&mut sessions, inputs, false) {
            Ok((count, _)) => count,
            Err(refused) => return refused,
        };
        if let Some(id) = inputs.text("SessionId") {
            sessions.remove(id.trim());
        }
        vec![
            ("Count", Node::Text(count)),
            Code::Success.status("Success"),
        ]
    }

    /// Checks the `SessionId`/`Count` pair and, when accepted, records the count and refreshes the
    /// idle timer. `Err` holds the refusal to answer with.
    fn accept<'s>(
        &self,
        sessions: &'s mut HashMap<String, Session>,
        inputs: &Inputs,
        with_logged_in: bool,
    ) -> Result<(String, &'s Session), Fields> {
        let Some(id) = inputs
            .text("SessionId")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return Err(invalid_input("SessionId is required"));
        };
        let Some(raw_count) = inputs.text("Count").map(str::trim) else {
            return Err(invalid_input("Count is required"));
        };
        let Ok(count) = raw_count.parse::<u64>() else {
            return Err(invalid_input("Count must be a non-negative integer"));
        };
        let echo = || ("Count", Node::text(raw_count));
        let now = self.clock.now_secs();
        if sessions.get(id).is_some_and(|s| self.is_idle(s, now)) {
            sessions.remove(id);
        }
        let Some(session) = sessions.get_mut(id).filter(|s| s.pending.is_none()) else {
            let mut refused = vec![echo()];
            if with_logged_in {
                refused.push(("IsLoggedIn", Node::text("False")));
            }
            refused
                .push(Code::InvalidSession.status("the session is unknown, logged out or expired"));
            return Err(refused);
        };
        if count <= session.last_count {
            return Err(vec![
                echo(),
                Code::InvalidCount.status("Count must be greater than the last accepted Count"),
            ]);
        }
        session.last_count = count;
        session.last_active_secs = now;
        Ok((raw_count.to_owned(), session))
    }

    fn is_idle(&self, session: &Session, now: u64) -> bool {
        let timeout = match session.pending {
            Some(_) => LOGIN_WINDOW_SECS,
            None => self.idle_timeout_secs,
        };
        now >= session.last_active_secs.saturating_add(timeout)
    }

    /// Session state is plain data; a panic elsewhere leaves it usable (see `Faults::lock`).
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl NetIdState {
    /// GetObject: only `ApplicationInfo`, the documented unencrypted first call, which needs no
    /// session. Its fields are the vendor's "GetObject object types" page's, in its order; the
    /// object is wrapped in an element named after its type, as the vendor's GetObject sample
    /// wraps `User`. `SecurityMode` names the (documented) encryption every later call uses.
    fn get_object(&self, inputs: &Inputs) -> Fields {
        match inputs.text("Type").map(str::trim) {
            Some("ApplicationInfo") => {
                let security = vec![
                    ("IsEnabled", Node::text("True")),
                    ("EncryptionAlgorithm", Node::text("AES")),
                    ("EncryptionLength", Node::text("256")),
                    ("CompressionAlgorithm", Node::text("GZ")),
                    ("HashAlgorithm", Node::text("SHA256-HMAC")),
                ];
                let info = vec![
                    ("Name", Node::text(APPLICATION_NAME)),
                    ("Version", Node::text(APPLICATION_VERSION)),
                    (
                        "Copyright",
                        Node::text("Demo data; not a Pointsharp product"),
                    ),
                    ("Updated", Node::Text(iso8601(self.started_secs))),
                    (
                        "CacheExpiration",
                        Node::Text(CACHE_EXPIRATION_SECS.to_string()),
                    ),
                    ("SystemMessage", Node::text("")),
                    (
                        "AllowedCertificateList",
                        Node::List {
                            item: "ListObj",
                            items: Vec::new(),
                        },
                    ),
                    ("SecurityMode", Node::Object(security)),
                ];
                vec![
                    ("ApplicationInfo", Node::Object(info)),
                    Code::Success.status("Success"),
                ]
            }
            Some(_) => invalid_input("the simulator only serves Type ApplicationInfo"),
            None => invalid_input("Type is required"),
        }
    }
}

/// ISO 8601 (UTC, seconds) for `Updated`.
fn iso8601(epoch_secs: u64) -> String {
    i64::try_from(epoch_secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// GetLoginStatus's `UsageList` and `OrganizationList`, from the directory.
fn user_lists(user: &NetIdUser) -> [(&'static str, Node); 2] {
    let usages = user
        .usage_list
        .iter()
        .map(|u| {
            let mut item = vec![("PresentationInfo", Node::text(&u.presentation_info))];
            item.extend(activities(u.activity_list.as_deref()));
            item
        })
        .collect();
    let organizations = user
        .organization_list
        .iter()
        .map(|o| {
            let mut item = vec![
                ("Id", Node::text(&o.id)),
                ("PresentationInfo", Node::text(&o.presentation_info)),
            ];
            if let Some(info) = &o.additional_info {
                item.push(("AdditionalInfo", Node::text(info)));
            }
            item.extend(activities(o.activity_list.as_deref()));
            item
        })
        .collect();
    [
        (
            "UsageList",
            Node::List {
                item: "ListObj",
                items: usages,
            },
        ),
        (
            "OrganizationList",
            Node::List {
                item: "ListObj",
                items: organizations,
            },
        ),
    ]
}

fn activities(list: Option<&[Activity]>) -> Option<(&'static str, Node)> {
    let items = list?
        .iter()
        .map(|a| {
            vec![
                ("Method", Node::text(&a.method)),
                ("Type", Node::text(&a.kind)),
                ("Id", Node::text(&a.id)),
            ]
        })
        .collect();
    Some((
        "ActivityList",
        Node::List {
            item: "ActivityObj",
            items,
        },
    ))
}

/// Step 1's `Value`: the nonce sealed with RSA-OAEP-SHA-256 to the key `spki` holds, base64;
/// `None` if that is not an RSA key.
fn seal(spki: &[u8], nonce: &[u8; 32]) -> Option<String> {
    let key = RsaPublicKey::from_public_key_der(spki).ok()?;
    let sealed = key
        .encrypt(&mut rsa::rand_core::OsRng, Oaep::new::<Sha256>(), nonce)
        .ok()?;
    Some(STANDARD.encode(sealed))
}

/// Whether step 2's `Value` is base64(HMAC-SHA-256(nonce, SessionId)), in constant time.
fn answers(nonce: &[u8; 32], session_id: &str, value: &str) -> bool {
    let Ok(tag) = STANDARD.decode(value) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(nonce) else {
        return false;
    };
    mac.update(session_id.as_bytes());
    mac.verify_slice(&tag).is_ok()
}

fn invalid_input(why: &str) -> Fields {
    vec![Code::InvalidInput.status(why)]
}

fn access_denied(why: &str) -> Fields {
    vec![Code::AccessDenied.status(why)]
}

/// `2023-02-22 07:14:03 UTC`, the vendor sample's form.
fn format_login_time(epoch_secs: u64) -> String {
    let t = i64::try_from(epoch_secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// ISO 8601 with or without an offset (clients send both `…Z` and local times).
fn is_iso8601(text: &str) -> bool {
    OffsetDateTime::parse(text, &Iso8601::DEFAULT).is_ok()
        || PrimitiveDateTime::parse(text, &Iso8601::DEFAULT).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_time_uses_the_vendor_format() {
        assert_eq!(format_login_time(1_677_050_043), "2023-02-22 07:14:03 UTC");
        assert_eq!(format_login_time(0), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn iso8601_accepts_common_forms_only() {
        for ok in [
            "2023-02-22T07:14:03Z",
            "2023-02-22T07:14:03.123+01:00",
            "2023-02-22T07:14:03",
        ] {
            assert!(is_iso8601(ok), "{ok}");
        }
        for bad in ["yesterday", "2023-02-22 07:14:03 UTC", "22/02/2023"] {
            assert!(!is_iso8601(bad), "{bad}");
        }
    }
}
