//! The normalised session and its parts.

use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Extra, SessionId, UnixTime};

/// Names the backend that holds a session: the name of its `[backends.<name>]` table in the
/// gateway's configuration. `enos` and `netid` are built in; a deployment may register others.
///
/// A name is a `&'static str`, so the type is `Copy` and costs no allocation per session. Names
/// made at run time ([`Backend::named`]) are interned, at most [`Backend::MAX_NAMES`] of them per
/// process: they come from configuration, never from request data.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Backend(&'static str);

/// Why a string cannot name a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendNameError {
    /// Not 1 to 32 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter.
    Malformed,
    /// More distinct names than [`Backend::MAX_NAMES`] in this process.
    TooMany,
}

/// The role of the subject within its organisation (EnOS user `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    #[default]
    User,
    OrgOwner,
    OrgAdmin,
}

/// How the subject proved who they are.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AuthMethod {
    /// A backend-local account and password (EnOS `authType` 0).
    #[default]
    Password,
    /// A directory bind; the link (EnOS `linkName`) is known only from the login request.
    Ldap { link: Option<String> },
    /// An X.509 client certificate (Net iD).
    Certificate,
}

/// The person (or service) behind a session.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Subject {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub kind: SubjectKind,
}

/// An action a client may take (Net iD `ActivityObj`: `Method`, `Type`, `Id`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Activity {
    pub method: String,
    pub kind: String,
    pub id: String,
}

/// An organisation as either backend describes it.
///
/// EnOS knows `id`, `name` and `domain`; Net iD knows `id`, `name` (its `PresentationInfo`),
/// `additional_info` (style hints) and activities. Fields a backend does not carry stay empty.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    pub additional_info: Option<String>,
    pub activities: Vec<Activity>,
}

/// A permission area the subject may use (Net iD `UsageList` entry: User, Token, Self, Admin, …).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub name: String,
    pub activities: Vec<Activity>,
}

/// The one session model of idbridge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub backend: Backend,
    /// The backend's session id; a secret.
    pub id: SessionId,
    pub subject: Subject,
    /// The organisation the subject is acting for now (EnOS `workingOrganization`,
    /// Net iD `OrganizationName`).
    pub working_org: Option<Box<Organization>>,
    /// The organisation the subject belongs to (EnOS `residentOrganization`).
    pub home_org: Option<Box<Organization>>,
    /// Organisations the subject may switch to (Net iD `OrganizationList`).
    pub organizations: Vec<Organization>,
    pub usages: Vec<Usage>,
    pub auth_method: AuthMethod,
    /// When the subject logged in.
    pub created: UnixTime,
    /// When the backend last confirmed the session.
    pub refreshed: UnixTime,
    /// The latest instant at which the session may be treated as valid without asking the backend
    /// again. Caches never keep a session beyond it.
    pub expires_at: UnixTime,
    /// Inactivity after which the backend logs the subject out, if it says.
    pub idle_timeout: Option<Duration>,
    pub extra: Extra,
}

// === impl Session ===

impl Session {
    /// A session known only by backend and id, valid from `now` for `ttl`; the codecs fill the rest.
    pub fn new(backend: Backend, id: SessionId, now: UnixTime, ttl: Duration) -> Self {
        Self {
            backend,
            id,
            subject: Subject::default(),
            working_org: None,
            home_org: None,
            organizations: Vec::new(),
            usages: Vec::new(),
            auth_method: AuthMethod::default(),
            created: now,
            refreshed: now,
            expires_at: now.saturating_add(ttl),
            idle_timeout: None,
            extra: Extra::default(),
        }
    }

    pub fn is_expired(&self, now: UnixTime) -> bool {
        now >= self.expires_at
    }

    /// Time left until [`Session::expires_at`]; zero once expired.
    pub fn time_to_live(&self, now: UnixTime) -> Duration {
        now.until(self.expires_at)
    }

