//! The Net iD Portal SOAP 1.1 binding (`/portal/service.svc`).
//!
//! Requests are `<s:Envelope><s:Body><Method xmlns="…/portal"><Info>…</Info></Method>…`;
//! responses `<MethodResponse xmlns="…/portal"><MethodResult>…</MethodResult>…`. Names are
//! matched on namespace URIs, never on prefixes. The reader is hardened (see `soap::xml`); the
//! writers reproduce the vendor samples' style byte for byte.

mod envelope;
pub(crate) mod writer;
pub(crate) mod xml;

use std::fmt;

pub use envelope::{Fault, Field, FieldValue, SoapRequest, decode_fault, parse_request};

use super::decode::{self, Obj};
use super::model::{
    LoginAnswer, LoginRequest, LoginResponse, LoginStatus, LoginStep, LogoutRequest,
    LogoutResponse, StatusRequest,
};
use super::out;
use crate::{DecodeError, Limits};

/// The portal's XML namespace.
pub const NS_PORTAL: &str = "http://www.pointsharp.com/netid/server/portal";
/// SOAP 1.1 envelope namespace.
pub const NS_SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const NS_XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// Every portal `SOAPAction` starts with this; the method name follows.
pub const ACTION_PREFIX: &str = "http://www.pointsharp.com/netid/server/portal/IServiceSoap/";
/// `Content-Type` of SOAP requests and responses.
pub const CONTENT_TYPE: &str = "text/xml; charset=\"utf-8\"";
/// The SOAP endpoint path (the project's documented assumption; configurable in the gateway).
pub const PATH: &str = "/portal/service.svc";

/// A portal web method, named as in the `SOAPAction` and the body's method element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Login,
    GetLoginStatus,
    Logout,
    GetObject,
    /// Any other method (or a known one in the wrong case: names are case-sensitive).
    Other(String),
}

/// A validated `SOAPAction` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapAction {
    method: Method,
}

// === impl Method ===

