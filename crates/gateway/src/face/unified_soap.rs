//! idbridge's own SOAP 1.1 face at `/idbridge/soap` (and its WSDL at `?wsdl`).
//!
//! The same operations as the unified REST face (Login, GetSession, Logout), decoded from the
//! body; the `SOAPAction`, when sent, only has to agree with it. Faults follow SOAP 1.1 (HTTP 500)
//! for the client's mistakes; a backend that cannot answer keeps its own status (502/503/504/429)
//! so that no client can read it as "not logged in".

use idbridge_protocol::Limits;
use idbridge_protocol::unified::soap::{self as usoap, FaultCode, UnifiedSoapRequest};
use idbridge_session::UnixTime;

use super::{
    Answer, Dispatched, Doc, Face, Intent, Login, Methods, Op, Request, RouteDecl, RouteInput,
    Select,
};
use crate::error::GatewayError;
use crate::reply::Reply;

pub use idbridge_protocol::unified::soap::PATH;
const ACTION_PREFIX: &str = "urn:idbridge:v1/";

/// The unified SOAP face.
#[derive(Debug, Default)]
pub struct UnifiedSoapFace;

impl Face for UnifiedSoapFace {
    fn name(&self) -> &'static str {
        "unified_soap"
    }

    fn routes(&self) -> Vec<RouteDecl> {
        vec![RouteDecl::exact(PATH, Methods::GetOrPost, Select::Dispatch)]
    }

    /// `GET ?wsdl` is the WSDL. A POST's operation is read from the body; the action only
    /// labels it early (metrics) and must agree with the body when decoded.
    fn dispatch(&self, req: &RouteInput<'_>) -> Dispatched {
        if req.method == "POST" {
            let action = req.soap_action.map(|a| a.trim().trim_matches('"'));
            return Dispatched::Op(match action.and_then(|a| a.strip_prefix(ACTION_PREFIX)) {
                Some("Login") => Op::Login,
                Some("Logout") => Op::Logout,
                _ => Op::Status,
            });
        }
        if req.query.is_some_and(|q| q.eq_ignore_ascii_case("wsdl")) {
            return Dispatched::Document(Doc::Wsdl);
        }
        Dispatched::Pass
    }

    fn decode(&self, _op: Op, req: &Request, limits: &Limits) -> Result<Intent, GatewayError> {
        Ok(
            match usoap::parse_request(&req.body, limits, req.soap_action.as_deref())? {
                UnifiedSoapRequest::Login(l) => Intent::Login(Login::Unified(l)),
                UnifiedSoapRequest::GetSession { token } => Intent::Status {
                    credential: Some(token),
                    count: None,
                },
                UnifiedSoapRequest::Logout { token } => Intent::Logout {
                    credential: Some(token),
                    count: None,
                },
            },
        )
    }

    fn render(&self, _intent: &Intent, answer: Answer, now: UnixTime) -> Reply {
        let body = match answer {
            Answer::LoggedIn { session, token } => {
                usoap::encode_login_response(&session, &token.token, token.expires_in, now)
            }
            Answer::Session { session, .. } => usoap::encode_session_response(&session, now),
            Answer::Challenge(c) => usoap::encode_challenge_response(&c),
            Answer::LoggedOut => usoap::encode_logout_response(),
            Answer::NativeLogin { raw, .. } | Answer::Forwarded(raw) => {
                return Reply::upstream(raw);
            }
        };
        Reply::new(200, usoap::CONTENT_TYPE, body)
    }

    fn error(&self, e: &GatewayError, _intent: Option<&Intent>) -> Reply {
        // SOAP 1.1 §6.2: a fault travels on HTTP 500, the gateway's code in `detail`; but for
        // the statuses whose HTTP meaning a client acts on (the `Allow` header, the body size).
        let (fault, status) = match e.http_status() {
            s @ (405 | 408 | 413 | 431) => (FaultCode::Client, s),
            s if s >= 500 || s == 429 => (FaultCode::Server, 500),
            _ => (FaultCode::Client, 500),
        };
        Reply::new(
            status,
            usoap::CONTENT_TYPE,
            usoap::encode_fault(fault, e.code(), &e.public_message()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Rejection, UpstreamError};

    #[test]
    fn every_fault_rides_on_500_but_the_http_level_ones() {
        let f = UnifiedSoapFace;
        assert_eq!(
            f.error(&GatewayError::NotLoggedIn(Rejection::Invalid), None)
                .status,
            500
        );
        let timeout = f.error(&GatewayError::Upstream(UpstreamError::Timeout), None);
        assert_eq!(timeout.status, 500);
        let body = String::from_utf8_lossy(&timeout.body);
        assert!(body.contains("<faultcode>s:Server</faultcode>"), "{body}");
        assert!(
            body.contains("<ib:Code>backend_timeout</ib:Code>"),
            "{body}"
        );
        assert_eq!(
            f.error(&GatewayError::TooLarge { limit: 1 }, None).status,
            413
        );
    }

    #[test]
    fn wsdl_and_operations() {
        let at = |method, query, action| {
            UnifiedSoapFace.dispatch(&RouteInput {
                method,
                path: PATH,
                query,
                soap_action: action,
            })
        };
        assert_eq!(
            at("GET", Some("wsdl"), None),
            Dispatched::Document(Doc::Wsdl)
        );
        assert_eq!(at("GET", None, None), Dispatched::Pass);
        assert_eq!(
            at("POST", None, Some("\"urn:idbridge:v1/Login\"")),
            Dispatched::Op(Op::Login)
        );
        assert_eq!(at("POST", None, None), Dispatched::Op(Op::Status));
    }
}
