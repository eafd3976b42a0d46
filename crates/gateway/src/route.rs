//! Routing: a pure function of method, path and `SOAPAction` (DESIGN §3).
//!
//! Only exact paths are intercepted. Anything else under a backend's prefix goes to that backend
//! untouched, so a path the gateway does not understand (`/api/login/`, a percent-encoded variant)
//! is the backend's to answer, never silently reinterpreted here.

use idbridge_protocol::netid::soap::{Method, SoapAction};
use idbridge_session::Backend;

pub const ENOS_PREFIX: &str = "/enos-iam-service/";
pub const ENOS_LOGIN: &str = "/enos-iam-service/v2.0/login";
pub const ENOS_SESSION_INFO: &str = "/enos-iam-service/v2.0/session/info";
pub const NETID_REST_PREFIX: &str = "/api/";
pub use idbridge_protocol::netid::rest::{
    LOGIN_PATH as NETID_LOGIN, LOGIN_STATUS_PATH as NETID_STATUS, LOGOUT_PATH as NETID_LOGOUT,
};

pub const UNIFIED_LOGIN: &str = "/idbridge/v1/login";
pub const UNIFIED_SESSION: &str = "/idbridge/v1/session";
pub const UNIFIED_LOGOUT: &str = "/idbridge/v1/logout";
pub const UNIFIED_AUTH: &str = "/idbridge/v1/auth";
pub const UNIFIED_OPENAPI: &str = "/idbridge/v1/openapi.json";
pub const UNIFIED_SOAP: &str = "/idbridge/soap";
pub const JWKS: &str = "/.well-known/jwks.json";
const UNIFIED_SOAP_ACTION: &str = "urn:idbridge:v1/";

/// The protocol a caller speaks, and so the form of every answer it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Face {
    Enos,
    NetidRest,
    NetidSoap,
    /// idbridge's own REST/JSON face (and forward-auth).
    Unified,
    /// idbridge's own SOAP 1.1 face.
    UnifiedSoap,
}

/// Static documents the gateway serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    Jwks,
    OpenApi,
    Wsdl,
}

/// The identity operations the gateway intercepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Login,
    Status,
    Logout,
    /// Forward-auth: is this request's session valid, and who is it?
    Auth,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Answered by the gateway (possibly after its own upstream calls).
    Intercept { face: Face, op: Op },
    /// Proxied to the backend untouched.
    Proxy(Backend),
    /// Served by the gateway from memory.
    Document(Doc),
    /// A protected app (index into the configured routes): proxied only for a valid session.
    App(usize),
    /// Not the gateway's and not a backend's.
    NotFound,
}

/// The request facts routing needs; gathered by the proxy phase, nothing else.
#[derive(Clone, Copy, Debug)]
pub struct RouteInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub soap_action: Option<&'a str>,
    /// `backends.enos.logout_path`.
    pub enos_logout_path: &'a str,
    /// `backends.netid.soap_path`.
    pub soap_path: &'a str,
    /// The path prefixes of the protected app routes, in configuration order.
    pub app_prefixes: &'a [String],
}

impl Face {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enos => "enos",
            Self::NetidRest => "netid_rest",
            Self::NetidSoap => "netid_soap",
            Self::Unified => "unified",
            Self::UnifiedSoap => "unified_soap",
        }
    }
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Status => "status",
            Self::Logout => "logout",
            Self::Auth => "auth",
        }
    }
}

pub fn route(req: &RouteInput<'_>) -> Route {
    let post = req.method == "POST";
    let get = req.method == "GET" || req.method == "HEAD";
    let intercept = |face, op| Route::Intercept { face, op };
    if let Some(route) = gateway_route(req, post, get) {
        return route;
    }
    if let Some(i) = req.app_prefixes.iter().position(|p| under(req.path, p)) {
        return Route::App(i);
    }
    if req.path.starts_with(ENOS_PREFIX) {
        return match req.path {
            ENOS_LOGIN if post => intercept(Face::Enos, Op::Login),
            ENOS_SESSION_INFO if post => intercept(Face::Enos, Op::Status),
            p if post && p == req.enos_logout_path => intercept(Face::Enos, Op::Logout),
            _ => Route::Proxy(Backend::ENOS),
        };
    }
    if req.path == req.soap_path {
        let op = match req.soap_action.map(SoapAction::parse) {
            Some(Ok(action)) if post => match action.method() {
                Method::Login => Some(Op::Login),
                Method::GetLoginStatus => Some(Op::Status),
                Method::Logout => Some(Op::Logout),
                _ => None,
            },
            _ => None,
        };
        return op.map_or(Route::Proxy(Backend::NETID), |op| {
            intercept(Face::NetidSoap, op)
        });
    }
    if req.path.starts_with(NETID_REST_PREFIX) {
        return match req.path {
            NETID_LOGIN if post => intercept(Face::NetidRest, Op::Login),
            NETID_STATUS if post => intercept(Face::NetidRest, Op::Status),
            NETID_LOGOUT if post => intercept(Face::NetidRest, Op::Logout),
            _ => Route::Proxy(Backend::NETID),
        };
    }
    Route::NotFound
}