    /// Seconds until an idle logout, as Net iD's `IdleExpiration` reports it: the idle timeout
    /// counted from the last refresh, capped by the absolute expiry.
    pub fn idle_remaining(&self, now: UnixTime) -> Duration {
        let ttl = self.time_to_live(now);
        match self.idle_timeout {
            Some(idle) => now.until(self.refreshed.saturating_add(idle)).min(ttl),
            None => ttl,
        }
    }

    /// Gives back the spare capacity decoding left in every string and list. A session is built
    /// once and then cached for its lifetime, so slack would be held for that whole time: for a
    /// Net iD sample session it was a third of its memory (benches/RESULTS.md).
    pub fn shrink_to_fit(&mut self) {
        let s = &mut self.subject;
        for text in [&mut s.id, &mut s.name] {
            text.shrink_to_fit();
        }
        for text in [&mut s.email, &mut s.phone].into_iter().flatten() {
            text.shrink_to_fit();
        }
        if let AuthMethod::Ldap { link: Some(link) } = &mut self.auth_method {
            link.shrink_to_fit();
        }
        let orgs = self.working_org.as_deref_mut().into_iter();
        let orgs = orgs.chain(self.home_org.as_deref_mut());
        for org in orgs.chain(self.organizations.iter_mut()) {
            org.id.shrink_to_fit();
            org.name.shrink_to_fit();
            for text in [&mut org.domain, &mut org.additional_info]
                .into_iter()
                .flatten()
            {
                text.shrink_to_fit();
            }
            shrink_activities(&mut org.activities);
        }
        self.organizations.shrink_to_fit();
        for usage in &mut self.usages {
            usage.name.shrink_to_fit();
            shrink_activities(&mut usage.activities);
        }
        self.usages.shrink_to_fit();
        self.extra.shrink_to_fit();
    }

    /// The organisation to show as "the" organisation: the working one, else home.
    pub fn organization(&self) -> Option<&Organization> {
        self.working_org.as_deref().or(self.home_org.as_deref())
    }
}

fn shrink_activities(activities: &mut Vec<Activity>) {
    for a in activities.iter_mut() {
        a.method.shrink_to_fit();
        a.kind.shrink_to_fit();
        a.id.shrink_to_fit();
    }
    activities.shrink_to_fit();
}

// === impl Backend ===

impl Backend {
    /// EnOS IAM (REST/JSON).
    pub const ENOS: Self = Self("enos");
    /// Pointsharp Net iD Portal (SOAP 1.1 and REST/JSON).
    pub const NETID: Self = Self("netid");
    /// Most distinct backend names one process holds.
    pub const MAX_NAMES: usize = 64;

    /// The backend called `name`: lowercase ASCII letters, digits, `_` and `-`, starting with a
    /// letter, at most 32 characters (a config table name, and a metric label value).
    pub fn named(name: &str) -> Result<Self, BackendNameError> {
        let well_formed = (1..=32).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !well_formed {
            return Err(BackendNameError::Malformed);
        }
        for known in [Self::ENOS, Self::NETID] {
            if known.0 == name {
                return Ok(known);
            }
        }
        static NAMES: OnceLock<Mutex<Vec<&'static str>>> = OnceLock::new();
        let mut names = NAMES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = names.iter().find(|n| **n == name) {
            return Ok(Self(n));
        }
        if names.len() >= Self::MAX_NAMES {
            return Err(BackendNameError::TooMany);
        }
        // Bounded above: at most MAX_NAMES short strings live for the whole process.
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        names.push(leaked);
        Ok(Self(leaked))
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Backend({})", self.0)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Backend {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Backend {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Self::named(&name).map_err(|e| serde::de::Error::custom(format!("backend name: {e}")))
    }
}

impl fmt::Display for BackendNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "must be 1 to 32 of a-z, 0-9, _ and -, starting with a letter",
            Self::TooMany => "too many backend names in one process",
        })
    }
}

