//! Reading a request of the unified SOAP face: envelope, operation element, fields.
//!
//! Fields follow the WSDL's `xsd:sequence`: each at most once, in the declared order, in the
//! face's namespace, text only. Anything else is an error rather than ignored, because a field a
//! gateway skips is a field a client believes was honoured.

use super::{NS, Operation, UnifiedSoapRequest};
use crate::enos::AuthType;
use crate::error::printable;
use crate::netid::Role;
use crate::netid::soap::NS_SOAP_ENV;
use crate::netid::soap::xml::{self, Element};
use crate::unified::LoginRequest;
use crate::unified::login::{Draft, Names, parse_backend};
use crate::{DecodeError, Limits};

/// `Login`'s children, in the WSDL's order.
const LOGIN_FIELDS: [&str; 10] = [
    "Backend",
    "Principal",
    "Credentials",
    "AuthType",
    "LinkName",
    "ExpireInterval",
    "Certificate",
    "Role",
    "SessionId",
    "Answer",
];

const NAMES: Names = Names {
    backend: "Backend",
    principal: "Principal",
    credentials: "Credentials",
    auth_type: "AuthType",
    link_name: "LinkName",
    expire_interval: "ExpireInterval",
    certificate: "Certificate",
    role: "Role",
    session_id: "SessionId",
    answer: "Answer",
};

/// Parses a request of the face.
///
/// `soap_action` is the HTTP `SOAPAction` header when the client sent one; it must then name
/// the same operation as the body element (routing on one and acting on the other would let a
/// request pass one check and reach another operation). It is checked before the body is
/// parsed. Errors: [`DecodeError::UnknownAction`] for a foreign or mismatched action; the
/// reader's errors (size, DOCTYPE, entities, depth, syntax); [`DecodeError::UnexpectedElement`]
/// for a foreign envelope, operation or field; [`DecodeError::Duplicate`] for a repeated field;
/// field errors for missing, empty or ill-typed values.
pub fn parse_request(
    body: &[u8],
    limits: &Limits,
    soap_action: Option<&str>,
) -> Result<UnifiedSoapRequest, DecodeError> {
    let announced = match soap_action {
        Some(header) => Operation::from_soap_action(header)?,
        None => None,
    };
    let element = operation_element(xml::parse(body, limits)?)?;
    let operation = Operation::from_name(&element.local)
        .filter(|_| element.ns.as_deref() == Some(NS))
        .ok_or_else(|| DecodeError::unexpected(&element.local))?;
    if announced.is_some_and(|a| a != operation) {
        return Err(DecodeError::UnknownAction(
            "the SOAPAction does not match the body".into(),
        ));
    }
    match operation {
        Operation::Login => login(element).map(UnifiedSoapRequest::Login),
        Operation::GetSession => {
            token(element).map(|token| UnifiedSoapRequest::GetSession { token })
        }
        Operation::Logout => token(element).map(|token| UnifiedSoapRequest::Logout { token }),
    }
}

/// `s:Envelope` → optional `s:Header` (ignored) → `s:Body` → its one element.
fn operation_element(root: Element) -> Result<Element, DecodeError> {
    if !root.is(NS_SOAP_ENV, "Envelope") {
        return Err(DecodeError::unexpected(&root.local));
    }
    let body = only_child(root, "Body", |c| c.is(NS_SOAP_ENV, "Header"))?;
    if !body.is(NS_SOAP_ENV, "Body") {
        return Err(DecodeError::unexpected(&body.local));
    }
    only_child(body, "operation element", |_| false)
}

/// The one child of `el` once leading children that `skip` accepts (at most one) are dropped.
fn only_child(
    el: Element,
    what: &'static str,
    skip: impl Fn(&Element) -> bool,
) -> Result<Element, DecodeError> {
    if el.has_text() {
        return Err(DecodeError::Xml("mixed content".into()));
    }
    let mut children = el.children.into_iter().peekable();
    if children.peek().is_some_and(skip) {
        children.next();
    }
    let first = children.next().ok_or(DecodeError::MissingField(what))?;
    if let Some(extra) = children.next() {
        return Err(DecodeError::unexpected(&extra.local));
    }
    Ok(first)
}

/// The text of each field named in `order`, `None` where absent; see the module docs.
fn fields<const N: usize>(
    el: Element,
    order: &[&'static str; N],
) -> Result<[Option<String>; N], DecodeError> {
    if el.has_text() {
        return Err(DecodeError::Xml("mixed content".into()));
    }
    let mut slots: [Option<String>; N] = std::array::from_fn(|_| None);
    let mut next = 0;
    for child in el.children {
        let index = order
            .iter()
            .position(|name| *name == child.local)
            .filter(|_| child.ns.as_deref() == Some(NS))
            .ok_or_else(|| DecodeError::unexpected(&child.local))?;
        let slot = slots
            .get_mut(index)
            .ok_or_else(|| DecodeError::unexpected(&child.local))?;
        if slot.is_some() {
            return Err(DecodeError::duplicate(&child.local));
        }
        if index < next {
            return Err(DecodeError::UnexpectedElement(format!(
                "{} (out of order)",
                printable(&child.local)
            )));
        }
        if let Some(grandchild) = child.children.first() {
            return Err(DecodeError::unexpected(&grandchild.local));
        }
        *slot = Some(child.text);
        next = index + 1;
    }
    Ok(slots)
}

fn login(el: Element) -> Result<LoginRequest, DecodeError> {
    let [
        backend,
        principal,
        credentials,
        auth_type,
        link_name,
        expire_interval,
        certificate,
        role,
        session_id,
        answer,
    ] = fields(el, &LOGIN_FIELDS)?;
    // Enumerations and numbers are whitespace-collapsed as XSD does; strings (the password above
    // all) are taken exactly as sent, except the certificate, whose base64 may come with surrounding whitespace.
    let draft = Draft {
        backend: typed(
            backend,
            NAMES.backend,
            "expected enos or netid",
            parse_backend,
        )?,
        principal,
        credentials,
        auth_type: typed(auth_type, NAMES.auth_type, "expected 0 or 1", |t| {
            t.parse::<i64>().ok().and_then(AuthType::from_code)
        })?,
        link_name,
        expire_interval: typed(
            expire_interval,
            NAMES.expire_interval,
            "expected a non-negative integer",
            |t| t.parse::<u64>().ok(),
        )?,
        certificate: certificate.map(|c| c.trim().to_owned()),
        role: typed(role, NAMES.role, "expected Self or Officer", Role::parse)?,
        // base64, like the certificate.
        session_id: session_id.map(|s| s.trim().to_owned()),
        answer: answer.map(|a| a.trim().to_owned()),
    };
    draft.finish(&NAMES)
}

/// A whitespace-collapsed value parsed by `parse`, or a field error naming what was expected.
fn typed<T>(
    text: Option<String>,
    field: &'static str,
    expected: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, DecodeError> {
    text.map(|t| parse(t.trim()).ok_or_else(|| DecodeError::invalid(field, expected)))
        .transpose()
}

/// `GetSession` / `Logout`: one `Token`, a gateway token or a backend session id.
fn token(el: Element) -> Result<String, DecodeError> {
    let [token] = fields(el, &["Token"])?;
    let token = token.ok_or(DecodeError::MissingField("Token"))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(DecodeError::invalid("Token", "must not be empty"));
    }
    // No credential has these, and they could split a header or a log line downstream.
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DecodeError::invalid(
            "Token",
            "must not contain whitespace or control characters",
        ));
    }
    Ok(token.to_owned())
}
