//! Normalised [`Session`] → EnOS Session struct.
//!
//! The key sets are the vendor samples': the Log In user has the 21 keys of the Log In sample,
//! the session/info user 4 more. Keys a session from EnOS brought along (kept in
//! `enos.user.*` / `enos.session.*` extras) come back as they were; for a session from Net iD
//! the keys EnOS cannot fill get neutral values (`null`, `false`, `""`, `0`), and what Net iD
//! did not say is `null`, never made up: `session.id` (a Net iD id is not an EnOS one),
//! `residentOrganization`, an organisation id Net iD's `OrganizationList` does not give, and
//! `authType` for a certificate login. The mappings are tabled in the crate's documentation.

use idbridge_session::{AuthMethod, Organization, Session, SubjectKind, UnixTime};
use serde_json::{Map, Value, json};

use super::session::{NETID_ORGS, NETID_PREFIX, NETID_USAGES, USER_EXTRA_KEY};
use super::{SESSION_EXTRA_PREFIX, USER_EXTRA_PREFIX};
use crate::netid::{organizations_to_json, usages_to_json};

/// Which response the Session struct is for; they differ in their user keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserShape {
    Login,
    SessionInfo,
}

/// User keys without a typed field, with the value used when the session has none
/// (in the Log In sample's order).
const LOGIN_USER_DEFAULTS: [(&str, DefaultValue); 15] = [
    ("createdByUserId", DefaultValue::Null),
    ("resourceId", DefaultValue::Null),
    ("phoneVerified", DefaultValue::False),
    ("description", DefaultValue::Empty),
    ("organizationId", DefaultValue::OrgId),
    ("createdAt", DefaultValue::Null),
    ("emailVerified", DefaultValue::False),
    ("phoneVerifiedAt", DefaultValue::Null),
    ("createTime", DefaultValue::Null),
    ("emailVerifiedAt", DefaultValue::Null),
    ("mfaType", DefaultValue::Null),
    ("organization", DefaultValue::Null),
    ("phoneArea", DefaultValue::Empty),
    ("state", DefaultValue::Zero),
    ("extra", DefaultValue::Null),
];

/// The session/info sample's user keys in its order; the Log In sample's are the same without
/// [`INFO_ONLY_USER_KEYS`]. Keys EnOS sent that neither sample has follow them, by name.
pub(super) const USER_ORDER: [&str; 25] = [
    "guestOrganizations",
    "createdByUserId",
    "resourceId",
    "phoneVerified",
    "description",
    "type",
    "organizationId",
    "createdAt",
    "emailVerified",
    "phoneVerifiedAt",
    "phone",
    "createTime",
    "emailVerifiedAt",
    "mfaType",
    "password_strength",
    "password_state",
    "password_expire_time",
    "extra",
    "organization",
    "name",
    "phoneArea",
    "id",
    "state",
    "authType",
    "email",
];

/// The user keys only the session/info sample has.
const INFO_ONLY_USER_KEYS: [&str; 4] = [
    "guestOrganizations",
    "password_strength",
    "password_state",
    "password_expire_time",
];

#[derive(Debug, Clone, Copy)]
enum DefaultValue {
    Null,
    False,
    Empty,
    Zero,
    OrgId,
}

/// The Session struct as session/info returns it (the richer of the two user key sets).
///
/// `expires` is written as EnOS writes it: the session's lifetime in seconds counted from
/// `refreshTime` (the vendor sample: 7200, with `refreshTime` 306 s after `createTime`), not a
/// countdown. `refreshTime + expires` is the session's expiry, whenever it is rendered.
pub fn session_json(session: &Session, now: UnixTime) -> Value {
    session_value(session, now, UserShape::SessionInfo)
}

/// `_now` is kept for the callers' sake: nothing in the Session struct depends on it any more.
pub(crate) fn session_value(session: &Session, _now: UnixTime, shape: UserShape) -> Value {
    let expires = session
        .expires_at
        .as_secs()
        .saturating_sub(session.refreshed.as_secs())
        .max(0);
    // The samples' order; keys EnOS sent beyond them follow.
    let mut map = Map::new();
    map.insert(
        "workingOrganization".into(),
        org_json(session.working_org.as_deref()),
    );
    map.insert("expires".into(), Value::from(expires));
    map.insert("createTime".into(), Value::from(session.created.as_secs()));
    map.insert(
        "residentOrganization".into(),
        org_json(session.home_org.as_deref()),
    );
    map.insert(
        "refreshTime".into(),
        Value::from(session.refreshed.as_secs()),
    );
    // Only an EnOS session id is one; for a Net iD session the caller holds its own credential.
    let id = if super::is_session_id(session.id.expose()) {
        Value::from(session.id.expose())
    } else {
        Value::Null
    };
    map.insert("id".into(), id);
    map.insert("user".into(), user_json(session, shape));
    for (key, value) in session.extra.with_prefix(SESSION_EXTRA_PREFIX) {
        map.entry(key).or_insert_with(|| value.value());
    }
    Value::Object(map)
}

