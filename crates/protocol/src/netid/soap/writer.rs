//! SOAP output in the vendor samples' exact style: XML declaration, `s:` prefix, the portal
//! namespace as default on the method element, no indentation.

use super::{NS_PORTAL, NS_SOAP_ENV, NS_XSD, NS_XSI};
use crate::netid::out::{Fields, Out};

const DECL: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

/// A request: xsi/xsd declared on `s:Envelope`, as in the vendor's request sample.
pub(crate) fn request(method: &str, fields: &Fields) -> String {
    let mut out = format!(
        r#"{DECL}<s:Envelope xmlns:xsi="{NS_XSI}" xmlns:xsd="{NS_XSD}" xmlns:s="{NS_SOAP_ENV}"><s:Body><{method} xmlns="{NS_PORTAL}"><Info>"#
    );
    write_fields(&mut out, fields);
    out.push_str(&format!("</Info></{method}></s:Body></s:Envelope>"));
    out
}

/// A response: xsi/xsd declared on `s:Body`, as in the vendor's response sample.
pub(crate) fn response(method: &str, fields: &Fields) -> String {
    let mut out = format!(
        r#"{DECL}<s:Envelope xmlns:s="{NS_SOAP_ENV}"><s:Body xmlns:xsi="{NS_XSI}" xmlns:xsd="{NS_XSD}"><{method}Response xmlns="{NS_PORTAL}"><{method}Result>"#
    );
    write_fields(&mut out, fields);
    out.push_str(&format!(
        "</{method}Result></{method}Response></s:Body></s:Envelope>"
    ));
    out
}

/// A SOAP 1.1 Fault; `detail_code`, when given, travels in `detail` as the idbridge error code
/// (namespace `urn:idbridge:v1`, as the unified SOAP face writes it), so a client can tell a
/// timeout from a refusal without parsing `faultstring`.
pub(crate) fn fault(code: &str, message: &str, detail_code: Option<&str>) -> String {
    let detail = detail_code.map_or_else(String::new, |c| {
        format!(
            r#"<detail><ib:Error xmlns:ib="urn:idbridge:v1"><ib:Code>{}</ib:Code></ib:Error></detail>"#,
            escape(c)
        )
    });
    format!(
        r#"{DECL}<s:Envelope xmlns:s="{NS_SOAP_ENV}"><s:Body><s:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring>{detail}</s:Fault></s:Body></s:Envelope>"#,
        escape(code),
        escape(message)
    )
}

fn write_fields(out: &mut String, fields: &Fields) {
    for (name, value) in fields {
        write_element(out, name, value);
    }
}

fn write_element(out: &mut String, name: &str, value: &Out) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Out::Text(t) => out.push_str(&escape(t)),
        Out::Obj(fields) => write_fields(out, fields),
        Out::List(item, items) => {
            for v in items {
                write_element(out, item, v);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Text escaping; characters XML 1.0 cannot carry at all become U+FFFD rather than producing a
/// document no parser (ours included) would accept.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_illegal_characters() {
        assert_eq!(escape("a<b>&c\r\n\t"), "a&lt;b&gt;&amp;c&#13;\n\t");
        assert_eq!(escape("x\u{1}y\u{FFFF}"), "x\u{FFFD}y\u{FFFD}");
        assert_eq!(escape("\"'"), "\"'");
    }

    #[test]
    fn fault_shape() {
        assert_eq!(
            fault("s:Client", "bad <input>", None),
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?>"#,
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>"#,
                r#"<faultcode>s:Client</faultcode><faultstring>bad &lt;input&gt;</faultstring>"#,
                r#"</s:Fault></s:Body></s:Envelope>"#
            )
        );
        assert!(
            fault("s:Server", "down", Some("backend_unavailable")).contains(concat!(
                r#"<faultstring>down</faultstring><detail><ib:Error xmlns:ib="urn:idbridge:v1">"#,
                r#"<ib:Code>backend_unavailable</ib:Code></ib:Error></detail></s:Fault>"#
            ))
        );
    }
}
