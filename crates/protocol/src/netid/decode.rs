//! Field-level decoding shared by both bindings.
//!
//! The SOAP reader turns an `Info` (or `…Result`) element into the same JSON shape the REST
//! binding uses (text → string, `…List` → array, other nested elements → object), so one set of
//! typed decoders serves both. REST sends every scalar as a string; numbers and booleans are
//! accepted too.

use idbridge_session::SessionId;
use serde_json::{Map, Value};

use super::model::{
    ActivityObj, ClientInfo, LoginAnswer, LoginRequest, LoginResponse, LoginStatus, LoginStep,
    LogoutRequest, LogoutResponse, OrgItem, Role, Status, StatusCode, StatusRequest, UsageItem,
};
use crate::DecodeError;
use crate::json::{loose_bool, loose_u64, member};

/// A view of one message object.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a>(pub(crate) &'a Map<String, Value>);

// === impl Obj ===

impl<'a> Obj<'a> {
    pub(crate) fn from_value(v: &'a Value, field: &'static str) -> Result<Self, DecodeError> {
        v.as_object()
            .map(Obj)
            .ok_or_else(|| DecodeError::invalid(field, "expected an object"))
    }

    /// A scalar as text: strings as they are, numbers in decimal, booleans as WCF writes them.
    fn scalar(self, key: &'static str) -> Result<Option<String>, DecodeError> {
        match member(self.0, key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(if *b { "True" } else { "False" }.to_owned())),
            Some(_) => Err(DecodeError::invalid(key, "expected a scalar value")),
        }
    }

    fn req_scalar(self, key: &'static str) -> Result<String, DecodeError> {
        self.scalar(key)?.ok_or(DecodeError::MissingField(key))
    }

    /// A count or a number of seconds: decimal digits in a string (as both bindings send it),
    /// or a JSON number with an integral value.
    fn number(self, key: &'static str) -> Result<Option<u64>, DecodeError> {
        member(self.0, key)
            .map(|v| {
                let parsed = match v {
                    Value::String(s) => {
                        let s = s.trim();
                        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                        digits.then(|| s.parse().ok()).flatten()
                    }
                    Value::Number(_) => loose_u64(v),
                    _ => None,
                };
                parsed.ok_or_else(|| DecodeError::invalid(key, "expected a non-negative integer"))
            })
            .transpose()
    }

    fn req_number(self, key: &'static str) -> Result<u64, DecodeError> {
        self.number(key)?.ok_or(DecodeError::MissingField(key))
    }

    fn boolean(self, key: &'static str) -> Result<Option<bool>, DecodeError> {
        member(self.0, key)
            .map(|v| {
                loose_bool(v).ok_or_else(|| DecodeError::invalid(key, "expected True or False"))
            })
            .transpose()
    }

    /// A list; an empty SOAP element (`<UsageList/>`) arrives as blank text and is an empty list.
    fn list(self, key: &'static str) -> Result<Option<&'a [Value]>, DecodeError> {
        match member(self.0, key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(&[])),
            Some(_) => Err(DecodeError::invalid(key, "expected a list")),
        }
    }

    fn object(self, key: &'static str) -> Result<Option<Obj<'a>>, DecodeError> {
        match member(self.0, key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => Obj::from_value(v, key).map(Some),
        }
    }

    fn req_object(self, key: &'static str) -> Result<Obj<'a>, DecodeError> {
        self.object(key)?.ok_or(DecodeError::MissingField(key))
    }
}

fn items<T>(
    list: Option<&[Value]>,
    field: &'static str,
    item: impl Fn(Obj<'_>) -> Result<T, DecodeError>,
) -> Result<Option<Vec<T>>, DecodeError> {
    list.map(|values| {
        values
            .iter()
            .map(|v| Obj::from_value(v, field).and_then(&item))
            .collect()
    })
    .transpose()
}

pub(crate) fn status(obj: Obj<'_>) -> Result<Status, DecodeError> {
    let st = obj.req_object("Status")?;
    Ok(Status {
        code: StatusCode::parse(&st.req_scalar("Code")?),
        description: st.scalar("Description")?.unwrap_or_default(),
    })
}

fn activity(obj: Obj<'_>) -> Result<ActivityObj, DecodeError> {
    Ok(ActivityObj {
        method: obj.req_scalar("Method")?,
        kind: obj.req_scalar("Type")?,
        id: obj.req_scalar("Id")?,
    })
}

fn activities(obj: Obj<'_>) -> Result<Option<Vec<ActivityObj>>, DecodeError> {
    items(obj.list("ActivityList")?, "ActivityList", activity)
}

pub(crate) fn usage_item(obj: Obj<'_>) -> Result<UsageItem, DecodeError> {
    Ok(UsageItem {
        presentation_info: obj.req_scalar("PresentationInfo")?,
        activity_list: activities(obj)?,
    })
}

pub(crate) fn org_item(obj: Obj<'_>) -> Result<OrgItem, DecodeError> {
    Ok(OrgItem {
        id: obj.req_scalar("Id")?,
        presentation_info: obj.req_scalar("PresentationInfo")?,
        additional_info: obj.scalar("AdditionalInfo")?,
        activity_list: activities(obj)?,
    })
}

/// A `UsageList` in its REST form (also how EnOS carries it inside `user.extra`).
pub(crate) fn usage_list(v: &Value) -> Result<Vec<UsageItem>, DecodeError> {
    let list = v
        .as_array()
        .ok_or_else(|| DecodeError::invalid("UsageList", "expected a list"))?;
    Ok(items(Some(list), "UsageList", usage_item)?.unwrap_or_default())
}

/// An `OrganizationList` in its REST form.
pub(crate) fn org_list(v: &Value) -> Result<Vec<OrgItem>, DecodeError> {
    let list = v
        .as_array()
        .ok_or_else(|| DecodeError::invalid("OrganizationList", "expected a list"))?;
    Ok(items(Some(list), "OrganizationList", org_item)?.unwrap_or_default())
}

// === message decoders ===

pub(crate) fn login_request(obj: Obj<'_>) -> Result<LoginRequest, DecodeError> {
    let role = match obj.scalar("Role")? {
        None => Role::default(),
        Some(r) => Role::parse(&r)
            .ok_or_else(|| DecodeError::invalid("Role", "expected Self or Officer"))?,
    };
    let client = obj
        .object("Client")?
        .map(|c| -> Result<ClientInfo, DecodeError> {
            Ok(ClientInfo {
                device_name: c.scalar("DeviceName")?,
                application_name: c.scalar("ApplicationName")?,
                language_name: c.scalar("LanguageName")?,
            })
        })
        .transpose()?;
    Ok(LoginRequest {
        certificate: obj.req_scalar("Certificate")?,
        date_time: obj.req_scalar("DateTime")?,
        role,
        client,
    })
}

/// Either Login step: a `SessionId` makes it step 2, which must carry its `Value`.
pub(crate) fn login_step(obj: Obj<'_>) -> Result<LoginStep, DecodeError> {
    match obj.scalar("SessionId")? {
        Some(id) => Ok(LoginStep::Answer(LoginAnswer {
            session_id: SessionId::new(id),
            value: obj.req_scalar("Value")?,
        })),
        None => login_request(obj).map(LoginStep::Begin),
    }
}

pub(crate) fn login_response(obj: Obj<'_>) -> Result<LoginResponse, DecodeError> {
    Ok(LoginResponse {
        session_id: obj.scalar("SessionId")?.map(SessionId::new),
        certificate: obj.scalar("Certificate")?,
        value: obj.scalar("Value")?,
        status: status(obj)?,
    })
}

pub(crate) fn status_request(obj: Obj<'_>) -> Result<StatusRequest, DecodeError> {
    Ok(StatusRequest {
        session_id: SessionId::new(obj.req_scalar("SessionId")?),
        count: obj.req_number("Count")?,
        blob: obj.scalar("Blob")?,
    })
}

pub(crate) fn logout_request(obj: Obj<'_>) -> Result<LogoutRequest, DecodeError> {
    let r = status_request(obj)?;
    Ok(LogoutRequest {
        session_id: r.session_id,
        count: r.count,
        blob: r.blob,
    })
}

pub(crate) fn logout_response(obj: Obj<'_>) -> Result<LogoutResponse, DecodeError> {
    Ok(LogoutResponse {
        count: obj.number("Count")?,
        status: status(obj)?,
    })
}

pub(crate) fn login_status(obj: Obj<'_>) -> Result<LoginStatus, DecodeError> {
    Ok(LoginStatus {
        count: obj.number("Count")?,
        id: obj.scalar("Id")?,
        image_id: obj.scalar("ImageId")?,
        name: obj.scalar("Name")?,
        organization_name: obj.scalar("OrganizationName")?,
        is_logged_in: obj.boolean("IsLoggedIn")?,
        idle_expiration: obj.number("IdleExpiration")?,
        date_time: obj.scalar("DateTime")?,
        task_counter: obj.scalar("TaskCounter")?,
        usage_list: items(obj.list("UsageList")?, "UsageList", usage_item)?,
        organization_list: items(obj.list("OrganizationList")?, "OrganizationList", org_item)?,
        status: status(obj)?,
    })
}