impl std::error::Error for BackendNameError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let mut s = Session::new(
            Backend::ENOS,
            SessionId::new("IAM_S_x"),
            UnixTime(1_000),
            Duration::from_secs(7_200),
        );
        s.subject.name = "portal_test01".into();
        s
    }

    #[test]
    fn expiry_is_a_pure_function_of_now() {
        let s = session();
        assert!(!s.is_expired(UnixTime(1_000)));
        assert!(!s.is_expired(UnixTime(8_199)));
        assert!(s.is_expired(UnixTime(8_200)));
        assert_eq!(s.time_to_live(UnixTime(8_000)), Duration::from_secs(200));
        assert_eq!(s.time_to_live(UnixTime(9_000)), Duration::ZERO);
    }

    #[test]
    fn idle_remaining_counts_from_refresh_and_never_passes_expiry() {
        let mut s = session();
        s.idle_timeout = Some(Duration::from_secs(1_200));
        assert_eq!(
            s.idle_remaining(UnixTime(1_100)),
            Duration::from_secs(1_100)
        );
        s.expires_at = UnixTime(1_500);
        assert_eq!(s.idle_remaining(UnixTime(1_100)), Duration::from_secs(400));
        s.idle_timeout = None;
        assert_eq!(s.idle_remaining(UnixTime(1_100)), Duration::from_secs(400));
    }

    #[test]
    fn shrinking_changes_nothing_but_capacity() {
        let mut s = session();
        s.subject.name.reserve(100);
        let mut org = Organization {
            name: String::with_capacity(64),
            ..Organization::default()
        };
        org.name.push_str("Contoso");
        s.organizations = Vec::with_capacity(8);
        s.organizations.push(org);
        let before = s.clone();
        s.shrink_to_fit();
        assert_eq!(s, before);
        assert_eq!(s.subject.name.capacity(), s.subject.name.len());
        assert_eq!(s.organizations.capacity(), 1);
        assert_eq!(s.organizations[0].name.capacity(), 7);
    }

    #[test]
    fn debug_redacts_the_id_and_extra_values() {
        let mut s = session();
        s.extra.insert("phoneArea", "+46-secret");
        let debug = format!("{s:?}");
        assert!(!debug.contains("IAM_S_x"));
        assert!(!debug.contains("+46-secret"));
        assert!(debug.contains("phoneArea"));
    }

    #[test]
    fn organization_prefers_working_over_home() {
        let mut s = session();
        assert!(s.organization().is_none());
        s.home_org = Some(Box::new(Organization {
            id: "home".into(),
            ..Default::default()
        }));
        assert_eq!(s.organization().map(|o| o.id.as_str()), Some("home"));
        s.working_org = Some(Box::new(Organization {
            id: "work".into(),
            ..Default::default()
        }));
        assert_eq!(s.organization().map(|o| o.id.as_str()), Some("work"));
    }

    #[test]
    fn serde_round_trip_keeps_everything() {
        let mut s = session();
        s.extra.insert("resourceId", "r1");
        s.auth_method = AuthMethod::Ldap {
            link: Some("corp".into()),
        };
        let json = serde_json::to_string(&s).unwrap();
        let back: Session = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn backend_names_are_checked_interned_and_serialised_as_strings() {
        assert_eq!(Backend::named("enos"), Ok(Backend::ENOS));
        let acme = Backend::named("acme-2").unwrap();
        assert_eq!(acme.as_str(), "acme-2");
        assert_eq!(Backend::named("acme-2").unwrap(), acme);
        for bad in ["", "Enos", "9lives", "a b", &"x".repeat(33)] {
            assert_eq!(
                Backend::named(bad),
                Err(BackendNameError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(serde_json::to_string(&acme).unwrap(), "\"acme-2\"");
        let back: Backend = serde_json::from_str("\"netid\"").unwrap();
        assert_eq!(back, Backend::NETID);
        assert!(serde_json::from_str::<Backend>("\"NOT ok\"").is_err());
    }
}
