//! A hardened XML reader: the whole document into a small element tree, or a typed error.
//!
//! It never reads a DTD and never expands an entity (a DOCTYPE is refused outright, so neither
//! billion-laughs nor external entities can start), resolves only the five predefined entities
//! and character references, bounds nesting by [`Limits::max_depth`], refuses anything after the
//! root element, and resolves element names to namespace URIs so callers match on URIs, not on
//! prefixes.
//!
//! The tree's size is bounded too, not just its depth: elements, attributes and kept character
//! data are counted against [`Limits::max_elements`], [`Limits::max_attributes`] and
//! [`Limits::max_text_bytes`] before anything more is built. Namespace URIs are interned per
//! document and shared by every element in them: a URI declared once used to be copied into
//! each element, so a 28 KB URI and 9,000 empty children (one 64 KiB body) built a 250 MB tree.

use std::sync::Arc;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::limits::utf8_body;
use crate::{DecodeError, Limits};

/// One element: resolved name, child elements in order, and its own character data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    /// Namespace URI; `None` when the name is in no namespace. Shared: every element of a
    /// document in the same namespace points to the same string.
    pub(crate) ns: Option<Arc<str>>,
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

/// What one document has spent of its [`Limits`], and the namespace URIs it has interned.
struct Budget<'l> {
    limits: &'l Limits,
    elements: usize,
    attributes: usize,
    text_bytes: usize,
    /// Each distinct URI once. A list, not a map: a document uses a handful, and a lookup
    /// compares lengths first and bytes only on equal lengths, where a map would hash the
    /// whole URI for every element.
    namespaces: Vec<Arc<str>>,
}

// === impl Budget ===

impl<'l> Budget<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            elements: 0,
            attributes: 0,
            text_bytes: 0,
            namespaces: Vec::new(),
        }
    }

    fn element(&mut self) -> Result<(), DecodeError> {
        self.elements = self.elements.saturating_add(1);
        self.limits.check_elements(self.elements)
    }

    fn attribute(&mut self) -> Result<(), DecodeError> {
        self.attributes = self.attributes.saturating_add(1);
        self.limits.check_attributes(self.attributes)
    }

    fn text(&mut self, bytes: usize) -> Result<(), DecodeError> {
        self.text_bytes = self.text_bytes.saturating_add(bytes);
        self.limits.check_text(self.text_bytes)
    }

    /// The document's one shared copy of `uri`.
    fn intern(&mut self, uri: &str) -> Arc<str> {
        if let Some(known) = self
            .namespaces
            .iter()
            .find(|known| known.as_bytes() == uri.as_bytes())
        {
            return Arc::clone(known);
        }
        let new: Arc<str> = Arc::from(uri);
        self.namespaces.push(Arc::clone(&new));
        new
    }
}

