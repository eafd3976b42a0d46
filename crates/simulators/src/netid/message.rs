//! The binding-neutral Net iD call: which web method, its inputs, and its ordered outputs.
//!
//! Every portal web method exists in a SOAP and a REST binding with the same fields in the same
//! order (documented), so the operations are written once against this model, and `soap`/`rest`
//! only translate. Outputs are an ordered tree, not a map, because the vendor order is part of the
//! wire contract (and `serde_json` maps are sorted unless a workspace-wide feature says otherwise).

/// A Net iD web method the simulator implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Login,
    GetLoginStatus,
    Logout,
    GetObject,
}

/// Inputs of one call, in request order. Scalars are text in both bindings (REST numbers and
/// booleans are turned into their text).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Inputs {
    pub(crate) fields: Vec<(String, Input)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    Text(String),
    Object(Inputs),
}

/// An output value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Text(String),
    Object(Fields),
    /// A list; `item` is the SOAP element name of each item (`ListObj`, `ActivityObj`).
    List {
        item: &'static str,
        items: Vec<Fields>,
    },
}

/// Ordered output fields.
pub(crate) type Fields = Vec<(&'static str, Node)>;

/// The `Status.Code` values the simulator answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    Success,
    InvalidSession,
    InvalidCount,
    InvalidInput,
    AccessDenied,
}

// === impl Op ===

impl Op {
    pub(crate) const ALL: [Op; 4] = [Op::Login, Op::GetLoginStatus, Op::Logout, Op::GetObject];

    /// The SOAP method name (case-sensitive on the wire).
    pub(crate) fn method(self) -> &'static str {
        match self {
            Op::Login => "Login",
            Op::GetLoginStatus => "GetLoginStatus",
            Op::Logout => "Logout",
            Op::GetObject => "GetObject",
        }
    }

    /// The REST path.
    pub(crate) fn rest_path(self) -> &'static str {
        match self {
            Op::Login => "/api/login",
            Op::GetLoginStatus => "/api/login/status/get",
            Op::Logout => "/api/logout",
            Op::GetObject => "/api/object/get",
        }
    }

    /// The request counter name.
    pub(crate) fn stat(self) -> &'static str {
        match self {
            Op::Login => "netid.login",
            Op::GetLoginStatus => "netid.get_login_status",
            Op::Logout => "netid.logout",
            Op::GetObject => "netid.get_object",
        }
    }

    pub(crate) fn from_method(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.method() == name)
    }

    pub(crate) fn from_rest_path(path: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.rest_path() == path)
    }
}

// === impl Inputs ===

impl Inputs {
    /// The first field with this name, if it holds text.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Input::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Whether the field is present (in any form).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn get(&self, name: &str) -> Option<&Input> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

// === impl Node ===

impl Node {
    pub(crate) fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }
}

// === impl Code ===

impl Code {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::InvalidSession => "InvalidSession",
            Code::InvalidCount => "InvalidCount",
            Code::InvalidInput => "InvalidInput",
            Code::AccessDenied => "AccessDenied",
        }
    }

    /// The `Status` output: `{Code, Description}`.
    pub(crate) fn status(self, description: &str) -> (&'static str, Node) {
        (
            "Status",
            Node::Object(vec![
                ("Code", Node::text(self.as_str())),
                ("Description", Node::text(description)),
            ]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_paths_round_trip_and_are_case_sensitive() {
        for op in Op::ALL {
            assert_eq!(Op::from_method(op.method()), Some(op));
            assert_eq!(Op::from_rest_path(op.rest_path()), Some(op));
        }
        assert_eq!(Op::from_method("getloginstatus"), None);
        assert_eq!(Op::from_rest_path("/api/Login"), None);
    }

    #[test]
    fn inputs_lookup_takes_the_first_text_field() {
        let inputs = Inputs {
            fields: vec![
                ("A".into(), Input::Text("1".into())),
                ("B".into(), Input::Object(Inputs::default())),
                ("A".into(), Input::Text("2".into())),
            ],
        };
        assert_eq!(inputs.text("A"), Some("1"));
        assert_eq!(inputs.text("B"), None);
        assert!(inputs.has("B"));
        assert!(!inputs.has("C"));
    }
}
