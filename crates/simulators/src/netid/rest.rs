//! The REST/JSON binding: request object to inputs, outputs to a JSON object in vendor order.
//!
//! On the wire every scalar is a JSON string (`"Count": "1"`, `"IsLoggedIn": "True"`) (documented);
//! the simulator writes strings only, and reads numbers and booleans too (as their text, booleans
//! as `True`/`False`), because being lenient in what it reads costs nothing and hides no codec bug.

use serde_json::Value;

use crate::netid::message::{Fields, Input, Inputs, Node};

/// Parses a request body: it must be one JSON object. `Err` says why not.
pub(crate) fn parse_request(body: &[u8]) -> Result<Inputs, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(object(map)),
        Ok(_) => Err("the request body must be a JSON object".to_owned()),
        Err(e) => Err(format!("the request body is not valid JSON: {e}")),
    }
}

fn object(map: serde_json::Map<String, Value>) -> Inputs {
    let fields = map
        .into_iter()
        .filter_map(|(name, value)| {
            let input = match value {
                Value::String(s) => Input::Text(s),
                Value::Number(n) => Input::Text(n.to_string()),
                Value::Bool(b) => Input::Text(if b { "True" } else { "False" }.to_owned()),
                Value::Object(map) => Input::Object(object(map)),
                // No Net iD input is a list; null means absent.
                Value::Null | Value::Array(_) => return None,
            };
            Some((name, input))
        })
        .collect();
    Inputs { fields }
}

/// The JSON object for `fields`, keys in the given order.
pub(crate) fn render(fields: &Fields) -> String {
    let mut out = String::with_capacity(512);
    write_object(&mut out, fields);
    out
}

fn write_object(out: &mut String, fields: &Fields) {
    out.push('{');
    for (i, (name, node)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        match node {
            Node::Text(text) => write_string(out, text),
            Node::Object(children) => write_object(out, children),
            Node::List { items, .. } => {
                out.push('[');
                for (j, item) in items.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_object(out, item);
                }
                out.push(']');
            }
        }
    }
    out.push('}');
}

/// A JSON string literal; serde_json does the escaping.
fn write_string(out: &mut String, s: &str) {
    out.push_str(&Value::from(s).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netid::message::Code;

    #[test]
    fn reads_strings_numbers_booleans_and_objects() {
        let inputs = parse_request(
            br#"{"SessionId": "abc", "Count": 3, "Flag": true, "Client": {"DeviceName": "pc"}, "X": null}"#,
        )
        .unwrap();
        assert_eq!(inputs.text("SessionId"), Some("abc"));
        assert_eq!(inputs.text("Count"), Some("3"));
        assert_eq!(inputs.text("Flag"), Some("True"));
        assert!(inputs.has("Client"));
        assert!(!inputs.has("X"));
    }

    #[test]
    fn refuses_non_objects() {
        for body in [&b"[1]"[..], b"\"x\"", b"{", b"", b"\xff"] {
            assert!(parse_request(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn renders_in_order_with_escaping() {
        let fields = vec![
            ("Count", Node::text("1")),
            ("Name", Node::text("quote \" and \\ and \u{1}")),
            (
                "UsageList",
                Node::List {
                    item: "ListObj",
                    items: vec![vec![("PresentationInfo", Node::text("User"))], vec![]],
                },
            ),
            Code::Success.status("Success"),
        ];
        let json = render(&fields);
        assert_eq!(
            json,
            r#"{"Count":"1","Name":"quote \" and \\ and \u0001","UsageList":[{"PresentationInfo":"User"},{}],"Status":{"Code":"Success","Description":"Success"}}"#
        );
        assert!(serde_json::from_str::<Value>(&json).is_ok());
    }
}
