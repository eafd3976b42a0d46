//! The normalised session and its parts.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{SessionId, UnixTime};

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

/// Backend attributes the common model has no field for, keyed by their wire name.
///
/// They let a session rendered back into its own protocol come out as it came in (an EnOS user's
/// `resourceId`, a Net iD `ImageId`), and let the other protocol carry them where it has room.
///
/// Stored as a vector sorted by key, with each key name shared by every session that has it (see
/// [`intern`]), and each value as its compact JSON text: the cache holds up to a million
/// sessions, and as a `BTreeMap<String, Value>` these attributes were over half of a cached
/// session's memory; a `Value` alone is 80 bytes (benches/RESULTS.md). Values are parsed again
/// when read, which is when a session is rendered, once per session and face.
#[derive(Clone, PartialEq, Default)]
pub struct Extra(Vec<(Arc<str>, Json)>);

/// An attribute's value as [`Extra::with_prefix`] finds it, parsed on demand.
#[derive(Clone, Copy)]
pub struct ExtraValue<'a>(&'a Json);

impl ExtraValue<'_> {
    pub fn value(&self) -> Value {
        self.0.value()
    }
}

impl fmt::Debug for ExtraValue<'_> {
    /// Nothing of the value: it may be personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExtraValue(..)")
    }
}

/// One value as compact JSON text. Everything stored came from parsing JSON (within serde_json's
/// nesting limit) and prints back to the same text, so reading it back cannot fail; if it ever
/// did, the value reads as `null`.
#[derive(Clone, PartialEq)]
struct Json(Box<str>);

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
        self.extra.0.shrink_to_fit();
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

// === impl Json ===

impl Json {
    fn new(value: &Value) -> Self {
        Self(value.to_string().into_boxed_str())
    }

    fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
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

// === impl Extra ===

impl Extra {
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        self.position(key).ok().map(|i| self.0[i].1.value())
    }

    /// A string attribute, also when the backend sent it as a number or boolean.
    pub fn get_str(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Sets `key`, returning the value it replaces. Grows the storage by exactly one slot: a
    /// session is built once and then cached for its lifetime, so spare capacity would be held
    /// for that whole time.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl Into<Value>) -> Option<Value> {
        let key = key.as_ref();
        let value = Json::new(&value.into());
        match self.position(key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value).value()),
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (intern(key), value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key).ok()?;
        Some(self.0.remove(i).1.value())
    }

    /// Every attribute in key order, each value parsed from its text.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Value)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.value()))
    }

    /// The attributes whose keys start with `prefix`, in key order and with `prefix` taken off.
    /// Keys are sorted, so they are found by a binary search, and a value is parsed only when
    /// asked for ([`ExtraValue::value`]).
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, ExtraValue<'a>)> + 'a {
        let start = self.0.partition_point(|(k, _)| k.as_ref() < prefix);
        self.0[start..]
            .iter()
            .map_while(move |(k, v)| Some((k.strip_prefix(prefix)?, ExtraValue(v))))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Extra {
    /// Keys only: backend attributes may hold personal data that has no place in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

impl<K: AsRef<str>> FromIterator<(K, Value)> for Extra {
    /// Later pairs win over earlier ones with the same key, as with a map.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut extra = Self::default();
        for (k, v) in iter {
            extra.insert(k, v);
        }
        extra
    }
}

impl Serialize for Extra {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<String, Value>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// Most key names ever shared; beyond this (a backend inventing keys per session) each session
/// gets its own copy, so the table cannot grow without bound.
const MAX_INTERNED: usize = 4096;

/// The one shared copy of a key name.
fn intern(key: &str) -> Arc<str> {
    static KEYS: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    let mut keys = KEYS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(k) = keys.get(key) {
        return k.clone();
    }
    let k: Arc<str> = Arc::from(key);
    if keys.len() < MAX_INTERNED {
        keys.insert(k.clone());
    }
    k
}

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
    fn extra_values_read_back_as_stored() {
        use serde_json::json;
        let values = [
            json!(null),
            json!(true),
            json!(0),
            json!(0.0),
            json!(1.601192046E12),
            json!(-7),
            json!(u64::MAX),
            json!("tab\t \"quoted\" é"),
            json!({"b": 1, "a": [1, {"z": null}]}),
        ];
        let mut extra = Extra::default();
        for (i, v) in values.iter().enumerate() {
            extra.insert(format!("k{i}"), v.clone());
        }
        for (i, v) in values.iter().enumerate() {
            assert_eq!(extra.get(&format!("k{i}")).as_ref(), Some(v));
        }
        let object = extra.get("k8").unwrap().to_string();
        assert_eq!(object, r#"{"b":1,"a":[1,{"z":null}]}"#, "key order kept");
        let mut found = extra
            .with_prefix("k")
            .map(|(k, v)| (k.to_owned(), v.value()));
        assert_eq!(found.next(), Some(("0".to_owned(), json!(null))));
        assert_eq!(found.count(), values.len() - 1);
        extra.insert("j", 1);
        extra.insert("l", 2);
        assert_eq!(extra.with_prefix("k8").count(), 1);
        assert_eq!(extra.with_prefix("m").count(), 0);
        assert_eq!(extra.remove("j"), Some(json!(1)));
        assert_eq!(extra.remove("l"), Some(json!(2)));
        assert_eq!(extra.insert("k1", false), Some(json!(true)));
        assert_eq!(extra.remove("k1"), Some(json!(false)));
        assert_eq!(extra.len(), values.len() - 1);
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

    #[test]
    fn extra_reads_loose_strings() {
        let mut e = Extra::default();
        e.insert("n", 35);
        e.insert("b", true);
        e.insert("s", "x");
        assert_eq!(e.get_str("n").as_deref(), Some("35"));
        assert_eq!(e.get_str("b").as_deref(), Some("true"));
        assert_eq!(e.get_str("s").as_deref(), Some("x"));
        assert_eq!(e.get_str("missing"), None);
    }
}
