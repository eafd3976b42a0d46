//! A hardened XML reader: the whole document into a small element tree, or a typed error.
//!
//! It never reads a DTD and never expands an entity (a DOCTYPE is refused outright, so neither
//! billion-laughs nor external entities can start), resolves only the five predefined entities
//! and character references, bounds nesting by [`Limits::max_depth`], refuses anything after the
//! root element, and resolves element names to namespace URIs so callers match on URIs, not on
//! prefixes.

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::limits::utf8_body;
use crate::{DecodeError, Limits};

/// One element: resolved name, child elements in order, and its own character data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    /// Namespace URI; `None` when the name is in no namespace.
    pub(crate) ns: Option<String>,
    pub(crate) local: String,
    pub(crate) children: Vec<Element>,
    /// All direct character data, concatenated (whitespace between children included).
    pub(crate) text: String,
}

// === impl Element ===

impl Element {
    pub(crate) fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    pub(crate) fn has_text(&self) -> bool {
        !self.text.trim().is_empty()
    }
}

/// Parses a whole document; see the module docs for what is refused.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Element, DecodeError> {
    let text = utf8_body(body, limits)?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut started = false;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(xml_error(&e, reader.error_position())),
        };
        let first = !started;
        started = true;
        match event {
            Event::Decl(decl) => {
                if !first {
                    return Err(DecodeError::Xml("misplaced XML declaration".into()));
                }
                if let Some(enc) = decl.encoding() {
                    let enc =
                        enc.map_err(|_| DecodeError::Xml("malformed XML declaration".into()))?;
                    if !enc.eq_ignore_ascii_case("utf-8") {
                        return Err(DecodeError::Xml("only UTF-8 documents are accepted".into()));
                    }
                }
            }
            Event::DocType(_) => return Err(DecodeError::Doctype),
            Event::PI(_) | Event::Comment(_) => {}
            Event::Start(start) => {
                let el = open(&reader, &start, &stack, &root, limits)?;
                stack.push(el);
            }
            Event::Empty(start) => {
                let el = open(&reader, &start, &stack, &root, limits)?;
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| DecodeError::Xml("unmatched end tag".into()))?;
                close(el, &mut stack, &mut root);
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::CData(c) => push_text(&mut stack, &c.xml10_content())?,
            Event::GeneralRef(r) => {
                let resolved = resolve_reference(&r)?;
                push_text(&mut stack, resolved.encode_utf8(&mut [0; 4]))?;
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(DecodeError::Xml("unexpected end of document".into()));
                }
                return root.ok_or_else(|| DecodeError::Xml("no root element".into()));
            }
        }
    }
}

fn open(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    stack: &[Element],
    root: &Option<Element>,
    limits: &Limits,
) -> Result<Element, DecodeError> {
    if root.is_some() {
        return Err(DecodeError::Xml("content after the root element".into()));
    }
    limits.check_depth(stack.len() + 1)?;
    for attr in start.attributes() {
        let attr = attr.map_err(|_| DecodeError::Xml("malformed attribute".into()))?;
        check_attribute_references(&attr.value)?;
    }
    let (ns, local) = reader.resolver().resolve_element(start.name());
    let ns = match ns {
        ResolveResult::Bound(ns) => Some(ns.into_inner().to_owned()),
        ResolveResult::Unbound => None,
        ResolveResult::Unknown(_) => {
            return Err(DecodeError::Xml("undeclared namespace prefix".into()));
        }
    };
    Ok(Element {
        ns,
        local: local.into_inner().to_owned(),
        ..Element::default()
    })
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// Character data belongs to the open element; outside the root only whitespace may appear.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), DecodeError> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(DecodeError::Xml("text outside the root element".into())),
    }
}

/// The five predefined entities and character references; anything else would need a DTD.
fn resolve_reference(r: &BytesRef<'_>) -> Result<char, DecodeError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(c),
            _ => Err(DecodeError::Xml("invalid character reference".into())),
        };
    }
    predefined(r).ok_or(DecodeError::EntityReference)
}

