//! The SOAP 1.1 envelope around a portal message: validation and the generic message view.

use serde_json::{Map, Value};

use super::xml::{self, Element};
use super::{NS_PORTAL, NS_SOAP_ENV};
use crate::{DecodeError, Limits};

/// A parsed portal message: the `s:Body`'s method element and the fields of its single child.
///
/// For a request the method element is e.g. `GetLoginStatus` and the child `Info`; for a
/// response `GetLoginStatusResponse` and `GetLoginStatusResult`. The typed decoders build on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapRequest {
    /// Local name of the method element (in the portal namespace).
    pub method: String,
    /// Local name of its child (`Info`, or `<Method>Result` in a response).
    pub payload: String,
    /// The payload's child elements, in document order.
    pub fields: Vec<Field>,
}

/// One field of a portal message.
#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: FieldValue,
}

/// A field's content: text (an empty element is empty text), or nested fields.
#[derive(Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Nested(Vec<Field>),
}

/// A SOAP 1.1 Fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `faultcode`, e.g. `s:Client`.
    pub code: String,
    /// `faultstring`.
    pub message: String,
}

/// Parses a portal SOAP message (request or response). See [`SoapRequest`].
pub fn parse_request(body: &[u8], limits: &Limits) -> Result<SoapRequest, DecodeError> {
    let body = soap_body(xml::parse(body, limits)?)?;
    let method = single_child(body, "Body content")?;
    if method.ns.as_deref() != Some(NS_PORTAL) {
        return Err(foreign(&method));
    }
    let method_name = method.local.clone();
    let payload = single_child(method, "Info")?;
    let fields = fields(payload.children, payload.text.trim().is_empty())?;
    Ok(SoapRequest {
        method: method_name,
        payload: payload.local,
        fields,
    })
}

/// Decodes a SOAP 1.1 Fault response.
pub fn decode_fault(body: &[u8], limits: &Limits) -> Result<Fault, DecodeError> {
    let body = soap_body(xml::parse(body, limits)?)?;
    let fault = single_child(body, "Fault")?;
    if !fault.is(NS_SOAP_ENV, "Fault") {
        return Err(DecodeError::unexpected(&fault.local));
    }
    let text = |name: &'static str| {
        fault
            .children
            .iter()
            .find(|c| c.local == name)
            .map(|c| c.text.trim().to_owned())
            .ok_or(DecodeError::MissingField(name))
    };
    Ok(Fault {
        code: text("faultcode")?,
        message: text("faultstring")?,
    })
}

/// The envelope's `Body` element; a `Header` before it is allowed and ignored.
fn soap_body(root: Element) -> Result<Element, DecodeError> {
    if !root.is(NS_SOAP_ENV, "Envelope") {
        return Err(foreign(&root));
    }
    if root.has_text() {
        return Err(DecodeError::Xml("text inside the envelope".into()));
    }
    let mut body = None;
    for child in root.children {
        match child.local.as_str() {
            "Header" if body.is_none() && child.is(NS_SOAP_ENV, "Header") => {}
            "Body" if body.is_none() && child.is(NS_SOAP_ENV, "Body") => body = Some(child),
            _ => return Err(foreign(&child)),
        }
    }
    body.ok_or(DecodeError::MissingField("Body"))
}

fn single_child(el: Element, what: &'static str) -> Result<Element, DecodeError> {
    if el.has_text() {
        return Err(DecodeError::Xml(format!("text inside {}", el.local)));
    }
    let mut children = el.children.into_iter();
    let first = children.next().ok_or(DecodeError::MissingField(what))?;
    if let Some(extra) = children.next() {
        return Err(DecodeError::unexpected(&extra.local));
    }
    Ok(first)
}

fn foreign(el: &Element) -> DecodeError {
    DecodeError::UnexpectedElement(format!(
        "{} ({})",
        crate::error::printable(&el.local),
        if el.ns.is_some() {
            "in an unexpected namespace"
        } else {
            "in no namespace"
        }
    ))
}

/// Message fields are in the portal namespace (inherited) or, from lax clients, in none.
fn fields(children: Vec<Element>, text_ok: bool) -> Result<Vec<Field>, DecodeError> {
    if !text_ok {
        return Err(DecodeError::Xml("mixed content".into()));
    }
    children
        .into_iter()
        .map(|el| {
            if el.ns.as_deref().is_some_and(|ns| ns != NS_PORTAL) {
                return Err(foreign(&el));
            }
            let value = if el.children.is_empty() {
                FieldValue::Text(el.text)
            } else {
                FieldValue::Nested(fields(el.children, el.text.trim().is_empty())?)
            };
            Ok(Field {
                name: el.local,
                value,
            })
        })
        .collect()
}

// === impl SoapRequest ===

impl SoapRequest {
    /// The fields in the REST binding's JSON shape: text → string, `…List` → array of its
    /// `ListObj`/`ActivityObj` items, other nested fields → object. Duplicates are refused.
    pub(crate) fn to_json(&self) -> Result<Map<String, Value>, DecodeError> {
        object(&self.fields)
    }

    /// The first field with this name.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }
}

fn object(fields: &[Field]) -> Result<Map<String, Value>, DecodeError> {
    let mut map = Map::new();
    for f in fields {
        let value = match &f.value {
            FieldValue::Text(t) => Value::String(t.clone()),
            FieldValue::Nested(items) if f.name.ends_with("List") => Value::Array(
                items
                    .iter()
                    .map(|item| match (&item.value, item.name.as_str()) {
                        (FieldValue::Nested(inner), "ListObj" | "ActivityObj") => {
                            object(inner).map(Value::Object)
                        }
                        (FieldValue::Text(t), "ListObj" | "ActivityObj") if t.trim().is_empty() => {
                            Ok(Value::Object(Map::new()))
                        }
                        _ => Err(DecodeError::unexpected(&item.name)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            FieldValue::Nested(inner) => Value::Object(object(inner)?),
        };
        if map.insert(f.name.clone(), value).is_some() {
            return Err(DecodeError::duplicate(&f.name));
        }
    }
    Ok(map)
}

// === Debug without values ===

impl std::fmt::Debug for Field {
    /// Names only: a field may be a session id or a certificate.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            FieldValue::Text(t) => write!(f, "{}=<{} bytes>", self.name, t.len()),
            FieldValue::Nested(inner) => f.debug_map().entry(&self.name, inner).finish(),
        }
    }
}

impl std::fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Text(t) => write!(f, "Text(<{} bytes>)", t.len()),
            FieldValue::Nested(inner) => f.debug_list().entries(inner).finish(),
        }
    }
}
