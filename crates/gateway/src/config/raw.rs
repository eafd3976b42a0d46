//! The raw configuration: the merged sources as serde structs, every value still text.
//!
//! Each section is deserialized on its own with `deny_unknown_fields`. Leaves are [`Leaf`]s (any
//! scalar, kept as text; a table or array where a value belongs is kept as a marker), so that
//! serde itself only ever fails on an unknown key; [`parse`] records that key as a problem, drops
//! it and deserializes again, which reports every unknown key of a section at once. Checking the
//! values is [`super::validate`]'s job, also value by value.

use std::collections::BTreeMap;
use std::fmt;

use config::{Environment, File, FileFormat, Source as _, Value, ValueKind};
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer};

use super::{ConfigError, ENV_PREFIX, Problem, Sources};

/// A configuration tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Scalar(String),
    Table(BTreeMap<String, Node>),
    Array(Vec<Node>),
}

/// A leaf value as written: text, or a table or array where a single value belongs.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaf {
    Text(String),
    Nested,
}

/// The whole file, one node per section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRoot {
    pub server: Option<Node>,
    pub backends: Option<Node>,
    pub cache: Option<Node>,
    pub limits: Option<Node>,
    pub log: Option<Node>,
    pub admin: Option<Node>,
    pub tokens: Option<Node>,
    pub routes: Option<Node>,
    pub store: Option<Node>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: Option<Leaf>,
    pub admin_listen: Option<Leaf>,
    pub tls: Option<Node>,
    pub trusted_proxies: Option<Node>,
    pub max_connections: Option<Leaf>,
    pub header_timeout: Option<Leaf>,
    pub keepalive_timeout: Option<Leaf>,
    pub body_timeout: Option<Leaf>,
    pub threads: Option<Leaf>,
    pub work_stealing: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawListenerTls {
    pub listen: Option<Leaf>,
    pub cert_file: Option<Leaf>,
    pub key_file: Option<Leaf>,
    pub client_ca_file: Option<Leaf>,
    pub client_auth: Option<Leaf>,
}

/// TLS towards an upstream, shared by backends and apps.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawUpstreamTls {
    pub ca_file: Option<Leaf>,
    pub sni: Option<Leaf>,
    pub client_cert_file: Option<Leaf>,
    pub client_key_file: Option<Leaf>,
}

/// A `[backends.<name>]` table: the keys every backend has, and the kind's own (`options`,
/// checked against the kind's list).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawBackend {
    pub kind: Option<Leaf>,
    pub url: Option<Leaf>,
    #[serde(flatten)]
    pub timeouts: RawTimeouts,
    pub timeout: Option<Leaf>,
    pub max_concurrent_calls: Option<Leaf>,
    #[serde(flatten)]
    pub tls: RawUpstreamTls,
    #[serde(flatten)]
    pub options: BTreeMap<String, Node>,
}