/// idbridge's own faces and documents.
fn gateway_route(req: &RouteInput<'_>, post: bool, get: bool) -> Option<Route> {
    let intercept = |face, op| Some(Route::Intercept { face, op });
    match req.path {
        UNIFIED_LOGIN if post => intercept(Face::Unified, Op::Login),
        UNIFIED_SESSION if get => intercept(Face::Unified, Op::Status),
        UNIFIED_LOGOUT if post => intercept(Face::Unified, Op::Logout),
        UNIFIED_OPENAPI if get => Some(Route::Document(Doc::OpenApi)),
        JWKS if get => Some(Route::Document(Doc::Jwks)),
        UNIFIED_SOAP if get && req.query.is_some_and(|q| q.eq_ignore_ascii_case("wsdl")) => {
            Some(Route::Document(Doc::Wsdl))
        }
        // The operation is read from the body; the action, when sent, only has to agree with it.
        UNIFIED_SOAP if post => {
            let action = req.soap_action.map(|a| a.trim().trim_matches('"'));
            let op = match action.and_then(|a| a.strip_prefix(UNIFIED_SOAP_ACTION)) {
                Some("Login") => Op::Login,
                Some("Logout") => Op::Logout,
                _ => Op::Status,
            };
            intercept(Face::UnifiedSoap, op)
        }
        // Envoy's ext_authz forwards the original method and appends the original path.
        p if under(p, UNIFIED_AUTH) => intercept(Face::Unified, Op::Auth),
        p if p.starts_with("/idbridge/") => Some(Route::NotFound),
        _ => None,
    }
}

