//! EnOS Session struct → normalised [`Session`].

use std::time::Duration;

use idbridge_session::{
    AuthMethod, Backend, Organization, Session, SessionId, SubjectKind, UnixTime,
};
use serde_json::{Map, Value};

use super::{SESSION_EXTRA_PREFIX, USER_EXTRA_PREFIX, render};
use crate::DecodeError;
use crate::json::{loose_i64, loose_u64, member, opt_str, req_str};
use crate::netid::{organizations_from_json, usages_from_json};

/// Session struct keys with a typed home in [`Session`].
pub(super) const SESSION_KEYS: [&str; 7] = [
    "workingOrganization",
    "expires",
    "createTime",
    "residentOrganization",
    "refreshTime",
    "id",
    "user",
];
/// User struct keys with a typed home (`extra` is split: see [`split_user_extra`]).
pub(super) const USER_KEYS: [&str; 7] =
    ["id", "name", "email", "phone", "type", "authType", "extra"];

/// Where Net iD data rides inside the EnOS `user.extra` map ("Other user information").
pub(super) const NETID_PREFIX: &str = "netid.";
pub(super) const NETID_USAGES: &str = "netid.UsageList";
pub(super) const NETID_ORGS: &str = "netid.OrganizationList";
/// The session extra that keeps the non-Net iD part of `user.extra`.
pub(super) const USER_EXTRA_KEY: &str = "enos.user.extra";

/// Maps an EnOS Session struct (the `session` payload of Log In or session/info).
///
/// `expires` becomes the idle timeout; `expires_at` is `min(refreshTime, now) + expires`, so a
/// backend clock running ahead can never extend a session. Numbers may be floats or strings.
/// Keys without a typed field are kept in `extra` under `enos.session.<key>` /
/// `enos.user.<key>`, so rendering the session back as EnOS reproduces them.
pub fn session_from_enos(session: &Value, now: UnixTime) -> Result<Session, DecodeError> {
    let map = session
        .as_object()
        .ok_or_else(|| DecodeError::invalid("session", "expected an object"))?;
    let id = SessionId::new(req_str(map, "id", "session.id")?);
    let expires = member(map, "expires")
        .ok_or(DecodeError::MissingField("session.expires"))
        .and_then(|v| {
            loose_u64(v).ok_or_else(|| {
                DecodeError::invalid("session.expires", "expected a non-negative integer")
            })
        })?;
    let created = epoch(map, "createTime", "session.createTime")?.unwrap_or(now);
    let refreshed = epoch(map, "refreshTime", "session.refreshTime")?.unwrap_or(created);
    let lifetime = Duration::from_secs(expires);

    let mut s = Session::new(Backend::ENOS, id, now, lifetime);
    s.created = created;
    s.refreshed = refreshed;
    s.idle_timeout = Some(lifetime);
    s.expires_at = refreshed.min(now).saturating_add(lifetime);
    s.working_org =
        organization(map, "workingOrganization", "session.workingOrganization")?.map(Box::new);
    s.home_org =
        organization(map, "residentOrganization", "session.residentOrganization")?.map(Box::new);

    let user = member(map, "user")
        .ok_or(DecodeError::MissingField("session.user"))?
        .as_object()
        .ok_or_else(|| DecodeError::invalid("session.user", "expected an object"))?;
    fill_user(&mut s, user)?;

    for (key, value) in map {
        if !SESSION_KEYS.contains(&key.as_str()) {
            s.extra
                .insert(format!("{SESSION_EXTRA_PREFIX}{key}"), value.clone());
        }
    }
    Ok(s)
}

