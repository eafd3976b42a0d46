//! The backend session id, redacted in `Debug` and `Display`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A backend session id (an EnOS `session.id` or a Net iD `SessionId`).
///
/// Holding it is holding the session, so it never prints: `Debug` and `Display` show a redacted
/// form. Serialisation keeps the real value because the cache (and a shared store) must round-trip
/// it; never serialise a `Session` into a log.
///
/// The value is shared (`Arc<str>`) so that the session cache can key an entry by the very string
/// the session holds instead of a second copy ([`SessionId::shared`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Arc<str>);

// === impl SessionId ===

impl SessionId {
    pub fn new(value: impl AsRef<str>) -> Self {
        Self(Arc::from(value.as_ref()))
    }

    /// The secret value as a shared string, for cache keys (no copy is made).
    pub fn shared(&self) -> Arc<str> {
        self.0.clone()
    }

    /// The secret value, for the wire and for cache keys only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl fmt::Display for SessionId {
    /// A length hint only: enough to tell two ids apart in a bug report by size, never by content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted:{}>", self.0.len())
    }
}

impl From<String> for SessionId {
    fn from(value: String) -> Self {
        Self(Arc::from(value))
    }
}

impl From<&str> for SessionId {
    fn from(value: &str) -> Self {
        Self(Arc::from(value))
    }
}

impl From<Arc<str>> for SessionId {
    fn from(value: Arc<str>) -> Self {
        Self(value)
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let id = SessionId::new("IAM_S_secretsecret");
        assert_eq!(format!("{id}"), "<redacted:18>");
        assert_eq!(format!("{id:?}"), "SessionId(<redacted:18>)");
        assert!(!format!("{id:#?}").contains("secret"));
        assert_eq!(id.expose(), "IAM_S_secretsecret");
    }

    #[test]
    fn serialises_as_a_plain_string() {
        let id = SessionId::new("abc");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc\"");
        let back: SessionId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, id);
    }
}
