//! The Pointsharp Net iD Portal simulator.
//!
//! Endpoints:
//! - SOAP 1.1 `POST /portal/service.svc`, dispatched on `SOAPAction`
//!   `"http://www.pointsharp.com/netid/server/portal/IServiceSoap/<Method>"` (documented; the
//!   path is assumed), WSDL at `GET /portal/service.svc?wsdl`;
//! - REST `POST /api/login`, `/api/login/status/get` (documented), `/api/logout`,
//!   `/api/object/get`.
//!
//! Methods `Login`, `GetLoginStatus`, `Logout`, `GetObject`; their rules are in `netid/ops.rs`.
//! Business errors are HTTP 200 with a non-Success `Status`. A SOAP request that is not a
//! well-formed call (not XML, hostile XML, wrong envelope, unknown `SOAPAction`) is HTTP 500 with a
//! SOAP Fault; a malformed REST body is HTTP 400 with `{"Status": {"Code": "InvalidInput", …}}`; a
//! body over 1 MiB is HTTP 413 in the binding's error form.
//!
//! Request counters: `netid.login`, `netid.get_login_status`, `netid.logout`, `netid.get_object`
//! (the same whether the call came over SOAP or REST), `netid.wsdl`, `netid.other` (anything else,
//! including unknown `SOAPAction`s); plus `netid.soap` for every request to `/portal/service.svc`
//! and `netid.rest` for every request under `/api/`.

pub(crate) mod cert;
pub(crate) mod message;
pub(crate) mod ops;
pub(crate) mod rest;
pub(crate) mod soap;
pub(crate) mod wsdl;
pub(crate) mod xml;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::SimOptions;
use crate::body::{self, BodyError};
use crate::control::Control;
use message::{Code, Op};
use ops::NetIdState;

/// The portal namespace (documented).
pub(crate) const NS: &str = "http://www.pointsharp.com/netid/server/portal";
/// What every `SOAPAction` starts with (documented).
pub(crate) const SOAP_ACTION_PREFIX: &str =
    "http://www.pointsharp.com/netid/server/portal/IServiceSoap/";
const SOAP_PATH: &str = "/portal/service.svc";

const SOAP_CONTENT_TYPE: &str = "text/xml; charset=\"utf-8\"";
const REST_CONTENT_TYPE: &str = "application/json; charset=\"utf-8\"";

/// Every counter the Net iD simulator keeps.
pub(crate) const STATS: &[&str] = &[
    "netid.login",
    "netid.get_login_status",
    "netid.logout",
    "netid.get_object",
    "netid.wsdl",
    "netid.other",
    "netid.soap",
    "netid.rest",
];

/// Where a request goes; a pure function of method, path, query and `SOAPAction`.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Soap(Op),
    /// A POST to the SOAP endpoint whose `SOAPAction` names no operation: why.
    SoapBadAction(String),
    Wsdl,
    /// Anything else at the SOAP endpoint (e.g. GET without `?wsdl`).
    SoapOther,
    Rest(Op),
    /// A known REST path with a method other than POST.
    RestWrongMethod,
    /// Any other path.
    Unknown {
        rest: bool,
    },
}

struct NetIdSim {
    control: Arc<Control>,
    state: NetIdState,
    base_url: String,
}

// === impl Route ===

impl Route {
    fn of(method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> Route {
        if path == SOAP_PATH {
            return if method == Method::POST {
                let action = headers.get("soapaction").map(|v| v.as_bytes());
                soap::action(action).map_or_else(Route::SoapBadAction, Route::Soap)
            } else if method == Method::GET && query.is_some_and(|q| q.eq_ignore_ascii_case("wsdl"))
            {
                Route::Wsdl
            } else {
                Route::SoapOther
            };
        }
        match Op::from_rest_path(path) {
            Some(op) if method == Method::POST => Route::Rest(op),
            Some(_) => Route::RestWrongMethod,
            None => Route::Unknown {
                rest: path.starts_with("/api/"),
            },
        }
    }

    /// The counters this request counts under.
    fn stats(&self) -> Vec<&'static str> {
        match self {
            Route::Soap(op) => vec![op.stat(), "netid.soap"],
            Route::SoapBadAction(_) | Route::SoapOther => vec!["netid.other", "netid.soap"],
            Route::Wsdl => vec!["netid.wsdl", "netid.soap"],
            Route::Rest(op) => vec![op.stat(), "netid.rest"],
            Route::RestWrongMethod | Route::Unknown { rest: true } => {
                vec!["netid.other", "netid.rest"]
            }
            Route::Unknown { rest: false } => vec!["netid.other"],
        }
    }
}