fn fill_user(s: &mut Session, user: &Map<String, Value>) -> Result<(), DecodeError> {
    s.subject.id = req_str(user, "id", "user.id")?.to_owned();
    s.subject.name = opt_str(user, "name", "user.name")?
        .unwrap_or_default()
        .to_owned();
    s.subject.email = opt_str(user, "email", "user.email")?.map(str::to_owned);
    s.subject.phone = opt_str(user, "phone", "user.phone")?.map(str::to_owned);
    s.subject.kind = match member(user, "type").map(loose_i64) {
        None | Some(Some(0)) => SubjectKind::User,
        Some(Some(1)) => SubjectKind::OrgOwner,
        Some(Some(2)) => SubjectKind::OrgAdmin,
        Some(_) => return Err(DecodeError::invalid("user.type", "expected 0, 1 or 2")),
    };
    // null: a session the gateway rendered from a certificate login (EnOS has no code for it).
    s.auth_method = match member(user, "authType")
        .filter(|v| !v.is_null())
        .map(loose_i64)
    {
        Some(Some(1)) => AuthMethod::Ldap { link: None },
        None | Some(Some(_)) => AuthMethod::Password,
        Some(None) => return Err(DecodeError::invalid("user.authType", "expected an integer")),
    };
    if let Some(extra) = user.get("extra") {
        split_user_extra(s, extra);
    }
    // A key the renderer writes anyway, with the value it would write, is not kept: the sample's
    // dozen `null`, `false` and `""` keys took about 1 KiB of every cached session.
    let org_id = s.organization().map(|o| render::org_id(&o.id));
    for (key, value) in user {
        let key = key.as_str();
        let rendered_anyway =
            render::USER_ORDER.contains(&key) && *value == render::default_of(key, org_id.as_ref());
        if !USER_KEYS.contains(&key) && !rendered_anyway {
            s.extra
                .insert(format!("{USER_EXTRA_PREFIX}{key}"), value.clone());
        }
    }
    Ok(())
}

/// `user.extra` may carry Net iD data that an earlier EnOS rendering put there: lists go back to
/// their typed fields, other `netid.*` keys to `session.extra`; the rest is kept as it came.
fn split_user_extra(s: &mut Session, extra: &Value) {
    let Value::Object(map) = extra else {
        // `null` is what the renderer writes for an absent one.
        if !extra.is_null() {
            s.extra.insert(USER_EXTRA_KEY, extra.clone());
        }
        return;
    };
    let mut rest = Map::new();
    let mut had_netid = false;
    for (key, value) in map {
        let typed = match key.as_str() {
            NETID_USAGES => usages_from_json(value).map(|u| s.usages = u).is_some(),
            NETID_ORGS => organizations_from_json(value)
                .map(|o| s.organizations = o)
                .is_some(),
            k if k.starts_with(NETID_PREFIX) => {
                s.extra.insert(key.clone(), value.clone());
                true
            }
            _ => false,
        };
        had_netid |= typed;
        if !typed {
            rest.insert(key.clone(), value.clone());
        }
    }
    if !had_netid || !rest.is_empty() {
        s.extra.insert(USER_EXTRA_KEY, Value::Object(rest));
    }
}

