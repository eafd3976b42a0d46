//! Hardened JSON parsing and the loose scalar readers both JSON protocols need.
//!
//! `serde_json` alone would accept duplicate keys (last one wins) and nest to 128 levels. A
//! gateway must not: a duplicated `SessionId` or `credentials` is how one value reaches the
//! gateway's checks and another the backend, and nesting is a stack-cost lever. So the depth is
//! scanned before parsing, and the value is built by a visitor that refuses duplicate keys.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::{DecodeError, Limits, limits::utf8_body};

/// Parses `body` into a [`Value`] after the size, UTF-8 and depth checks; rejects duplicate keys.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Value, DecodeError> {
    let text = utf8_body(body, limits)?;
    check_depth(text.as_bytes(), limits)?;
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = StrictSeed {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| match duplicate.into_inner() {
        Some(key) => DecodeError::duplicate(&key),
        None => json_error(&e),
    })
}

/// Like [`parse`], but the root must be an object (every message of both protocols is one).
pub(crate) fn parse_object(
    body: &[u8],
    limits: &Limits,
) -> Result<Map<String, Value>, DecodeError> {
    match parse(body, limits)? {
        Value::Object(map) => Ok(map),
        _ => Err(DecodeError::Json("expected a JSON object".into())),
    }
}

/// `serde_json`'s syntax messages are fixed texts with a position; its data messages may quote
/// the value, so those are replaced.
fn json_error(e: &serde_json::Error) -> DecodeError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => DecodeError::Json(e.to_string()),
        Category::Data => DecodeError::Json(format!(
            "unsupported value at line {} column {}",
            e.line(),
            e.column()
        )),
        Category::Io => DecodeError::Json("unreadable input".into()),
    }
}

/// Counts `{`/`[` nesting outside strings; cheap, and runs before any allocation-heavy parsing.
fn check_depth(text: &[u8], limits: &Limits) -> Result<(), DecodeError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                limits.check_depth(depth)?;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

// === impl StrictSeed ===

/// Builds a [`Value`] like `serde_json` does, but records and rejects the first duplicate key.
#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(key);
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

// === loose scalars ===

/// An integer that may arrive as a JSON integer, an integral float (`0.0`, `1.601192046E12`) or
/// a string holding either. Java and .NET backends produce all of these for "a number".
pub(crate) fn loose_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
            .or_else(|| n.as_f64().and_then(integral_f64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(integral_f64))
        }
        _ => None,
    }
}

/// A non-negative [`loose_i64`].
pub(crate) fn loose_u64(v: &Value) -> Option<u64> {
    if let Value::String(s) = v
        && let Ok(u) = s.trim().parse::<u64>()
    {
        return Some(u);
    }
    if let Value::Number(n) = v
        && let Some(u) = n.as_u64()
    {
        return Some(u);
    }
    loose_i64(v).and_then(|i| u64::try_from(i).ok())
}

/// `true`/`false`, or a string `True`/`False` in any case (WCF writes `True`).
pub(crate) fn loose_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn integral_f64(f: f64) -> Option<i64> {
    // 2^63 as f64; anything at or above it does not fit in an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        #[allow(clippy::cast_possible_truncation)]
        Some(f as i64)
    } else {
        None
    }
}

// === field access ===

/// A present, non-null member.
pub(crate) fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// A string member that may be absent or null.
pub(crate) fn opt_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<&'a str>, DecodeError> {
    match member(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DecodeError::invalid(field, "expected a string")),
    }
}

/// A mandatory string member.
pub(crate) fn req_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a str, DecodeError> {
    opt_str(map, key, field)?.ok_or(DecodeError::MissingField(field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_keys_are_rejected_at_any_depth() {
        let l = Limits::default();
        assert_eq!(
            parse(br#"{"a":1,"a":2}"#, &l),
            Err(DecodeError::Duplicate("a".into()))
        );
        assert_eq!(
            parse(br#"{"x":[{"b":1,"b":1}]}"#, &l),
            Err(DecodeError::Duplicate("b".into()))
        );
        assert_eq!(
            parse(br#"{"a":{"a":1}}"#, &l).unwrap(),
            json!({"a":{"a":1}})
        );
    }

    #[test]
    fn depth_counts_containers_outside_strings() {
        let l = Limits {
            max_body: 1024,
            max_depth: 2,
            ..Limits::default()
        };
        assert!(parse(br#"{"a":{"b":"[[[[{{{{"}}"#, &l).is_ok());
        assert_eq!(
            parse(br#"{"a":{"b":[]}}"#, &l),
            Err(DecodeError::TooDeep { limit: 2 })
        );
        assert!(parse(br#"{"a":"\"[[["}"#, &l).is_ok());
    }

    #[test]
    fn trailing_content_and_non_objects_fail() {
        let l = Limits::default();
        assert!(matches!(parse(b"{} {}", &l), Err(DecodeError::Json(_))));
        assert!(matches!(parse(b"", &l), Err(DecodeError::Json(_))));
        assert!(matches!(
            parse_object(b"[1]", &l),
            Err(DecodeError::Json(_))
        ));
    }

    #[test]
    fn loose_numbers() {
        assert_eq!(loose_i64(&json!(7200)), Some(7200));
        assert_eq!(loose_i64(&json!(0.0)), Some(0));
        assert_eq!(loose_i64(&json!(1.601192046E12)), Some(1_601_192_046_000));
        assert_eq!(loose_i64(&json!(" 42 ")), Some(42));
        assert_eq!(loose_i64(&json!("1.5E3")), Some(1500));
        assert_eq!(loose_i64(&json!(1.5)), None);
        assert_eq!(loose_i64(&json!("abc")), None);
        assert_eq!(loose_i64(&json!(true)), None);
        assert_eq!(loose_i64(&json!(1e300)), None);
        assert_eq!(loose_u64(&json!(-1)), None);
        assert_eq!(loose_u64(&json!(u64::MAX)), Some(u64::MAX));
        assert_eq!(loose_u64(&json!("18446744073709551615")), Some(u64::MAX));
    }

    #[test]
    fn loose_booleans() {
        assert_eq!(loose_bool(&json!("True")), Some(true));
        assert_eq!(loose_bool(&json!("FALSE")), Some(false));
        assert_eq!(loose_bool(&json!(true)), Some(true));
        assert_eq!(loose_bool(&json!("yes")), None);
        assert_eq!(loose_bool(&json!(1)), None);
    }
}
