//! Writing the unified SOAP face's responses and faults.
//!
//! The face's namespace is the default namespace of the response element, so every child is
//! qualified (the WSDL's `elementFormDefault="qualified"`) without a prefix on each name. Text
//! goes through the Net iD writer's escaping, which also replaces characters XML cannot carry.

use idbridge_session::{Organization, Session, UnixTime};

use super::{FaultCode, NS};
use crate::netid::soap::NS_SOAP_ENV;
use crate::netid::soap::writer::escape;
use crate::unified::{Challenge, auth_method_name, backend_name, instant, kind_name, seconds};

const DECL: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

/// `<LoginResponse><Token/><TokenType>Bearer</TokenType><ExpiresIn/><Session/></LoginResponse>`;
/// `expires_in` is the token's lifetime in seconds.
pub fn encode_login_response(
    session: &Session,
    token: &str,
    expires_in: u64,
    now: UnixTime,
) -> String {
    envelope("LoginResponse", |w| {
        w.leaf("Token", token);
        w.leaf("TokenType", "Bearer");
        w.leaf("ExpiresIn", &seconds(expires_in).to_string());
        write_session(w, session, now);
    })
}

/// `<LoginResponse><Challenge><SessionId/><Value/><ServerCertificate/>?</Challenge>
/// </LoginResponse>`: step 1 of a Net iD login, to be answered with step 2 (`SessionId` and
/// `Answer`).
pub fn encode_challenge_response(c: &Challenge) -> String {
    envelope("LoginResponse", |w| {
        w.open("Challenge");
        w.leaf("SessionId", &c.session_id);
        w.leaf("Value", &c.value);
        if let Some(cert) = &c.server_certificate {
            w.leaf("ServerCertificate", cert);
        }
        w.close("Challenge");
    })
}

/// `<GetSessionResponse><Session/></GetSessionResponse>`.
pub fn encode_session_response(session: &Session, now: UnixTime) -> String {
    envelope("GetSessionResponse", |w| write_session(w, session, now))
}

/// `<LogoutResponse><LoggedOut>true</LoggedOut></LogoutResponse>`.
pub fn encode_logout_response() -> String {
    envelope("LogoutResponse", |w| w.leaf("LoggedOut", "true"))
}

/// A SOAP 1.1 Fault (send it with HTTP 500) whose `detail` carries the face's error code:
/// `<detail><ib:Error><ib:Code>…</ib:Code></ib:Error></detail>`. Both texts are escaped; like
/// the JSON `error_body`, they must be written for the client, never a backend's own text.
pub fn encode_fault(code: FaultCode, error_code: &str, message: &str) -> String {
    format!(
        concat!(
            "{decl}<s:Envelope xmlns:s=\"{soap}\"><s:Body><s:Fault>",
            "<faultcode>{code}</faultcode><faultstring>{message}</faultstring>",
            "<detail><ib:Error xmlns:ib=\"{ns}\"><ib:Code>{error_code}</ib:Code></ib:Error></detail>",
            "</s:Fault></s:Body></s:Envelope>"
        ),
        decl = DECL,
        soap = NS_SOAP_ENV,
        ns = NS,
        code = code.as_str(),
        message = escape(message),
        error_code = escape(error_code),
    )
}

/// The `Session` element: children in the WSDL's order, optional ones omitted when absent.
fn write_session(w: &mut Writer, s: &Session, now: UnixTime) {
    w.open("Session");
    w.leaf("Backend", backend_name(s.backend));
    w.open("Subject");
    w.leaf("Id", &s.subject.id);
    w.leaf("Name", &s.subject.name);
    w.opt_leaf("Email", s.subject.email.as_deref());
    w.opt_leaf("Phone", s.subject.phone.as_deref());
    w.leaf("Kind", kind_name(s.subject.kind));
    w.close("Subject");
    if let Some(org) = &s.working_org {
        write_organization(w, "Organization", org, true);
    }
    if let Some(org) = &s.home_org {
        write_organization(w, "HomeOrganization", org, true);
    }
    w.open("Organizations");
    for org in &s.organizations {
        // As in the JSON face's list: id and name only.
        write_organization(w, "Organization", org, false);
    }
    w.close("Organizations");
    w.open("Usages");
    for usage in &s.usages {
        w.leaf("Usage", &usage.name);
    }
    w.close("Usages");
    w.leaf("AuthMethod", auth_method_name(&s.auth_method));
    w.leaf("CreatedAt", &instant(s.created));
    w.leaf("RefreshedAt", &instant(s.refreshed));
    w.leaf("ExpiresAt", &instant(s.expires_at));
    w.leaf(
        "ExpiresIn",
        &seconds(s.time_to_live(now).as_secs()).to_string(),
    );
    if let Some(idle) = s.idle_timeout {
        w.leaf("IdleTimeout", &seconds(idle.as_secs()).to_string());
    }
    w.close("Session");
}

fn write_organization(w: &mut Writer, name: &str, org: &Organization, with_domain: bool) {
    w.open(name);
    w.leaf("Id", &org.id);
    w.leaf("Name", &org.name);
    if with_domain {
        w.opt_leaf("Domain", org.domain.as_deref());
    }
    w.close(name);
}

fn envelope(element: &str, content: impl FnOnce(&mut Writer)) -> String {
    let mut w = Writer(format!(
        r#"{DECL}<s:Envelope xmlns:s="{NS_SOAP_ENV}"><s:Body><{element} xmlns="{NS}">"#
    ));
    content(&mut w);
    w.close(element);
    w.0.push_str("</s:Body></s:Envelope>");
    w.0
}

// === impl Writer ===

/// Element names are this module's constants; only text is escaped.
struct Writer(String);

impl Writer {
    fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
    }

    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.0.push_str(&escape(text));
        self.close(name);
    }

    fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }
}

#[cfg(test)]
mod tests;