fn user_json(session: &Session, shape: UserShape) -> Value {
    let login = shape == UserShape::Login;
    let subject = &session.subject;
    let org_id = session.organization().map(|o| org_id(&o.id));
    let mut user = Map::new();
    for key in USER_ORDER {
        if login && INFO_ONLY_USER_KEYS.contains(&key) {
            continue;
        }
        let value = match key {
            "id" => Value::from(subject.id.as_str()),
            "name" => Value::from(subject.name.as_str()),
            "email" => subject.email.clone().map_or(Value::Null, Value::from),
            "phone" => subject.phone.clone().map_or(Value::Null, Value::from),
            "type" => Value::from(match subject.kind {
                SubjectKind::User => 0,
                SubjectKind::OrgOwner => 1,
                SubjectKind::OrgAdmin => 2,
            }),
            // EnOS knows its own accounts (0) and LDAP (1); a certificate login is neither.
            "authType" => match session.auth_method {
                AuthMethod::Password => Value::from(0),
                AuthMethod::Ldap { .. } => Value::from(1),
                AuthMethod::Certificate => Value::Null,
            },
            "extra" => user_extra(session),
            _ => match session.extra.get(&format!("{USER_EXTRA_PREFIX}{key}")) {
                Some(v) => v.clone(),
                None => default_of(key, org_id.as_ref()),
            },
        };
        user.insert(key.into(), value);
    }
    for (key, value) in session.extra.with_prefix(USER_EXTRA_PREFIX) {
        if !(login && INFO_ONLY_USER_KEYS.contains(&key)) {
            user.entry(key).or_insert_with(|| value.value());
        }
    }
    Value::Object(user)
}

/// What a user key says when the session has nothing for it (see [`LOGIN_USER_DEFAULTS`]).
pub(super) fn default_of(key: &str, org_id: Option<&Value>) -> Value {
    let default = LOGIN_USER_DEFAULTS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(DefaultValue::Null, |(_, d)| *d);
    match default {
        DefaultValue::Null => Value::Null,
        DefaultValue::False => Value::Bool(false),
        DefaultValue::Empty => Value::String(String::new()),
        DefaultValue::Zero => Value::from(0),
        DefaultValue::OrgId => org_id.cloned().unwrap_or(Value::Null),
    }
}

/// EnOS's "Other user information" map: what EnOS itself sent, plus any Net iD data.
fn user_extra(session: &Session) -> Value {
    let mut netid = Map::new();
    for (key, value) in session.extra.with_prefix(NETID_PREFIX) {
        netid.insert(format!("{NETID_PREFIX}{key}"), value.value());
    }
    if !session.usages.is_empty() {
        netid.insert(NETID_USAGES.into(), usages_to_json(&session.usages));
    }
    if !session.organizations.is_empty() {
        netid.insert(
            NETID_ORGS.into(),
            organizations_to_json(&session.organizations),
        );
    }
    let own = session.extra.get(USER_EXTRA_KEY);
    if netid.is_empty() {
        return own.unwrap_or(Value::Null);
    }
    let mut map = match own {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.extend(netid);
    Value::Object(map)
}

fn org_json(org: Option<&Organization>) -> Value {
    match org {
        Some(o) => json!({"domain": o.domain, "name": o.name, "id": org_id(&o.id)}),
        None => Value::Null,
    }
}

/// An organisation id, `null` when the source did not give one.
pub(super) fn org_id(id: &str) -> Value {
    if id.is_empty() {
        Value::Null
    } else {
        Value::from(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_session::{Backend, SessionId, Usage};
    use std::time::Duration;

    fn netid_session() -> Session {
        let mut s = Session::new(
            Backend::NETID,
            SessionId::new("c2lk"),
            UnixTime(1_000),
            Duration::from_secs(1_200),
        );
        s.idle_timeout = Some(Duration::from_secs(1_200));
        s.subject.id = "1".into();
        s.subject.name = "John Doe".into();
        s.auth_method = AuthMethod::Certificate;
        s.working_org = Some(Box::new(Organization {
            name: "Contoso Ltd".into(),
            ..Organization::default()
        }));
        s.usages.push(Usage {
            name: "User".into(),
            activities: vec![],
        });
        s.extra.insert("netid.ImageId", "35");
        s
    }

    #[test]
    fn netid_session_gets_the_exact_key_sets() {
        let s = netid_session();
        let login = session_value(&s, UnixTime(1_000), UserShape::Login);
        let info = session_json(&s, UnixTime(1_000));
        let keys = |v: &Value| v.as_object().unwrap().len();
        assert_eq!(keys(&login), 7);
        assert_eq!(keys(&login["user"]), 21);
        assert_eq!(keys(&info["user"]), 25);
        assert_eq!(
            login["workingOrganization"],
            json!({"domain": null, "name": "Contoso Ltd", "id": null})
        );
        assert_eq!(login["residentOrganization"], Value::Null);
        assert_eq!(login["id"], Value::Null);
        assert_eq!(login["user"]["extra"]["netid.ImageId"], "35");
        assert_eq!(
            login["user"]["extra"]["netid.UsageList"],
            json!([{"PresentationInfo": "User"}])
        );
        assert_eq!(login["user"]["organizationId"], Value::Null);
        assert_eq!(login["user"]["authType"], Value::Null);
    }

    #[test]
    fn expires_is_the_lifetime_from_the_last_refresh_whenever_rendered() {
        let s = netid_session();
        for now in [1_000, 1_500, 2_100] {
            let v = session_json(&s, UnixTime(now));
            let (refreshed, expires) = (v["refreshTime"].as_i64(), v["expires"].as_i64());
            assert_eq!(
                refreshed.zip(expires).map(|(r, e)| r + e),
                Some(s.expires_at.as_secs()),
                "{v}"
            );
        }
    }

    #[test]
    fn login_shape_drops_info_only_keys_even_when_kept_from_enos() {
        let mut s = netid_session();
        s.extra.insert("enos.user.password_state", 0);
        s.extra.insert("enos.user.newerKey", "x");
        let login = session_value(&s, UnixTime(1_000), UserShape::Login);
        assert!(login["user"].get("password_state").is_none());
        assert_eq!(login["user"]["newerKey"], "x");
        let info = session_json(&s, UnixTime(1_000));
        assert_eq!(info["user"]["password_state"], 0);
    }
}