/// `path` is `prefix` or below it (`/app` matches `/app`, `/app/x`, not `/apple`).
fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Which backend issued a session id, by its form: EnOS ids are `IAM_S_…`; everything else is
/// taken for a Net iD id (base64 of 20 bytes). Used only when the session is not cached.
pub fn backend_of_id(id: &str) -> Backend {
    if id.starts_with("IAM_S_") {
        Backend::ENOS
    } else {
        Backend::NETID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "http://www.pointsharp.com/netid/server/portal/IServiceSoap/";

    fn r(method: &str, path: &str, soap_action: Option<&str>) -> Route {
        route(&RouteInput {
            method,
            path,
            query: None,
            soap_action,
            enos_logout_path: "/enos-iam-service/v2.0/logout",
            soap_path: "/portal/service.svc",
            app_prefixes: &[],
        })
    }

    fn i(face: Face, op: Op) -> Route {
        Route::Intercept { face, op }
    }

    #[test]
    fn enos_calls() {
        assert_eq!(r("POST", ENOS_LOGIN, None), i(Face::Enos, Op::Login));
        assert_eq!(
            r("POST", ENOS_SESSION_INFO, None),
            i(Face::Enos, Op::Status)
        );
        assert_eq!(
            r("POST", "/enos-iam-service/v2.0/logout", None),
            i(Face::Enos, Op::Logout)
        );
        assert_eq!(r("GET", ENOS_LOGIN, None), Route::Proxy(Backend::ENOS));
        assert_eq!(
            r("POST", "/enos-iam-service/v2.0/organization/info", None),
            Route::Proxy(Backend::ENOS)
        );
        assert_eq!(
            r("POST", "/enos-iam-service/v2.0/login/", None),
            Route::Proxy(Backend::ENOS)
        );
    }

    #[test]
    fn netid_rest_calls() {
        assert_eq!(r("POST", NETID_LOGIN, None), i(Face::NetidRest, Op::Login));
        assert_eq!(
            r("POST", NETID_STATUS, None),
            i(Face::NetidRest, Op::Status)
        );
        assert_eq!(
            r("POST", NETID_LOGOUT, None),
            i(Face::NetidRest, Op::Logout)
        );
        assert_eq!(
            r("POST", "/api/object/get", None),
            Route::Proxy(Backend::NETID)
        );
        assert_eq!(
            r("GET", "/api/anything/else", None),
            Route::Proxy(Backend::NETID)
        );
    }

    #[test]
    fn soap_dispatches_on_the_action() {
        let action = |m: &str| format!("\"{NS}{m}\"");
        let soap = |a: &str| r("POST", "/portal/service.svc", Some(a));
        assert_eq!(soap(&action("Login")), i(Face::NetidSoap, Op::Login));
        assert_eq!(
            soap(&action("GetLoginStatus")),
            i(Face::NetidSoap, Op::Status)
        );
        assert_eq!(soap(&action("Logout")), i(Face::NetidSoap, Op::Logout));
        assert_eq!(soap(&action("GetObject")), Route::Proxy(Backend::NETID));
        assert_eq!(
            soap(&action("getloginstatus")),
            Route::Proxy(Backend::NETID),
            "case-sensitive"
        );
        assert_eq!(
            r("POST", "/portal/service.svc", None),
            Route::Proxy(Backend::NETID)
        );
        assert_eq!(
            r("GET", "/portal/service.svc", Some(&action("Login"))),
            Route::Proxy(Backend::NETID)
        );
    }

    #[test]
    fn everything_else_is_not_found() {
        assert_eq!(r("GET", "/", None), Route::NotFound);
        assert_eq!(r("GET", "/enos-iam-service", None), Route::NotFound);
        assert_eq!(r("GET", "/apix/login", None), Route::NotFound);
    }

    #[test]
    fn gateway_faces_and_documents() {
        assert_eq!(r("POST", UNIFIED_LOGIN, None), i(Face::Unified, Op::Login));
        assert_eq!(
            r("GET", UNIFIED_SESSION, None),
            i(Face::Unified, Op::Status)
        );
        assert_eq!(
            r("POST", UNIFIED_LOGOUT, None),
            i(Face::Unified, Op::Logout)
        );
        assert_eq!(r("GET", UNIFIED_AUTH, None), i(Face::Unified, Op::Auth));
        assert_eq!(
            r("POST", "/idbridge/v1/auth/app/page", None),
            i(Face::Unified, Op::Auth)
        );
        assert_eq!(r("GET", JWKS, None), Route::Document(Doc::Jwks));
        assert_eq!(
            r("GET", UNIFIED_OPENAPI, None),
            Route::Document(Doc::OpenApi)
        );
        assert_eq!(
            r("POST", UNIFIED_SOAP, Some("\"urn:idbridge:v1/Login\"")),
            i(Face::UnifiedSoap, Op::Login)
        );
        assert_eq!(
            r("POST", UNIFIED_SOAP, None),
            i(Face::UnifiedSoap, Op::Status)
        );
        assert_eq!(r("GET", "/idbridge/v2/unknown", None), Route::NotFound);
        let wsdl = route(&RouteInput {
            method: "GET",
            path: UNIFIED_SOAP,
            query: Some("wsdl"),
            soap_action: None,
            enos_logout_path: "/x",
            soap_path: "/portal/service.svc",
            app_prefixes: &[],
        });
        assert_eq!(wsdl, Route::Document(Doc::Wsdl));
    }

    #[test]
    fn protected_apps_by_prefix() {
        let apps = ["/app/".to_owned(), "/reports".to_owned()];
        let at = |path: &str| {
            route(&RouteInput {
                method: "GET",
                path,
                query: None,
                soap_action: None,
                enos_logout_path: "/x",
                soap_path: "/portal/service.svc",
                app_prefixes: &apps,
            })
        };
        assert_eq!(at("/app/"), Route::App(0));
        assert_eq!(at("/app/page"), Route::App(0));
        assert_eq!(at("/app"), Route::App(0));
        assert_eq!(at("/apple"), Route::NotFound);
        assert_eq!(at("/reports/q1"), Route::App(1));
        assert_eq!(at("/api/login/status/get"), Route::Proxy(Backend::NETID));
    }

    #[test]
    fn backend_by_id_form() {
        assert_eq!(backend_of_id("IAM_S_abc"), Backend::ENOS);
        assert_eq!(
            backend_of_id("q83vEjRWeJq83vEjRWeJq83vEjQ="),
            Backend::NETID
        );
    }
}
