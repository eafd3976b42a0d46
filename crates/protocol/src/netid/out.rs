//! Field-level encoding shared by both bindings: every message becomes an ordered tree that the
//! REST writer serialises as JSON and the SOAP writer as elements.
//!
//! Order is the vendor's and comes from the code below, never from a map, so both bindings
//! write fields in exactly the order the portal does.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::model::{
    ActivityObj, LoginAnswer, LoginRequest, LoginResponse, LoginStatus, LogoutRequest,
    LogoutResponse, OrgItem, Status, StatusRequest, UsageItem,
};

/// One encoded value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    /// A scalar; REST writes it as a JSON string, SOAP as element text.
    Text(String),
    /// Named fields, in order.
    Obj(Fields),
    /// A list; the name is the SOAP item element (`ListObj`, `ActivityObj`).
    List(&'static str, Vec<Out>),
}

pub(crate) type Fields = Vec<(&'static str, Out)>;

// === impl Out ===

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Text(t) => s.serialize_str(t),
            Out::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Out::List(_, items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

/// Appends `name` only when the value is there: absent stays absent on the wire.
fn opt(fields: &mut Fields, name: &'static str, value: Option<String>) {
    if let Some(v) = value {
        fields.push((name, Out::Text(v)));
    }
}

fn text(v: impl ToString) -> Out {
    Out::Text(v.to_string())
}

fn bool_text(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

pub(crate) fn status(st: &Status) -> Out {
    Out::Obj(vec![
        ("Code", text(st.code.as_str())),
        ("Description", text(&st.description)),
    ])
}

fn activities(fields: &mut Fields, list: Option<&[ActivityObj]>) {
    if let Some(list) = list {
        let items = list
            .iter()
            .map(|a| {
                Out::Obj(vec![
                    ("Method", text(&a.method)),
                    ("Type", text(&a.kind)),
                    ("Id", text(&a.id)),
                ])
            })
            .collect();
        fields.push(("ActivityList", Out::List("ActivityObj", items)));
    }
}

pub(crate) fn usage_item(u: &UsageItem) -> Out {
    let mut f = vec![("PresentationInfo", text(&u.presentation_info))];
    activities(&mut f, u.activity_list.as_deref());
    Out::Obj(f)
}

pub(crate) fn org_item(o: &OrgItem) -> Out {
    let mut f = vec![
        ("Id", text(&o.id)),
        ("PresentationInfo", text(&o.presentation_info)),
    ];
    opt(&mut f, "AdditionalInfo", o.additional_info.clone());
    activities(&mut f, o.activity_list.as_deref());
    Out::Obj(f)
}

pub(crate) fn usage_list(list: &[UsageItem]) -> Out {
    Out::List("ListObj", list.iter().map(usage_item).collect())
}

pub(crate) fn org_list(list: &[OrgItem]) -> Out {
    Out::List("ListObj", list.iter().map(org_item).collect())
}

// === messages ===

pub(crate) fn login_request(r: &LoginRequest) -> Fields {
    let mut f = vec![
        ("Certificate", text(&r.certificate)),
        ("DateTime", text(&r.date_time)),
        ("Role", text(r.role.as_str())),
    ];
    if let Some(c) = &r.client {
        let mut cf = Fields::new();
        opt(&mut cf, "DeviceName", c.device_name.clone());
        opt(&mut cf, "ApplicationName", c.application_name.clone());
        opt(&mut cf, "LanguageName", c.language_name.clone());
        f.push(("Client", Out::Obj(cf)));
    }
    f
}

pub(crate) fn login_answer(r: &LoginAnswer) -> Fields {
    vec![
        ("SessionId", text(r.session_id.expose())),
        ("Value", text(&r.value)),
    ]
}

pub(crate) fn login_response(r: &LoginResponse) -> Fields {
    let mut f = Fields::new();
    opt(
        &mut f,
        "SessionId",
        r.session_id.as_ref().map(|s| s.expose().to_owned()),
    );
    opt(&mut f, "Certificate", r.certificate.clone());
    opt(&mut f, "Value", r.value.clone());
    f.push(("Status", status(&r.status)));
    f
}

/// The plaintext form is `SessionId, Count`; the encrypted one `SessionId, Blob, Count`.
fn session_call(session_id: &str, count: u64, blob: Option<&String>) -> Fields {
    let mut f = vec![("SessionId", text(session_id))];
    opt(&mut f, "Blob", blob.cloned());
    f.push(("Count", text(count)));
    f
}

pub(crate) fn status_request(r: &StatusRequest) -> Fields {
    session_call(r.session_id.expose(), r.count, r.blob.as_ref())
}

pub(crate) fn logout_request(r: &LogoutRequest) -> Fields {
    session_call(r.session_id.expose(), r.count, r.blob.as_ref())
}

pub(crate) fn logout_response(r: &LogoutResponse) -> Fields {
    let mut f = Fields::new();
    opt(&mut f, "Count", r.count.map(|c| c.to_string()));
    f.push(("Status", status(&r.status)));
    f
}

pub(crate) fn login_status(s: &LoginStatus) -> Fields {
    let mut f = Fields::new();
    opt(&mut f, "Count", s.count.map(|c| c.to_string()));
    opt(&mut f, "Id", s.id.clone());
    opt(&mut f, "ImageId", s.image_id.clone());
    opt(&mut f, "Name", s.name.clone());
    opt(&mut f, "OrganizationName", s.organization_name.clone());
    opt(&mut f, "IsLoggedIn", s.is_logged_in.map(bool_text));
    opt(
        &mut f,
        "IdleExpiration",
        s.idle_expiration.map(|i| i.to_string()),
    );
    opt(&mut f, "DateTime", s.date_time.clone());
    opt(&mut f, "TaskCounter", s.task_counter.clone());
    if let Some(list) = &s.usage_list {
        f.push(("UsageList", usage_list(list)));
    }
    if let Some(list) = &s.organization_list {
        f.push(("OrganizationList", org_list(list)));
    }
    f.push(("Status", status(&s.status)));
    f
}

/// Status-only body: the reply to a request whose own fields were unusable.
pub(crate) fn status_only(st: &Status) -> Fields {
    vec![("Status", status(st))]
}
