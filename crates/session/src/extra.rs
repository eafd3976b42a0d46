//! Backend attributes the common model has no field for ([`Extra`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

// === impl Json ===

impl Json {
    fn new(value: &Value) -> Self {
        Self(value.to_string().into_boxed_str())
    }

    fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

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

    /// Gives back spare capacity ([`crate::Session::shrink_to_fit`]).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
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