/// The Net iD simulator's routes (without the `/__sim` control routes).
pub(crate) fn router(control: Arc<Control>, opts: &SimOptions, local_addr: SocketAddr) -> Router {
    let sim = NetIdSim {
        control,
        state: NetIdState::new(
            opts.directory.netid.clone(),
            opts.clock.clone(),
            opts.netid_idle_timeout,
        ),
        base_url: format!("http://{local_addr}"),
    };
    Router::new().fallback(handle).with_state(Arc::new(sim))
}

async fn handle(State(sim): State<Arc<NetIdSim>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let route = Route::of(
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
    );
    if let Some(injected) = sim.control.admit(&route.stats()).await {
        return injected;
    }
    let response = match route {
        Route::Soap(op) => soap_call(&sim, op, body).await,
        Route::SoapBadAction(why) => soap_fault(StatusCode::INTERNAL_SERVER_ERROR, &why),
        Route::Wsdl => xml_response(StatusCode::OK, wsdl::document(&sim.base_url)),
        Route::SoapOther => soap_fault(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST a SOAP call, or GET ?wsdl",
        ),
        Route::Rest(op) => rest_call(&sim, op, body).await,
        Route::RestWrongMethod => rest_error(StatusCode::METHOD_NOT_ALLOWED, "use POST"),
        Route::Unknown { .. } => rest_error(StatusCode::NOT_FOUND, "unknown path"),
    };
    tracing::debug!(path = parts.uri.path(), status = %response.status(), "netid request");
    response
}

async fn soap_call(sim: &NetIdSim, op: Op, body: Body) -> Response {
    let bytes = match body::read(body).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return soap_fault(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large");
        }
        Err(BodyError::Broken) => {
            return soap_fault(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        }
    };
    match soap::parse_request(&bytes, op) {
        Ok(inputs) => {
            let fields = sim.state.execute(op, &inputs);
            xml_response(StatusCode::OK, soap::response(op, &fields))
        }
        Err(why) => soap_fault(StatusCode::INTERNAL_SERVER_ERROR, &why),
    }
}

async fn rest_call(sim: &NetIdSim, op: Op, body: Body) -> Response {
    let bytes = match body::read(body).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return rest_error(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large");
        }
        Err(BodyError::Broken) => {
            return rest_error(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        }
    };
    match rest::parse_request(&bytes) {
        Ok(inputs) => {
            let fields = sim.state.execute(op, &inputs);
            json_response(StatusCode::OK, rest::render(&fields))
        }
        Err(why) => rest_error(StatusCode::BAD_REQUEST, &why),
    }
}

fn soap_fault(status: StatusCode, why: &str) -> Response {
    xml_response(status, soap::fault(why))
}

fn rest_error(status: StatusCode, why: &str) -> Response {
    json_response(status, rest::render(&vec![Code::InvalidInput.status(why)]))
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, SOAP_CONTENT_TYPE)], body).into_response()
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, REST_CONTENT_TYPE)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, uri: &str, action: Option<&str>) -> Route {
        let uri: axum::http::Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        if let Some(a) = action {
            headers.insert("SOAPAction", a.parse().unwrap());
        }
        Route::of(&method, uri.path(), uri.query(), &headers)
    }

    #[test]
    fn routes_soap_rest_wsdl_and_the_rest() {
        let action = format!("\"{SOAP_ACTION_PREFIX}Login\"");
        assert_eq!(
            route(Method::POST, SOAP_PATH, Some(&action)),
            Route::Soap(Op::Login)
        );
        assert!(matches!(
            route(Method::POST, SOAP_PATH, None),
            Route::SoapBadAction(_)
        ));
        assert_eq!(
            route(Method::GET, "/portal/service.svc?wsdl", None),
            Route::Wsdl
        );
        assert_eq!(route(Method::GET, SOAP_PATH, None), Route::SoapOther);
        assert_eq!(
            route(Method::POST, "/api/login/status/get", None),
            Route::Rest(Op::GetLoginStatus)
        );
        assert_eq!(
            route(Method::GET, "/api/logout", None),
            Route::RestWrongMethod
        );
        assert_eq!(
            route(Method::POST, "/api/nope", None),
            Route::Unknown { rest: true }
        );
        assert_eq!(
            route(Method::GET, "/", None),
            Route::Unknown { rest: false }
        );
    }

    #[test]
    fn every_route_counts_under_known_counters() {
        let routes = [
            Route::Soap(Op::GetObject),
            Route::SoapBadAction(String::new()),
            Route::Wsdl,
            Route::SoapOther,
            Route::Rest(Op::Logout),
            Route::RestWrongMethod,
            Route::Unknown { rest: true },
            Route::Unknown { rest: false },
        ];
        for r in routes {
            for stat in r.stats() {
                assert!(STATS.contains(&stat), "{stat}");
            }
        }
    }
}