/// Timeouts of proxied traffic, shared by backends and apps.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawTimeouts {
    pub connect_timeout: Option<Leaf>,
    pub read_timeout: Option<Leaf>,
    pub write_timeout: Option<Leaf>,
    pub idle_timeout: Option<Leaf>,
    pub request_timeout: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRoute {
    pub prefix: Option<Leaf>,
    pub upstream: Option<Leaf>,
    pub strip_prefix: Option<Leaf>,
    pub forward_credentials: Option<Leaf>,
    pub connect_timeout: Option<Leaf>,
    pub read_timeout: Option<Leaf>,
    pub write_timeout: Option<Leaf>,
    pub idle_timeout: Option<Leaf>,
    pub request_timeout: Option<Leaf>,
    pub ca_file: Option<Leaf>,
    pub sni: Option<Leaf>,
    pub client_cert_file: Option<Leaf>,
    pub client_key_file: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCache {
    pub max_sessions: Option<Leaf>,
    pub revalidate_after: Option<Leaf>,
    pub negative_ttl: Option<Leaf>,
    pub max_stale: Option<Leaf>,
    pub max_rendered_bytes: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub redis_url: Option<Leaf>,
    pub key_prefix: Option<Leaf>,
    pub timeout: Option<Leaf>,
    pub ca_file: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    pub max_body_bytes: Option<Leaf>,
    pub max_header_bytes: Option<Leaf>,
    pub max_xml_depth: Option<Leaf>,
    pub max_xml_elements: Option<Leaf>,
    pub max_xml_attributes: Option<Leaf>,
    pub max_xml_text_bytes: Option<Leaf>,
    pub login_failures_per_address: Option<Leaf>,
    pub login_failures_per_account: Option<Leaf>,
    pub login_failure_window: Option<Leaf>,
    pub lookups_per_address: Option<Leaf>,
    pub lookup_window: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub format: Option<Leaf>,
    pub level: Option<Leaf>,
    pub access_sample: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    pub token: Option<Leaf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTokens {
    pub issuer: Option<Leaf>,
    pub audience: Option<Leaf>,
    pub ttl: Option<Leaf>,
    pub leeway: Option<Leaf>,
    pub algorithm: Option<Leaf>,
    pub key_dir: Option<Leaf>,
    pub signing_kid: Option<Leaf>,
    pub hs256_secret: Option<Leaf>,
}

/// Reads and merges the sources, later ones winning, into one tree.
pub fn merge(sources: &Sources) -> Result<Node, ConfigError> {
    merge_with(sources, None)
}

/// [`merge`], with `text` (TOML) layered over the files as one more file, read by the same
/// parser; the environment still wins.
pub fn merge_with(sources: &Sources, text: Option<&str>) -> Result<Node, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(path) = &sources.default_file {
        builder = builder.add_source(
            File::from(path.clone())
                .format(FileFormat::Toml)
                .required(false),
        );
    }
    if let Some(path) = &sources.file {
        if !path.is_file() {
            return Err(ConfigError::one(
                path.display().to_string(),
                "file not found",
            ));
        }
        builder = builder.add_source(
            File::from(path.clone())
                .format(FileFormat::Toml)
                .required(true),
        );
    }
    if let Some(text) = text {
        builder = builder.add_source(File::from_str(text, FileFormat::Toml));
    }
    let env = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .source(sources.env.clone());
    let merged = builder
        .add_source(env)
        .build()
        .and_then(|c| c.collect())
        .map_err(|e| ConfigError::one("<sources>", e.to_string()))?;
    Ok(Node::Table(
        merged
            .into_iter()
            .map(|(k, v)| (k, Node::from(v)))
            .collect(),
    ))
}

/// `node` as a `T`, with every unknown key of it recorded as a problem under `key` and left out.
/// `None` (and a problem) when `node` is not a table at all.
pub fn parse<T: DeserializeOwned + Default>(
    key: &str,
    node: Option<Node>,
    problems: &mut Vec<Problem>,
) -> T {
    let mut table = match node {
        None => return T::default(),
        Some(Node::Table(t)) => t,
        Some(_) => {
            problems.push(Problem {
                key: key.to_owned(),
                message: "must be a table".into(),
            });
            return T::default();
        }
    };
    loop {
        match T::deserialize(NodeDe(Node::Table(table.clone()))) {
            Ok(t) => return t,
            Err(DeError::UnknownField(field)) if table.remove(&field).is_some() => {
                problems.push(Problem {
                    key: join(key, &field),
                    message: "unknown key".into(),
                });
            }
            Err(e) => {
                problems.push(Problem {
                    key: key.to_owned(),
                    message: e.to_string(),
                });
                return T::default();
            }
        }
    }
}

/// `prefix.key`, or `key` at the top.
pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

// === impl Node ===

impl From<Value> for Node {
    fn from(v: Value) -> Self {
        match v.kind {
            ValueKind::Table(t) => Self::Table(t.into_iter().map(|(k, v)| (k, v.into())).collect()),
            ValueKind::Array(a) => Self::Array(a.into_iter().map(Node::from).collect()),
            ValueKind::Nil => Self::Scalar(String::new()),
            ValueKind::String(s) => Self::Scalar(s),
            other => Self::Scalar(Value::new(None, other).to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a configuration value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(v))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut t = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Node>()? {
            t.insert(k, v);
        }
        Ok(Node::Table(t))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut a = Vec::new();
        while let Some(v) = seq.next_element::<Node>()? {
            a.push(v);
        }
        Ok(Node::Array(a))
    }
}

impl<'de> Deserialize<'de> for Leaf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Node::deserialize(d)? {
            Node::Scalar(s) => Self::Text(s),
            Node::Table(_) | Node::Array(_) => Self::Nested,
        })
    }
}

/// Why a raw struct could not be read from a node.
#[derive(Debug)]
pub enum DeError {
    UnknownField(String),
    Other(String),
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownField(k) => write!(f, "unknown key {k}"),
            Self::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Other(msg.to_string())
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        Self::UnknownField(field.to_owned())
    }
}

/// A serde deserializer over a [`Node`], with an error type that names unknown keys.
pub struct NodeDe(pub Node);

impl<'de> IntoDeserializer<'de, DeError> for Node {
    type Deserializer = NodeDe;

    fn into_deserializer(self) -> NodeDe {
        NodeDe(self)
    }
}

impl<'de> Deserializer<'de> for NodeDe {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Node::Scalar(s) => visitor.visit_string(s),
            Node::Table(t) => visitor.visit_map(MapDeserializer::new(t.into_iter())),
            Node::Array(a) => visitor.visit_seq(SeqDeserializer::new(a.into_iter())),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, Node)]) -> Option<Node> {
        Some(Node::Table(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ))
    }

    #[test]
    fn every_unknown_key_of_a_section_is_a_problem_and_the_rest_is_read() {
        let mut problems = Vec::new();
        let cache: RawCache = parse(
            "cache",
            table(&[
                ("revalidate_afer", Node::Scalar("10s".into())),
                ("max_sessions", Node::Scalar("5".into())),
                ("also_wrong", Node::Scalar("x".into())),
            ]),
            &mut problems,
        );
        assert_eq!(cache.max_sessions, Some(Leaf::Text("5".into())));
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["cache.also_wrong", "cache.revalidate_afer"]);
    }

    #[test]
    fn tables_where_values_belong_are_marked_not_fatal() {
        let mut problems = Vec::new();
        let log: RawLog = parse(
            "log",
            table(&[("level", Node::Table(BTreeMap::new()))]),
            &mut problems,
        );
        assert_eq!(log.level, Some(Leaf::Nested));
        assert!(problems.is_empty());
    }

    #[test]
    fn backend_tables_keep_the_kinds_keys() {
        let mut problems = Vec::new();
        let b: RawBackend = parse(
            "backends.enos",
            table(&[
                ("url", Node::Scalar("http://x".into())),
                ("read_timeout", Node::Scalar("1s".into())),
                ("logout_path", Node::Scalar("/out".into())),
            ]),
            &mut problems,
        );
        assert!(problems.is_empty());
        assert_eq!(b.timeouts.read_timeout, Some(Leaf::Text("1s".into())));
        assert_eq!(b.options.keys().collect::<Vec<_>>(), vec!["logout_path"]);
    }
}
