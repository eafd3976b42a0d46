//! The unified SOAP 1.1 face (`POST /idbridge/soap`, WSDL at `GET /idbridge/soap?wsdl`).
//!
//! Document/literal, namespace [`NS`] (prefix `ib`), three operations: `Login`, `GetSession`,
//! `Logout`. Unlike the Net iD face, which copies a .NET service's quirks, this one is ours and
//! plain XSD: booleans are `true`/`false`, instants `xsd:dateTime`, optional elements omitted.
//! Requests are read with the crate's hardened XML reader (no DTD, bounded depth, names matched
//! on namespace URIs); responses carry the same fields, in the same order, as the JSON face.

mod request;
mod response;
mod wsdl;

use std::fmt;

pub use request::parse_request;
pub use response::{
    encode_challenge_response, encode_fault, encode_login_response, encode_logout_response,
    encode_session_response,
};
pub use wsdl::wsdl;

use super::LoginRequest;
use crate::DecodeError;

/// The face's XML namespace.
pub const NS: &str = "urn:idbridge:v1";
/// `Content-Type` of requests and responses (SOAP 1.1).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// The endpoint path (the WSDL is served at `PATH?wsdl`).
pub const PATH: &str = "/idbridge/soap";

/// One of the face's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Login,
    GetSession,
    Logout,
}

/// A decoded request. `Debug` never shows the token (whoever holds it holds the session).
#[derive(Clone, PartialEq, Eq)]
pub enum UnifiedSoapRequest {
    Login(LoginRequest),
    /// `token` is a gateway token or a backend session id.
    GetSession {
        token: String,
    },
    Logout {
        token: String,
    },
}

/// Who is at fault, as SOAP 1.1 `faultcode` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCode {
    /// `s:Client`: the request was wrong; resending it unchanged will fail again.
    Client,
    /// `s:Server`: the gateway or a backend failed; the request may succeed later.
    Server,
}

// === impl Operation ===

impl Operation {
    pub const ALL: [Operation; 3] = [Self::Login, Self::GetSession, Self::Logout];

    /// The operation's name: the request element, and the last segment of its `SOAPAction`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "Login",
            Self::GetSession => "GetSession",
            Self::Logout => "Logout",
        }
    }

    /// The `SOAPAction` URI, unquoted: `urn:idbridge:v1/Login`.
    pub fn soap_action(self) -> &'static str {
        match self {
            Self::Login => "urn:idbridge:v1/Login",
            Self::GetSession => "urn:idbridge:v1/GetSession",
            Self::Logout => "urn:idbridge:v1/Logout",
        }
    }

    /// Case-sensitive, like the element names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Parses a `SOAPAction` header value, quoted (as SOAP 1.1 requires) or bare.
    ///
    /// `Ok(None)` for an empty value (`""`): SOAP 1.1 reads it as "the request URI", which names
    /// no operation here, so the body alone decides. [`DecodeError::UnknownAction`] for anything
    /// that is not one of the three actions.
    pub fn from_soap_action(header: &str) -> Result<Option<Self>, DecodeError> {
        let header = header.trim();
        let inner = match header.strip_prefix('"') {
            Some(rest) => rest
                .strip_suffix('"')
                .ok_or_else(|| DecodeError::UnknownAction("unbalanced quotes".into()))?,
            None => header,
        };
        if inner.is_empty() {
            return Ok(None);
        }
        Self::ALL
            .into_iter()
            .find(|op| op.soap_action() == inner)
            .map(Some)
            .ok_or_else(|| DecodeError::UnknownAction("not an idbridge operation".into()))
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// === impl UnifiedSoapRequest ===

impl UnifiedSoapRequest {
    pub fn operation(&self) -> Operation {
        match self {
            Self::Login(_) => Operation::Login,
            Self::GetSession { .. } => Operation::GetSession,
            Self::Logout { .. } => Operation::Logout,
        }
    }
}

impl fmt::Debug for UnifiedSoapRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Login(login) => f.debug_tuple("Login").field(login).finish(),
            Self::GetSession { token } | Self::Logout { token } => f
                .debug_struct(self.operation().name())
                .field("token", &format_args!("<redacted:{}>", token.len()))
                .finish(),
        }
    }
}

// === impl FaultCode ===

impl FaultCode {
    /// The `faultcode` QName, with the envelope's `s` prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "s:Client",
            Self::Server => "s:Server",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_action_forms() {
        for op in Operation::ALL {
            let quoted = format!("\"{}\"", op.soap_action());
            assert_eq!(Operation::from_soap_action(&quoted), Ok(Some(op)));
            assert_eq!(Operation::from_soap_action(op.soap_action()), Ok(Some(op)));
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
        assert_eq!(Operation::from_soap_action("\"\""), Ok(None));
        assert_eq!(Operation::from_soap_action(""), Ok(None));
        for bad in [
            "\"urn:idbridge:v1/login\"",
            "\"urn:idbridge:v1/Login",
            "\"urn:idbridge:v2/Login\"",
            "\"http://www.pointsharp.com/netid/server/portal/IServiceSoap/Login\"",
            "urn:idbridge:v1/",
        ] {
            assert!(
                matches!(
                    Operation::from_soap_action(bad),
                    Err(DecodeError::UnknownAction(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_redacts_tokens() {
        let r = UnifiedSoapRequest::GetSession {
            token: "eyJsecret".into(),
        };
        let debug = format!("{r:?}");
        assert_eq!(debug, "GetSession { token: <redacted:9> }");
        assert_eq!(r.operation(), Operation::GetSession);
    }
}
