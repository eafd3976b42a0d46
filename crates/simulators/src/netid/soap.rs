//! The SOAP 1.1 binding: `SOAPAction` to operation, envelope to inputs, outputs to the response
//! envelope, and the SOAP Fault for requests that are not a well-formed call.
//!
//! The response is written exactly like the vendor GetLoginStatus sample (documented): XML
//! declaration, `s:Envelope` declaring only `s`, `s:Body` declaring `xsi` and `xsd`, then
//! `<{Method}Response xmlns="…/portal"><{Method}Result>…`. Faults use `faultcode` `s:Client`
//! (assumed): every fault the simulator raises is the caller's doing.

use quick_xml::escape::escape;

use crate::netid::message::{Fields, Input, Inputs, Node, Op};
use crate::netid::xml::{self, Element};
use crate::netid::{NS, SOAP_ACTION_PREFIX};

/// SOAP 1.1 envelope namespace.
pub(crate) const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The operation a `SOAPAction` header names. The value is double-quoted on the wire (documented);
/// an unquoted one is tolerated. The method name is case-sensitive. `Err` says what is wrong.
pub(crate) fn action(header: Option<&[u8]>) -> Result<Op, String> {
    let raw = header.ok_or("the SOAPAction header is missing")?;
    let raw = std::str::from_utf8(raw).map_err(|_| "the SOAPAction header is not UTF-8")?;
    let raw = raw.trim();
    let unquoted = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    unquoted
        .strip_prefix(SOAP_ACTION_PREFIX)
        .and_then(Op::from_method)
        .ok_or_else(|| "the SOAPAction does not name an operation of this service".to_owned())
}

/// Parses a request envelope for `op` into its inputs (the children of `<Info>`; none when the
/// method element has no `Info`, which the operation then refuses field by field).
pub(crate) fn parse_request(body: &[u8], op: Op) -> Result<Inputs, String> {
    let root = xml::parse(body).map_err(|e| e.to_string())?;
    if root.local != "Envelope" || root.ns.as_deref() != Some(SOAP_ENV_NS) {
        return Err("the root element is not a SOAP 1.1 Envelope".to_owned());
    }
    let mut bodies = root.children_named(SOAP_ENV_NS, "Body");
    let (Some(soap_body), None) = (bodies.next(), bodies.next()) else {
        return Err("the Envelope must hold exactly one Body".to_owned());
    };
    let method = match soap_body.children.as_slice() {
        [only] if only.local == op.method() && only.ns.as_deref() == Some(NS) => only,
        _ => {
            return Err(format!(
                "the Body must hold one {} element in namespace {NS}",
                op.method()
            ));
        }
    };
    Ok(method
        .children_named(NS, "Info")
        .next()
        .map(inputs)
        .unwrap_or_default())
}

fn inputs(parent: &Element) -> Inputs {
    Inputs {
        fields: parent
            .children
            .iter()
            .map(|c| {
                let value = if c.children.is_empty() {
                    Input::Text(c.text.clone())
                } else {
                    Input::Object(inputs(c))
                };
                (c.local.clone(), value)
            })
            .collect(),
    }
}

