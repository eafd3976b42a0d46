//! Net iD GetLoginStatus ↔ the normalised [`Session`].
//!
//! Net iD-only data travels in `session.extra` (`netid.ImageId`, `netid.TaskCounter`) and in the
//! typed `usages`/`organizations`, so a Net iD session rendered through EnOS and back keeps them.

use std::time::Duration;

use idbridge_session::{
    Activity, AuthMethod, Backend, Organization, Session, SessionId, SubjectKind, UnixTime, Usage,
};
use serde_json::Value;

use super::model::{ActivityObj, LoginStatus, OrgItem, Status, StatusCode, UsageItem};
use super::{decode, format_login_time, out, parse_login_time};
use crate::DecodeError;

/// The Net iD usage of organisation administrators, EnOS's `user.type` 1 (owner) and 2 (admin).
pub const ADMIN_USAGE: &str = "Admin";

/// `session.extra` key of the Net iD `ImageId`.
pub const EXTRA_IMAGE_ID: &str = "netid.ImageId";
/// `session.extra` key of the Net iD `TaskCounter`.
pub const EXTRA_TASK_COUNTER: &str = "netid.TaskCounter";

/// Builds a session from a logged-in GetLoginStatus reply.
///
/// `refreshed` is `now` (the portal just confirmed the session) and `expires_at` is
/// `now + IdleExpiration`: the portal logs an idle user out then, and nothing later is promised.
/// Fails with [`DecodeError::NotLoggedIn`] unless `IsLoggedIn` is True and `Status` is Success,
/// and with a field error when `Id` or `IdleExpiration` is missing or `DateTime` is unreadable.
pub fn session_from_login_status(
    status: &LoginStatus,
    id: SessionId,
    now: UnixTime,
) -> Result<Session, DecodeError> {
    if !status.logged_in() {
        return Err(DecodeError::NotLoggedIn);
    }
    let idle = Duration::from_secs(
        status
            .idle_expiration
            .ok_or(DecodeError::MissingField("IdleExpiration"))?,
    );
    let mut s = Session::new(Backend::NETID, id, now, idle);
    s.subject.id = status.id.clone().ok_or(DecodeError::MissingField("Id"))?;
    s.subject.name = status.name.clone().unwrap_or_default();
    s.auth_method = AuthMethod::Certificate;
    s.idle_timeout = Some(idle);
    if let Some(created) = &status.date_time {
        s.created = parse_login_time(created)?;
    }
    s.organizations = status
        .organization_list
        .iter()
        .flatten()
        .map(organization_from_item)
        .collect();
    s.usages = status
        .usage_list
        .iter()
        .flatten()
        .map(usage_from_item)
        .collect();
    // The one usage that says what EnOS's user type says: administration of the organisation.
    if s.usages.iter().any(|u| u.name == ADMIN_USAGE) {
        s.subject.kind = SubjectKind::OrgAdmin;
    }
    s.working_org = status
        .organization_name
        .as_ref()
        .map(|name| Organization {
            id: s
                .organizations
                .iter()
                .find(|o| &o.name == name)
                .map(|o| o.id.clone())
                .unwrap_or_default(),
            name: name.clone(),
            ..Organization::default()
        })
        .map(Box::new);
    if let Some(image) = &status.image_id {
        s.extra.insert(EXTRA_IMAGE_ID, image.clone());
    }
    if let Some(tasks) = &status.task_counter {
        s.extra.insert(EXTRA_TASK_COUNTER, tasks.clone());
    }
    Ok(s)
}

/// Renders a session (from either backend) as a GetLoginStatus reply with every vendor field.
///
/// `IdleExpiration` is [`Session::idle_remaining`]; `DateTime` is the login time. An expired or
/// idle-expired session gets the [`not_logged_in`] reply, as the portal answers for it. For an
/// EnOS session, `ImageId`, `TaskCounter` and (without an organisation) `OrganizationName` are
/// absent — EnOS says nothing of them —, `UsageList` holds `Admin` for an organisation owner or
/// administrator (`user.type` 1 or 2) and is empty otherwise, and `OrganizationList` adds the
/// resident organisation when it differs from the working one.
pub fn login_status_from_session(session: &Session, count: u64, now: UnixTime) -> LoginStatus {
    let idle = session.idle_remaining(now);
    if session.is_expired(now) || idle.is_zero() {
        return not_logged_in(count);
    }
    let mut orgs: Vec<OrgItem> = session
        .organizations
        .iter()
        .map(item_from_organization)
        .collect();
    if session.backend == Backend::ENOS
        && let Some(home) = &session.home_org
        && !session
            .working_org
            .as_ref()
            .is_some_and(|w| same_org(w, home))
        && !session.organizations.iter().any(|o| same_org(o, home))
    {
        orgs.push(item_from_organization(home));
    }
    let mut usages: Vec<UsageItem> = session.usages.iter().map(item_from_usage).collect();
    if session.backend != Backend::NETID
        && usages.is_empty()
        && session.subject.kind != SubjectKind::User
    {
        usages.push(item_from_usage(&Usage {
            name: ADMIN_USAGE.into(),
            activities: Vec::new(),
        }));
    }
    LoginStatus {
        count: Some(count),
        id: Some(session.subject.id.clone()),
        image_id: session.extra.get_str(EXTRA_IMAGE_ID),
        name: Some(session.subject.name.clone()),
        organization_name: session.organization().map(|o| o.name.clone()),
        is_logged_in: Some(true),
        idle_expiration: Some(idle.as_secs()),
        date_time: Some(format_login_time(session.created)),
        task_counter: session.extra.get_str(EXTRA_TASK_COUNTER),
        usage_list: Some(usages),
        organization_list: Some(orgs),
        status: Status::success(),
    }
}

