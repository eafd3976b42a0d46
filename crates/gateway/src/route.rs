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

/// The protocol a caller speaks, and so the form of every answer it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Face {
    Enos,
    NetidRest,
    NetidSoap,
}

/// The identity operations the gateway intercepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Login,
    Status,
    Logout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Answered by the gateway (possibly after its own upstream calls).
    Intercept { face: Face, op: Op },
    /// Proxied to the backend untouched.
    Proxy(Backend),
    /// Not the gateway's and not a backend's.
    NotFound,
}

/// The request facts routing needs; gathered by the proxy phase, nothing else.
#[derive(Clone, Copy, Debug)]
pub struct RouteInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub soap_action: Option<&'a str>,
    /// `backends.enos.logout_path`.
    pub enos_logout_path: &'a str,
    /// `backends.netid.soap_path`.
    pub soap_path: &'a str,
}

impl Face {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enos => "enos",
            Self::NetidRest => "netid_rest",
            Self::NetidSoap => "netid_soap",
        }
    }
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Status => "status",
            Self::Logout => "logout",
        }
    }
}

pub fn route(req: &RouteInput<'_>) -> Route {
    let post = req.method == "POST";
    let intercept = |face, op| Route::Intercept { face, op };
    if req.path.starts_with(ENOS_PREFIX) {
        return match req.path {
            ENOS_LOGIN if post => intercept(Face::Enos, Op::Login),
            ENOS_SESSION_INFO if post => intercept(Face::Enos, Op::Status),
            p if post && p == req.enos_logout_path => intercept(Face::Enos, Op::Logout),
            _ => Route::Proxy(Backend::Enos),
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
        return op.map_or(Route::Proxy(Backend::Netid), |op| {
            intercept(Face::NetidSoap, op)
        });
    }
    if req.path.starts_with(NETID_REST_PREFIX) {
        return match req.path {
            NETID_LOGIN if post => intercept(Face::NetidRest, Op::Login),
            NETID_STATUS if post => intercept(Face::NetidRest, Op::Status),
            NETID_LOGOUT if post => intercept(Face::NetidRest, Op::Logout),
            _ => Route::Proxy(Backend::Netid),
        };
    }
    Route::NotFound
}

/// Which backend issued a session id, by its form: EnOS ids are `IAM_S_…`; everything else is
/// taken for a Net iD id (base64 of 20 bytes). Used only when the session is not cached.
pub fn backend_of_id(id: &str) -> Backend {
    if id.starts_with("IAM_S_") {
        Backend::Enos
    } else {
        Backend::Netid
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
            soap_action,
            enos_logout_path: "/enos-iam-service/v2.0/logout",
            soap_path: "/portal/service.svc",
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
        assert_eq!(r("GET", ENOS_LOGIN, None), Route::Proxy(Backend::Enos));
        assert_eq!(
            r("POST", "/enos-iam-service/v2.0/organization/info", None),
            Route::Proxy(Backend::Enos)
        );
        assert_eq!(
            r("POST", "/enos-iam-service/v2.0/login/", None),
            Route::Proxy(Backend::Enos)
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
            Route::Proxy(Backend::Netid)
        );
        assert_eq!(
            r("GET", "/api/anything/else", None),
            Route::Proxy(Backend::Netid)
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
        assert_eq!(soap(&action("GetObject")), Route::Proxy(Backend::Netid));
        assert_eq!(
            soap(&action("getloginstatus")),
            Route::Proxy(Backend::Netid),
            "case-sensitive"
        );
        assert_eq!(
            r("POST", "/portal/service.svc", None),
            Route::Proxy(Backend::Netid)
        );
        assert_eq!(
            r("GET", "/portal/service.svc", Some(&action("Login"))),
            Route::Proxy(Backend::Netid)
        );
    }

    #[test]
    fn everything_else_is_not_found() {
        assert_eq!(r("GET", "/", None), Route::NotFound);
        assert_eq!(r("GET", "/enos-iam-service", None), Route::NotFound);
        assert_eq!(r("GET", "/apix/login", None), Route::NotFound);
    }

    #[test]
    fn backend_by_id_form() {
        assert_eq!(backend_of_id("IAM_S_abc"), Backend::Enos);
        assert_eq!(
            backend_of_id("q83vEjRWeJq83vEjRWeJq83vEjQ="),
            Backend::Netid
        );
    }
}