/// The response envelope for `op`.
pub(crate) fn response(op: Op, fields: &Fields) -> String {
    let method = op.method();
    let mut out = String::with_capacity(1024);
    out.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    out.push_str(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">"#);
    out.push_str(r#"<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#);
    out.push_str(r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#);
    out.push_str(&format!(
        r#"<{method}Response xmlns="{NS}"><{method}Result>"#
    ));
    write_fields(&mut out, fields);
    out.push_str(&format!(
        "</{method}Result></{method}Response></s:Body></s:Envelope>"
    ));
    out
}

/// A SOAP 1.1 Fault envelope.
pub(crate) fn fault(message: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>"#,
            "<s:Fault><faultcode>s:Client</faultcode><faultstring>{}</faultstring></s:Fault>",
            "</s:Body></s:Envelope>"
        ),
        escape(message)
    )
}

fn write_fields(out: &mut String, fields: &Fields) {
    for (name, node) in fields {
        out.push('<');
        out.push_str(name);
        out.push('>');
        match node {
            Node::Text(text) => out.push_str(&escape(text.as_str())),
            Node::Object(children) => write_fields(out, children),
            Node::List { item, items } => {
                for fields in items {
                    out.push_str(&format!("<{item}>"));
                    write_fields(out, fields);
                    out.push_str(&format!("</{item}>"));
                }
            }
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netid::message::Code;

    fn envelope(method: &str, info: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Header/><s:Body><{method} xmlns="{NS}"><Info>{info}</Info></{method}></s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn action_accepts_quoted_and_unquoted_and_is_case_sensitive() {
        let quoted = format!("\"{SOAP_ACTION_PREFIX}GetLoginStatus\"");
        assert_eq!(action(Some(quoted.as_bytes())), Ok(Op::GetLoginStatus));
        let bare = format!("{SOAP_ACTION_PREFIX}Logout");
        assert_eq!(action(Some(bare.as_bytes())), Ok(Op::Logout));
        let lower = format!("\"{SOAP_ACTION_PREFIX}getloginstatus\"");
        assert!(action(Some(lower.as_bytes())).is_err());
        assert!(action(Some(b"\"urn:other/GetLoginStatus\"")).is_err());
        assert!(action(None).is_err());
    }

    #[test]
    fn parses_inputs_including_nested_client_info() {
        let doc = envelope(
            "Login",
            "<Certificate>QUJD</Certificate><Role>Self</Role><Client><DeviceName>pc</DeviceName></Client>",
        );
        let inputs = parse_request(doc.as_bytes(), Op::Login).unwrap();
        assert_eq!(inputs.text("Certificate"), Some("QUJD"));
        assert_eq!(inputs.text("Role"), Some("Self"));
        assert!(
            matches!(&inputs.fields[2].1, Input::Object(c) if c.text("DeviceName") == Some("pc"))
        );
    }

    #[test]
    fn refuses_wrong_envelopes() {
        let wrong_ns = envelope("Login", "").replace(SOAP_ENV_NS, "urn:not-soap");
        let no_body = format!(r#"<s:Envelope xmlns:s="{SOAP_ENV_NS}"/>"#);
        let other_method = envelope("Logout", "");
        let method_ns = envelope("Login", "").replace(&format!(r#"xmlns="{NS}""#), "");
        for doc in [wrong_ns, no_body, other_method, method_ns] {
            assert!(parse_request(doc.as_bytes(), Op::Login).is_err(), "{doc}");
        }
        let no_info = format!(
            r#"<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body><Login xmlns="{NS}"/></s:Body></s:Envelope>"#
        );
        assert_eq!(
            parse_request(no_info.as_bytes(), Op::Login),
            Ok(Inputs::default())
        );
    }

    #[test]
    fn renders_escaped_ordered_fields_and_faults() {
        let fields = vec![
            ("Name", Node::text("A & <B>")),
            (
                "UsageList",
                Node::List {
                    item: "ListObj",
                    items: vec![vec![("PresentationInfo", Node::text("User"))]],
                },
            ),
            Code::Success.status("Success"),
        ];
        let xml = response(Op::GetLoginStatus, &fields);
        assert!(xml.contains(
            "<GetLoginStatusResult><Name>A &amp; &lt;B&gt;</Name><UsageList><ListObj><PresentationInfo>User</PresentationInfo></ListObj></UsageList><Status><Code>Success</Code><Description>Success</Description></Status></GetLoginStatusResult>"
        ), "{xml}");
        assert!(xml::parse(xml.as_bytes()).is_ok());
        let f = fault("bad <thing>");
        assert!(
            f.contains("<faultstring>bad &lt;thing&gt;</faultstring>"),
            "{f}"
        );
        assert!(xml::parse(f.as_bytes()).is_ok());
    }
}
