//! The one error type of every decoder in this crate.
//!
//! Messages are written to be safe to show to the client that sent the body: they name fields,
//! elements and limits, never a value. A value may be a password, a session id or a certificate,
//! and an error message travels further (logs, SOAP faults, REST error bodies) than the value should.

use thiserror::Error;

/// Why a body (or a decoded value) could not be turned into a typed message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is larger than [`crate::Limits::max_body`]; checked before any parsing.
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// Elements or JSON containers nest deeper than [`crate::Limits::max_depth`].
    #[error("nesting exceeds the limit of {limit} levels")]
    TooDeep { limit: usize },
    /// The XML has more elements than [`crate::Limits::max_elements`]; refused before the tree
    /// grows past the limit, so a flood of small elements cannot cost more than the limit allows.
    #[error("document exceeds the limit of {limit} elements")]
    TooManyElements { limit: usize },
    /// The XML has more attributes (namespace declarations included) than
    /// [`crate::Limits::max_attributes`].
    #[error("document exceeds the limit of {limit} attributes")]
    TooManyAttributes { limit: usize },
    /// The XML's character data (text and CDATA, references resolved) exceeds
    /// [`crate::Limits::max_text_bytes`].
    #[error("character data exceeds the limit of {limit} bytes")]
    TooMuchText { limit: usize },
    /// The XML carries a document type declaration; DTDs are never read.
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    /// The XML references an entity other than the five predefined ones or a character reference.
    #[error("entity references other than the predefined ones are not allowed")]
    EntityReference,
    /// The body is not well-formed JSON (the text is ours, never the parser's value dump).
    #[error("malformed JSON: {0}")]
    Json(String),
    /// The body is not well-formed XML, or not the XML this crate expects.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The body is not valid UTF-8.
    #[error("body is not valid UTF-8")]
    NotUtf8,
    /// A mandatory field is absent (or null).
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field is present but unusable; `reason` describes the expectation, not the value.
    #[error("invalid field {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// The same key or element appears twice where one is allowed. Two copies of a field are how a
    /// request smuggles one value past a gateway and another to the backend, so this is fatal.
    #[error("duplicate field {0}")]
    Duplicate(String),
    /// An element is not the one expected at this place (or is in the wrong namespace).
    #[error("unexpected element {0}")]
    UnexpectedElement(String),
    /// A `SOAPAction` header that does not name a portal service method.
    #[error("unknown SOAPAction: {0}")]
    UnknownAction(String),
    /// A status reply that does not describe a logged-in session cannot become a [`Session`].
    ///
    /// [`Session`]: idbridge_session::Session
    #[error("the session is not logged in")]
    NotLoggedIn,
}

// === impl DecodeError ===

impl DecodeError {
    /// True when the document itself was well-formed and only a field's presence or value was
    /// wrong. Net iD answers those with a non-Success `Status` (`InvalidInput`, HTTP 200) rather
    /// than a SOAP Fault; EnOS and the REST binding do not distinguish.
    pub fn is_field_error(&self) -> bool {
        matches!(self, Self::MissingField(_) | Self::InvalidField { .. })
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn unexpected(name: &str) -> Self {
        Self::UnexpectedElement(printable(name))
    }

    pub(crate) fn duplicate(name: &str) -> Self {
        Self::Duplicate(printable(name))
    }
}

/// Names come from the peer; keep them short and printable before they reach a log or a response.
pub(crate) fn printable(name: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = name
        .chars()
        .take(MAX)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if name.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_truncated_and_sanitised() {
        assert_eq!(printable("Count"), "Count");
        assert_eq!(printable("a\nb"), "a?b");
        let long = "x".repeat(100);
        assert_eq!(printable(&long).chars().count(), 65);
    }

    #[test]
    fn field_errors_are_told_apart_from_malformed_documents() {
        assert!(DecodeError::MissingField("Count").is_field_error());
        assert!(DecodeError::invalid("Count", "x").is_field_error());
        assert!(!DecodeError::Doctype.is_field_error());
        assert!(!DecodeError::TooManyElements { limit: 1 }.is_field_error());
        assert!(!DecodeError::TooManyAttributes { limit: 1 }.is_field_error());
        assert!(!DecodeError::TooMuchText { limit: 1 }.is_field_error());
        assert!(!DecodeError::Xml("x".into()).is_field_error());
        assert!(!DecodeError::duplicate("Count").is_field_error());
    }

    #[test]
    fn messages_name_the_field_not_the_value() {
        let e = DecodeError::invalid("Count", "expected a non-negative integer");
        assert_eq!(
            e.to_string(),
            "invalid field Count: expected a non-negative integer"
        );
    }
}