fn epoch(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<UnixTime>, DecodeError> {
    member(map, key)
        .map(|v| {
            loose_i64(v)
                .map(UnixTime)
                .ok_or_else(|| DecodeError::invalid(field, "expected epoch seconds"))
        })
        .transpose()
}

fn organization(
    map: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<Organization>, DecodeError> {
    let Some(v) = member(map, key) else {
        return Ok(None);
    };
    let org = v
        .as_object()
        .ok_or_else(|| DecodeError::invalid(field, "expected an object"))?;
    Ok(Some(Organization {
        id: opt_str(org, "id", field)?.unwrap_or_default().to_owned(),
        name: opt_str(org, "name", field)?.unwrap_or_default().to_owned(),
        domain: opt_str(org, "domain", field)?.map(str::to_owned),
        ..Organization::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "id": "IAM_S_x",
            "expires": 7200,
            "createTime": 1000,
            "refreshTime": 2000,
            "workingOrganization": {"domain": "d", "name": "n", "id": "o1"},
            "residentOrganization": {"domain": null, "name": "n", "id": "o1"},
            "ssoLogin": true,
            "user": {"id": "u1", "name": "alice", "email": null, "phone": "", "type": 1.0,
                     "authType": "1", "password_state": 0.0, "extra": null}
        })
    }

    #[test]
    fn maps_typed_fields_and_keeps_the_rest() {
        let s = session_from_enos(&sample(), UnixTime(2000)).unwrap();
        assert_eq!(s.id.expose(), "IAM_S_x");
        assert_eq!(s.subject.name, "alice");
        assert_eq!(s.subject.email, None);
        assert_eq!(s.subject.phone.as_deref(), Some(""));
        assert_eq!(s.subject.kind, SubjectKind::OrgOwner);
        assert_eq!(s.auth_method, AuthMethod::Ldap { link: None });
        assert_eq!(s.created, UnixTime(1000));
        assert_eq!(s.refreshed, UnixTime(2000));
        assert_eq!(s.expires_at, UnixTime(9200));
        assert_eq!(s.idle_timeout, Some(Duration::from_secs(7200)));
        assert_eq!(
            s.working_org.as_deref().unwrap().domain.as_deref(),
            Some("d")
        );
        assert_eq!(s.home_org.as_deref().unwrap().domain, None);
        assert_eq!(s.extra.get("enos.session.ssoLogin"), Some(json!(true)));
        assert_eq!(s.extra.get("enos.user.password_state"), Some(json!(0.0)));
        // `user.extra` null is what the renderer writes for none: not kept.
        assert_eq!(s.extra.get(USER_EXTRA_KEY), None);
    }

    #[test]
    fn a_backend_clock_ahead_of_ours_cannot_extend_the_session() {
        let mut v = sample();
        v["refreshTime"] = json!(1_000_000);
        let s = session_from_enos(&v, UnixTime(2000)).unwrap();
        assert_eq!(s.expires_at, UnixTime(9200));
        v["refreshTime"] = json!(500);
        let s = session_from_enos(&v, UnixTime(2000)).unwrap();
        assert_eq!(s.expires_at, UnixTime(7700));
    }

    #[test]
    fn typed_errors_name_the_field() {
        let mut v = sample();
        v["expires"] = json!("soon");
        assert!(matches!(
            session_from_enos(&v, UnixTime(0)),
            Err(DecodeError::InvalidField {
                field: "session.expires",
                ..
            })
        ));
        let mut v = sample();
        v["user"]["type"] = json!(7);
        assert!(matches!(
            session_from_enos(&v, UnixTime(0)),
            Err(DecodeError::InvalidField {
                field: "user.type",
                ..
            })
        ));
        let mut v = sample();
        v.as_object_mut().unwrap().remove("user");
        assert_eq!(
            session_from_enos(&v, UnixTime(0)),
            Err(DecodeError::MissingField("session.user"))
        );
        assert!(session_from_enos(&json!([]), UnixTime(0)).is_err());
        let mut v = sample();
        v["id"] = json!(5);
        assert!(matches!(
            session_from_enos(&v, UnixTime(0)),
            Err(DecodeError::InvalidField {
                field: "session.id",
                ..
            })
        ));
    }

    #[test]
    fn netid_data_in_user_extra_returns_to_typed_fields() {
        let mut v = sample();
        v["user"]["extra"] = json!({
            "netid.ImageId": "35",
            "netid.UsageList": [{"PresentationInfo": "Self"}],
            "netid.OrganizationList": [{"Id": "9", "PresentationInfo": "P"}],
            "favouriteColour": "blue"
        });
        let s = session_from_enos(&v, UnixTime(2000)).unwrap();
        assert_eq!(s.extra.get_str("netid.ImageId").as_deref(), Some("35"));
        assert_eq!(s.usages.len(), 1);
        assert_eq!(s.organizations[0].id, "9");
        assert_eq!(
            s.extra.get(USER_EXTRA_KEY),
            Some(json!({"favouriteColour": "blue"}))
        );
    }

    #[test]
    fn malformed_netid_lists_stay_raw() {
        let mut v = sample();
        v["user"]["extra"] = json!({"netid.UsageList": 5});
        let s = session_from_enos(&v, UnixTime(2000)).unwrap();
        assert!(s.usages.is_empty());
        assert_eq!(
            s.extra.get(USER_EXTRA_KEY),
            Some(json!({"netid.UsageList": 5}))
        );
    }
}