fn predefined(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// Attribute values are not expanded here (only namespace URIs are used, compared raw), but an
/// undefined reference in one is as much a DTD dependency as in text, so it is refused the same.
fn check_attribute_references(raw: &str) -> Result<(), DecodeError> {
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        let after = &rest[at + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| DecodeError::Xml("malformed reference".into()))?;
        resolve_reference(&BytesRef::new(&after[..end]))?;
        rest = &after[end + 1..];
    }
    Ok(())
}

/// XML 1.0 `Char`: a character reference may not smuggle in what the text itself may not hold.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Only quick-xml's fixed syntax messages are passed on; ill-formedness messages quote names.
fn xml_error(e: &quick_xml::Error, position: u64) -> DecodeError {
    use quick_xml::Error;
    let what = match e {
        Error::Syntax(s) => s.to_string(),
        Error::IllFormed(_) => "ill-formed document".into(),
        Error::InvalidAttr(_) => "malformed attribute".into(),
        Error::Encoding(_) => "invalid encoding".into(),
        Error::Escape(_) => "invalid escape".into(),
        Error::Namespace(_) => "invalid namespace declaration".into(),
        Error::Io(_) => "unreadable input".into(),
    };
    DecodeError::Xml(format!("{what} at byte {position}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, DecodeError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn resolves_namespaces_not_prefixes() {
        let root = p(r#"<a:x xmlns:a="urn:one"><y xmlns="urn:two"><z/></y><w/></a:x>"#).unwrap();
        assert!(root.is("urn:one", "x"));
        assert!(root.children[0].is("urn:two", "y"));
        assert!(root.children[0].children[0].is("urn:two", "z"));
        assert_eq!(root.children[1].ns, None);
    }

    #[test]
    fn predefined_and_character_references_resolve() {
        let root = p("<a>&lt;&amp;&gt;&apos;&quot;&#65;&#x42;</a>").unwrap();
        assert_eq!(root.text, "<&>'\"AB");
    }

    #[test]
    fn hostile_constructs_are_refused() {
        assert_eq!(p("<!DOCTYPE a><a/>"), Err(DecodeError::Doctype));
        assert_eq!(p("<a>&xxe;</a>"), Err(DecodeError::EntityReference));
        assert_eq!(p(r#"<a b="&xxe;"/>"#), Err(DecodeError::EntityReference));
        assert!(matches!(p("<a>&#0;</a>"), Err(DecodeError::Xml(_))));
        assert!(matches!(p("<a>&#1;</a>"), Err(DecodeError::Xml(_))));
        assert!(matches!(p("<a/><b/>"), Err(DecodeError::Xml(_))));
        assert!(matches!(p("<a/>junk"), Err(DecodeError::Xml(_))));
        assert!(matches!(p("junk<a/>"), Err(DecodeError::Xml(_))));
        assert!(matches!(p("<a><b></a>"), Err(DecodeError::Xml(_))));
        assert!(matches!(p("<a>"), Err(DecodeError::Xml(_))));
        assert!(matches!(p(""), Err(DecodeError::Xml(_))));
        assert!(matches!(p("<p:a/>"), Err(DecodeError::Xml(_))));
        assert!(matches!(
            p(r#"<?xml version="1.0" encoding="utf-16"?><a/>"#),
            Err(DecodeError::Xml(_))
        ));
        assert!(matches!(
            p(r#"<a/><?xml version="1.0"?>"#),
            Err(DecodeError::Xml(_))
        ));
    }

    #[test]
    fn trailing_whitespace_comments_and_pis_are_fine() {
        assert!(p("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a/>\n<!-- c -->\n").is_ok());
        assert!(p("\u{feff}<a><![CDATA[x<y]]></a>").is_ok_and(|a| a.text == "x<y"));
    }

    #[test]
    fn depth_is_bounded() {
        let l = Limits {
            max_body: 1 << 20,
            max_depth: 3,
        };
        assert!(parse(b"<a><b><c/></b></a>", &l).is_ok());
        assert_eq!(
            parse(b"<a><b><c><d/></c></b></a>", &l),
            Err(DecodeError::TooDeep { limit: 3 })
        );
    }
}