/// The reply for an unknown, logged-out or idle-expired session: `Count` (echoed),
/// `IsLoggedIn` False and `Status` InvalidSession, nothing else.
/// A call the portal refused before looking at the session (e.g. `InvalidCount`): the echoed
/// `Count` and the `Status`, nothing else.
pub fn refused(count: u64, status: Status) -> LoginStatus {
    LoginStatus {
        count: Some(count),
        id: None,
        image_id: None,
        name: None,
        organization_name: None,
        is_logged_in: None,
        idle_expiration: None,
        date_time: None,
        task_counter: None,
        usage_list: None,
        organization_list: None,
        status,
    }
}

/// The portal's answer for a session that is not logged in.
pub fn not_logged_in(count: u64) -> LoginStatus {
    LoginStatus {
        is_logged_in: Some(false),
        ..refused(
            count,
            Status::new(StatusCode::InvalidSession, "The session is not valid."),
        )
    }
}

/// Ids decide when both sides have one; Net iD's working organisation often has none.
fn same_org(a: &Organization, b: &Organization) -> bool {
    if !a.id.is_empty() && !b.id.is_empty() {
        a.id == b.id
    } else {
        a.name == b.name
    }
}

// === list conversions ===

fn activity(a: &ActivityObj) -> Activity {
    Activity {
        method: a.method.clone(),
        kind: a.kind.clone(),
        id: a.id.clone(),
    }
}

/// The model keeps activities as a plain list, so "no `ActivityList`" and "an empty one" both
/// come back as absent.
fn activity_list(list: &[Activity]) -> Option<Vec<ActivityObj>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|a| ActivityObj {
                method: a.method.clone(),
                kind: a.kind.clone(),
                id: a.id.clone(),
            })
            .collect()
    })
}

fn usage_from_item(u: &UsageItem) -> Usage {
    Usage {
        name: u.presentation_info.clone(),
        activities: u.activity_list.iter().flatten().map(activity).collect(),
    }
}

fn item_from_usage(u: &Usage) -> UsageItem {
    UsageItem {
        presentation_info: u.name.clone(),
        activity_list: activity_list(&u.activities),
    }
}

fn organization_from_item(o: &OrgItem) -> Organization {
    Organization {
        id: o.id.clone(),
        name: o.presentation_info.clone(),
        domain: None,
        additional_info: o.additional_info.clone(),
        activities: o.activity_list.iter().flatten().map(activity).collect(),
    }
}

fn item_from_organization(o: &Organization) -> OrgItem {
    OrgItem {
        id: o.id.clone(),
        presentation_info: o.name.clone(),
        additional_info: o.additional_info.clone(),
        activity_list: activity_list(&o.activities),
    }
}

// === REST-form JSON, for carrying Net iD lists inside other protocols ===

pub(crate) fn usages_to_json(usages: &[Usage]) -> Value {
    let items: Vec<UsageItem> = usages.iter().map(item_from_usage).collect();
    serde_json::to_value(out::usage_list(&items)).unwrap_or(Value::Null)
}

pub(crate) fn organizations_to_json(orgs: &[Organization]) -> Value {
    let items: Vec<OrgItem> = orgs.iter().map(item_from_organization).collect();
    serde_json::to_value(out::org_list(&items)).unwrap_or(Value::Null)
}

pub(crate) fn usages_from_json(v: &Value) -> Option<Vec<Usage>> {
    decode::usage_list(v)
        .ok()
        .map(|items| items.iter().map(usage_from_item).collect())
}

pub(crate) fn organizations_from_json(v: &Value) -> Option<Vec<Organization>> {
    decode::org_list(v)
        .ok()
        .map(|items| items.iter().map(organization_from_item).collect())
}