/// Parses a whole document; see the module docs for what is refused.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Element, DecodeError> {
    let text = utf8_body(body, limits)?;
    let mut reader = NsReader::from_str(text);
    let mut budget = Budget::new(limits);
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
                let el = open(&reader, &start, &stack, &root, &mut budget)?;
                stack.push(el);
            }
            Event::Empty(start) => {
                let el = open(&reader, &start, &stack, &root, &mut budget)?;
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| DecodeError::Xml("unmatched end tag".into()))?;
                close(el, &mut stack, &mut root);
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content(), &mut budget)?,
            Event::CData(c) => push_text(&mut stack, &c.xml10_content(), &mut budget)?,
            Event::GeneralRef(r) => {
                let resolved = resolve_reference(&r)?;
                push_text(&mut stack, resolved.encode_utf8(&mut [0; 4]), &mut budget)?;
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

/// Counts the element and its attributes against the budget, then builds it (without children).
fn open(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    stack: &[Element],
    root: &Option<Element>,
    budget: &mut Budget<'_>,
) -> Result<Element, DecodeError> {
    if root.is_some() {
        return Err(DecodeError::Xml("content after the root element".into()));
    }
    budget.element()?;
    budget.limits.check_depth(stack.len() + 1)?;
    for attr in start.attributes() {
        budget.attribute()?;
        let attr = attr.map_err(|_| DecodeError::Xml("malformed attribute".into()))?;
        check_attribute_references(&attr.value)?;
    }
    let (ns, local) = reader.resolver().resolve_element(start.name());
    let ns = match ns {
        ResolveResult::Bound(ns) => Some(budget.intern(ns.into_inner())),
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

/// Character data belongs to the open element; outside the root only whitespace may appear
/// (and, not being kept, is not counted against the budget).
fn push_text(
    stack: &mut [Element],
    text: &str,
    budget: &mut Budget<'_>,
) -> Result<(), DecodeError> {
    match stack.last_mut() {
        Some(el) => {
            budget.text(text.len())?;
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

    /// `(file, contents, elements, attributes, text bytes)` for one sample in `tests/data`.
    macro_rules! sample {
        ($file:literal, $elements:literal, $attributes:literal, $text:literal) => {
            (
                $file,
                include_str!(concat!("../../../tests/data/", $file)),
                $elements,
                $attributes,
                $text,
            )
        };
    }

    /// Every XML sample in `tests/data` with its elements, attributes and kept text bytes, as
    /// measured for the [`Limits`] defaults (the test below proves each figure exact).
    const SAMPLES: [(&str, &str, usize, usize, usize); 13] = [
        sample!("netid-getloginstatus-request.xml", 6, 4, 10),
        sample!("netid-getloginstatus-response.xml", 40, 4, 246),
        sample!("unified/fault-client.xml", 8, 2, 45),
        sample!("unified/fault-server.xml", 8, 2, 42),
        sample!("unified/login-response-enos.xml", 29, 2, 247),
        sample!("unified/logout-response.xml", 4, 2, 4),
        sample!("unified/session-response-enos.xml", 26, 2, 224),
        sample!("unified/session-response-netid.xml", 27, 2, 143),
        sample!("unified/zeep-getsession.xml", 4, 2, 14),
        sample!("unified/zeep-login-enos.xml", 6, 2, 30),
        sample!("unified/zeep-login-ldap.xml", 9, 2, 42),
        sample!("unified/zeep-login-netid.xml", 6, 2, 40),
        sample!("unified/zeep-logout.xml", 4, 2, 14),
    ];

    /// The namespace bomb of the report: one 28 KB URI, 9,000 empty children, one 64 KiB body.
    fn namespace_bomb() -> String {
        let uri = format!("urn:{}", "n".repeat(28_000));
        format!(r#"<r xmlns="{uri}">{}</r>"#, "<c/>".repeat(9_000))
    }

    #[test]
    fn namespace_bomb_is_refused_under_the_defaults() {
        let body = namespace_bomb();
        assert!(body.len() <= Limits::DEFAULT_MAX_BODY);
        assert_eq!(
            p(&body),
            Err(DecodeError::TooManyElements {
                limit: Limits::DEFAULT_MAX_ELEMENTS
            })
        );
    }

    #[test]
    fn namespace_bomb_stores_the_uri_once_when_allowed() {
        let l = Limits {
            max_elements: 10_000,
            ..Limits::default()
        };
        let root = parse(namespace_bomb().as_bytes(), &l).unwrap();
        let shared = root.ns.as_ref().unwrap();
        assert_eq!(shared.len(), 28_004);
        assert_eq!(root.children.len(), 9_000);
        for child in &root.children {
            assert!(Arc::ptr_eq(child.ns.as_ref().unwrap(), shared));
        }
        // Interned by content, not by declaration: two prefixes for one URI share one copy.
        let root =
            p(r#"<a:x xmlns:a="urn:u"><b:y xmlns:b="urn:u"/><z xmlns="urn:u"/></a:x>"#).unwrap();
        let shared = root.ns.as_ref().unwrap();
        for child in &root.children {
            assert!(Arc::ptr_eq(child.ns.as_ref().unwrap(), shared));
        }
    }

    #[test]
    fn elements_attributes_and_text_are_counted_exactly() {
        let with = |max_elements, max_attributes, max_text_bytes| Limits {
            max_elements,
            max_attributes,
            max_text_bytes,
            ..Limits::default()
        };
        let doc = b"<a><b/><c></c></a>";
        assert!(parse(doc, &with(3, 0, 0)).is_ok());
        assert_eq!(
            parse(doc, &with(2, 0, 0)),
            Err(DecodeError::TooManyElements { limit: 2 })
        );
        // Namespace declarations are attributes too.
        let doc = br#"<a xmlns="urn:u" x="1"><b xmlns:p="urn:p" p:y="2"/></a>"#;
        assert!(parse(doc, &with(2, 4, 0)).is_ok());
        assert_eq!(
            parse(doc, &with(2, 3, 0)),
            Err(DecodeError::TooManyAttributes { limit: 3 })
        );
        // Text after resolution (`&lt;` is 1 byte, `&#x10000;` 4), CDATA, whitespace between
        // children; whitespace outside the root is not kept and not counted.
        let doc = "\n<a>x&lt;&#x10000;<![CDATA[yz]]> <b>w</b></a>\n".as_bytes();
        assert!(parse(doc, &with(2, 0, 10)).is_ok_and(|a| a.text == "x<\u{10000}yz "));
        assert_eq!(
            parse(doc, &with(2, 0, 9)),
            Err(DecodeError::TooMuchText { limit: 9 })
        );
    }

    #[test]
    fn samples_fit_the_defaults_ten_times_and_tighter_caps_refuse_them() {
        let (mut most_elements, mut most_attributes, mut most_text) = (0, 0, 0);
        for (name, xml, elements, attributes, text) in SAMPLES {
            let exact = Limits {
                max_elements: elements,
                max_attributes: attributes,
                max_text_bytes: text,
                ..Limits::default()
            };
            assert!(p(xml).is_ok(), "{name}");
            assert!(parse(xml.as_bytes(), &exact).is_ok(), "{name}");
            let fewer_elements = Limits {
                max_elements: elements - 1,
                ..exact
            };
            assert_eq!(
                parse(xml.as_bytes(), &fewer_elements),
                Err(DecodeError::TooManyElements {
                    limit: elements - 1
                }),
                "{name}"
            );
            let fewer_attributes = Limits {
                max_attributes: attributes - 1,
                ..exact
            };
            assert_eq!(
                parse(xml.as_bytes(), &fewer_attributes),
                Err(DecodeError::TooManyAttributes {
                    limit: attributes - 1
                }),
                "{name}"
            );
            let less_text = Limits {
                max_text_bytes: text - 1,
                ..exact
            };
            assert_eq!(
                parse(xml.as_bytes(), &less_text),
                Err(DecodeError::TooMuchText { limit: text - 1 }),
                "{name}"
            );
            most_elements = most_elements.max(elements);
            most_attributes = most_attributes.max(attributes);
            most_text = most_text.max(text);
        }
        assert_eq!((most_elements, most_attributes, most_text), (40, 4, 247));
        assert!(Limits::DEFAULT_MAX_ELEMENTS >= 10 * most_elements);
        assert!(Limits::DEFAULT_MAX_ATTRIBUTES >= 10 * most_attributes);
        assert!(Limits::DEFAULT_MAX_TEXT_BYTES >= 10 * most_text);
    }

    #[test]
    fn depth_is_bounded() {
        let l = Limits {
            max_body: 1 << 20,
            max_depth: 3,
            ..Limits::default()
        };
        assert!(parse(b"<a><b><c/></b></a>", &l).is_ok());
        assert_eq!(
            parse(b"<a><b><c><d/></c></b></a>", &l),
            Err(DecodeError::TooDeep { limit: 3 })
        );
    }
}