impl Method {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Login => "Login",
            Self::GetLoginStatus => "GetLoginStatus",
            Self::Logout => "Logout",
            Self::GetObject => "GetObject",
            Self::Other(name) => name,
        }
    }

    /// Case-sensitive, like WCF's dispatcher.
    pub fn parse(name: &str) -> Self {
        match name {
            "Login" => Self::Login,
            "GetLoginStatus" => Self::GetLoginStatus,
            "Logout" => Self::Logout,
            "GetObject" => Self::GetObject,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl SoapAction ===

impl SoapAction {
    /// Parses a `SOAPAction` header value: double-quoted as documented, or unquoted (tolerated).
    /// It must start with [`ACTION_PREFIX`] (case-sensitive) and name a method made of ASCII
    /// letters, digits and `_`. An unknown method parses as [`Method::Other`]: the gateway
    /// proxies it, it is not an error here.
    pub fn parse(header: &str) -> Result<Self, DecodeError> {
        let header = header.trim();
        let inner = match header.strip_prefix('"') {
            Some(rest) => rest
                .strip_suffix('"')
                .ok_or_else(|| DecodeError::UnknownAction("unbalanced quotes".into()))?,
            None => header,
        };
        let name = inner
            .strip_prefix(ACTION_PREFIX)
            .ok_or_else(|| DecodeError::UnknownAction("not a portal service action".into()))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(DecodeError::UnknownAction("malformed method name".into()));
        }
        Ok(Self {
            method: Method::parse(name),
        })
    }

    pub fn new(method: Method) -> Self {
        Self { method }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Whether a parsed body is the call this header announces. Routing on the header and
    /// acting on the body must agree, or a client could pass one check and reach another method.
    pub fn matches(&self, message: &SoapRequest) -> bool {
        message.method == self.method.as_str()
    }

    /// The header value to send: `"http://…/IServiceSoap/<Method>"`, quoted.
    pub fn header_value(&self) -> String {
        format!("\"{ACTION_PREFIX}{}\"", self.method)
    }
}

// === typed decoders ===

fn decode_reply<T>(
    body: &[u8],
    limits: &Limits,
    method: &str,
    payload: &str,
    typed: impl FnOnce(Obj<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    parse_request(body, limits)?.typed(method, payload, typed)
}

// === impl SoapRequest ===

impl SoapRequest {
    fn typed<T>(
        &self,
        method: &str,
        payload: &str,
        typed: impl FnOnce(Obj<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        if self.method != method {
            return Err(DecodeError::unexpected(&self.method));
        }
        if self.payload != payload {
            return Err(DecodeError::unexpected(&self.payload));
        }
        let map = self.to_json()?;
        typed(Obj(&map))
    }
}

// Request decoders take the parsed request: the gateway parses once to route (and to check the
// body against the `SOAPAction`) and must not parse the body a second time. Response decoders
// take the upstream body.

/// A `Login` request (method element `Login`, payload `Info`).
pub fn decode_login_request(request: &SoapRequest) -> Result<LoginRequest, DecodeError> {
    request.typed("Login", "Info", decode::login_request)
}

/// Either `Login` step (see [`LoginStep`]).
pub fn decode_login_step(request: &SoapRequest) -> Result<LoginStep, DecodeError> {
    request.typed("Login", "Info", decode::login_step)
}

/// A `GetLoginStatus` request (method element `GetLoginStatus`, payload `Info`).
pub fn decode_status_request(request: &SoapRequest) -> Result<StatusRequest, DecodeError> {
    request.typed("GetLoginStatus", "Info", decode::status_request)
}

/// A `Logout` request (method element `Logout`, payload `Info`).
pub fn decode_logout_request(request: &SoapRequest) -> Result<LogoutRequest, DecodeError> {
    request.typed("Logout", "Info", decode::logout_request)
}

pub fn decode_login_response(body: &[u8], limits: &Limits) -> Result<LoginResponse, DecodeError> {
    decode_reply(
        body,
        limits,
        "LoginResponse",
        "LoginResult",
        decode::login_response,
    )
}

pub fn decode_login_status(body: &[u8], limits: &Limits) -> Result<LoginStatus, DecodeError> {
    decode_reply(
        body,
        limits,
        "GetLoginStatusResponse",
        "GetLoginStatusResult",
        decode::login_status,
    )
}

pub fn decode_logout_response(body: &[u8], limits: &Limits) -> Result<LogoutResponse, DecodeError> {
    decode_reply(
        body,
        limits,
        "LogoutResponse",
        "LogoutResult",
        decode::logout_response,
    )
}

// === writers ===

pub fn encode_login_request(r: &LoginRequest) -> String {
    writer::request("Login", &out::login_request(r))
}

pub fn encode_login_answer(r: &LoginAnswer) -> String {
    writer::request("Login", &out::login_answer(r))
}

/// Either Login step, as [`decode_login_step`] reads it.
pub fn encode_login_step(s: &LoginStep) -> String {
    match s {
        LoginStep::Begin(r) => encode_login_request(r),
        LoginStep::Answer(a) => encode_login_answer(a),
    }
}

pub fn encode_status_request(r: &StatusRequest) -> String {
    writer::request("GetLoginStatus", &out::status_request(r))
}

pub fn encode_logout_request(r: &LogoutRequest) -> String {
    writer::request("Logout", &out::logout_request(r))
}

pub fn encode_login_response(r: &LoginResponse) -> String {
    writer::response("Login", &out::login_response(r))
}

pub fn encode_login_status(s: &LoginStatus) -> String {
    writer::response("GetLoginStatus", &out::login_status(s))
}

pub fn encode_logout_response(r: &LogoutResponse) -> String {
    writer::response("Logout", &out::logout_response(r))
}

/// A SOAP 1.1 Fault (sent with HTTP 500, or 413 for an oversized body); text is escaped.
pub fn encode_fault(faultcode: &str, faultstring: &str, detail_code: Option<&str>) -> String {
    writer::fault(faultcode, faultstring, detail_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_action_forms() {
        let quoted = format!("\"{ACTION_PREFIX}GetLoginStatus\"");
        assert_eq!(
            SoapAction::parse(&quoted).unwrap().method(),
            &Method::GetLoginStatus
        );
        let bare = format!("{ACTION_PREFIX}Logout");
        assert_eq!(SoapAction::parse(&bare).unwrap().method(), &Method::Logout);
        let lower = format!("\"{ACTION_PREFIX}getloginstatus\"");
        assert_eq!(
            SoapAction::parse(&lower).unwrap().method(),
            &Method::Other("getloginstatus".into())
        );
        assert_eq!(SoapAction::parse(&quoted).unwrap().header_value(), quoted);
    }

    #[test]
    fn soap_action_rejections() {
        for bad in [
            "",
            "\"\"",
            "\"http://tempuri.org/IService/GetLoginStatus\"",
            "\"HTTP://WWW.POINTSHARP.COM/NETID/SERVER/PORTAL/ISERVICESOAP/GetLoginStatus\"",
            &format!("\"{ACTION_PREFIX}GetLoginStatus"),
            &format!("\"{ACTION_PREFIX}\""),
            &format!("\"{ACTION_PREFIX}Get/LoginStatus\""),
            &format!("\"{ACTION_PREFIX}Get LoginStatus\""),
        ] {
            assert!(
                matches!(SoapAction::parse(bad), Err(DecodeError::UnknownAction(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn action_must_match_the_body() {
        let body = concat!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>"#,
            r#"<Logout xmlns="http://www.pointsharp.com/netid/server/portal"><Info>"#,
            r#"<SessionId>s</SessionId><Count>1</Count></Info></Logout></s:Body></s:Envelope>"#
        );
        let msg = parse_request(body.as_bytes(), &Limits::default()).unwrap();
        assert!(SoapAction::new(Method::Logout).matches(&msg));
        assert!(!SoapAction::new(Method::GetLoginStatus).matches(&msg));
        assert_eq!(decode_logout_request(&msg).unwrap().count, 1);
        assert!(matches!(
            decode_status_request(&msg),
            Err(DecodeError::UnexpectedElement(_))
        ));
    }

    #[test]
    fn method_names_round_trip() {
        for m in ["Login", "GetLoginStatus", "Logout", "GetObject", "Other"] {
            assert_eq!(Method::parse(m).as_str(), m);
        }
    }
}
