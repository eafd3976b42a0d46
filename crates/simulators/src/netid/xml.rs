//! A small, hostile-input-safe XML reader: bytes to an element tree, or a reason to refuse.
//!
//! SOAP requests come from the network, so this refuses, rather than tries to survive, everything a
//! SOAP envelope never needs: a DOCTYPE (billion laughs, external entities), any entity reference
//! other than the five predefined ones and character references, nesting deeper than
//! [`MAX_DEPTH`], bytes that are not UTF-8, and anything that is not one well-formed element. The
//! caller bounds the input size. Namespaces are resolved (quick-xml's `NsReader`), attributes are
//! otherwise ignored: no Net iD input is carried in one.

use quick_xml::events::{BytesRef, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Deepest element nesting accepted. A Net iD request needs 6 (Envelope/Body/Method/Info/Client/…).
pub(crate) const MAX_DEPTH: usize = 32;

/// One element: its namespace and local name, its child elements in order, and its text (all text,
/// CDATA and references directly inside it, concatenated).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) ns: Option<String>,
    pub(crate) local: String,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum XmlError {
    #[error("the request is not UTF-8")]
    NotUtf8,
    #[error("DOCTYPE declarations are not allowed")]
    DocType,
    #[error("entity references other than the predefined ones are not allowed")]
    Entity,
    #[error("elements are nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("the document has no root element")]
    NoRoot,
    #[error("the document is truncated: an element is not closed")]
    Truncated,
    #[error("the document is not well-formed XML: {0}")]
    Malformed(String),
}

// === impl Element ===

impl Element {
    /// The child elements with this local name and namespace.
    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.local == local && c.ns.as_deref() == Some(ns))
    }
}

/// Parses one XML document into its root element.
pub(crate) fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|_| XmlError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        let ns = match ns {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(XmlError::Malformed(format!(
                    "undeclared namespace prefix {prefix:?}"
                )));
            }
        };
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::Malformed("more than one root element".into()));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                stack.push(element(ns, e.local_name().as_ref()));
            }
            Event::Empty(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                attach(&mut stack, &mut root, element(ns, e.local_name().as_ref()));
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unexpected end tag".into()))?;
                attach(&mut stack, &mut root, done);
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::CData(c) => push_text(&mut stack, &c)?,
            Event::GeneralRef(r) => push_text(&mut stack, &resolve(&r)?.to_string())?,
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Truncated);
    }
    root.ok_or(XmlError::NoRoot)
}

fn element(ns: Option<String>, local: &str) -> Element {
    Element {
        ns,
        local: local.to_owned(),
        ..Element::default()
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, done: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None => *root = Some(done),
    }
}

/// Text inside the current element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(current) => {
            current.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed("text outside the root element".into())),
    }
}

/// The five predefined entities and character references; everything else is refused.
fn resolve(reference: &BytesRef<'_>) -> Result<char, XmlError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err(XmlError::Malformed("invalid character reference".into())),
        };
    }
    match &**reference {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err(XmlError::Entity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_text_and_references() {
        let doc = r#"<?xml version="1.0"?><!-- hi --><a:R xmlns:a="urn:a" xmlns="urn:d">
            <C>x &lt;&amp;&gt; &#65;&#x42;<![CDATA[<raw>]]></C><E/></a:R>"#;
        let root = parse(doc.as_bytes()).unwrap();
        assert_eq!(root.local, "R");
        assert_eq!(root.ns.as_deref(), Some("urn:a"));
        assert_eq!(root.children.len(), 2);
        assert_eq!(root.children[0].ns.as_deref(), Some("urn:d"));
        assert_eq!(root.children[0].text, "x <&> AB<raw>");
        assert_eq!(root.children_named("urn:d", "E").count(), 1);
    }

    #[test]
    fn refuses_hostile_and_broken_documents() {
        let deep = format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000));
        let cases: Vec<(&[u8], XmlError)> = vec![
            (
                b"<!DOCTYPE r [<!ENTITY a \"a\">]><r>&a;</r>",
                XmlError::DocType,
            ),
            (b"<r>&xxe;</r>", XmlError::Entity),
            (deep.as_bytes(), XmlError::TooDeep),
            (b"<r>\xff</r>", XmlError::NotUtf8),
            (b"<r><a>", XmlError::Truncated),
            (b"", XmlError::NoRoot),
            (b"  <!-- only a comment -->", XmlError::NoRoot),
        ];
        for (doc, want) in cases {
            assert_eq!(parse(doc), Err(want), "{}", String::from_utf8_lossy(doc));
        }
        for doc in [
            &b"<r></s>"[..],
            b"<r/><r/>",
            b"text<r/>",
            b"<p:r/>",
            b"<r>&#0;</r>",
            b"<r a='1' a='2'",
        ] {
            assert!(
                matches!(parse(doc), Err(XmlError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    #[test]
    fn depth_limit_is_exact() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!(
            "{}<b/>{}",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
    }
}
