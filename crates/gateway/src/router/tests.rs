use super::*;
use crate::face::enos::{EnosFace, LOGIN as ENOS_LOGIN, SESSION_INFO};
use crate::face::netid::{LOGIN, LOGOUT, NetidFace, STATUS};
use crate::face::unified::{AUTH, JWKS, OPENAPI, SESSION, UnifiedFace};
use crate::face::unified_soap::{PATH as UNIFIED_SOAP, UnifiedSoapFace};
use idbridge_session::Backend;

const NS: &str = "http://www.pointsharp.com/netid/server/portal/IServiceSoap/";
const SOAP: &str = "/portal/service.svc";

/// Faces 0 unified, 1 unified SOAP, 2 EnOS, 3 Net iD REST, 4 Net iD SOAP; backends 0 EnOS,
/// 1 Net iD.
fn router(apps: &[&str]) -> Router {
    let faces: Vec<Arc<dyn Face>> = vec![
        Arc::new(UnifiedFace),
        Arc::new(UnifiedSoapFace),
        Arc::new(EnosFace::new(
            Backend::ENOS,
            "/enos-iam-service/v2.0/logout",
        )),
        Arc::new(NetidFace::rest(Backend::NETID)),
        Arc::new(NetidFace::soap(Backend::NETID, SOAP)),
    ];
    let proxied = vec![
        (PathMatch::Prefix("/enos-iam-service/".into()), 0, 2),
        (PathMatch::Prefix("/api/".into()), 1, 3),
        (PathMatch::Exact(SOAP.into()), 1, 4),
    ];
    Router::build(
        faces,
        proxied,
        apps.iter().map(|a| (*a).to_owned()).collect(),
    )
    .unwrap()
}

fn at(r: &Router, method: &str, path: &str, query: Option<&str>, action: Option<&str>) -> Target {
    r.route(&RouteInput {
        method,
        path,
        query,
        soap_action: action,
    })
}

fn face(face: usize, op: Op) -> Target {
    Target::Face { face, op }
}

const ENOS_PROXY: Target = Target::Proxy {
    backend: 0,
    face: 2,
};
const NETID_PROXY: Target = Target::Proxy {
    backend: 1,
    face: 3,
};

#[test]
fn enos_calls() {
    let r = router(&[]);
    assert_eq!(at(&r, "POST", ENOS_LOGIN, None, None), face(2, Op::Login));
    assert_eq!(
        at(&r, "POST", SESSION_INFO, None, None),
        face(2, Op::Status)
    );
    assert_eq!(
        at(&r, "POST", "/enos-iam-service/v2.0/logout", None, None),
        face(2, Op::Logout)
    );
    assert_eq!(at(&r, "GET", ENOS_LOGIN, None, None), ENOS_PROXY);
    assert_eq!(
        at(
            &r,
            "POST",
            "/enos-iam-service/v2.0/organization/info",
            None,
            None
        ),
        ENOS_PROXY
    );
    assert_eq!(
        at(&r, "POST", "/enos-iam-service/v2.0/login/", None, None),
        bad_path(Some(2), PathProblem::Variant)
    );
}

fn bad_path(face: Option<usize>, problem: PathProblem) -> Target {
    Target::Refused {
        face,
        why: Refusal::Path(problem),
    }
}

#[test]
fn disguised_paths_are_refused_in_the_protocol_they_aim_at() {
    use PathProblem::*;
    let r = router(&["/app/"]);
    for (path, face, problem) in [
        ("//api/logout", Some(3), EmptySegment),
        ("/api//logout", Some(3), EmptySegment),
        ("/api/object/../logout", Some(3), DotSegment),
        ("/api/logout;x=1", Some(3), Parameters),
        ("/api%2Flogout", Some(3), EncodedSeparator),
        ("/api/logou%74", Some(3), NeedlessEncoding),
        ("/api/logout/", Some(3), Variant),
        ("/api/Logout", Some(3), Variant),
        ("/API/LOGOUT", Some(3), Variant),
        ("/api/object//get", Some(3), EmptySegment),
        ("//enos-iam-service/v2.0/logout", Some(2), EmptySegment),
        ("/portal/service.svc/", Some(4), Variant),
        ("/portal/./service.svc", Some(4), DotSegment),
        ("/idbridge/v1/session/", Some(0), Variant),
        ("/idbridge//v1/session", Some(0), EmptySegment),
        ("/idbridge/v1/../v1/logout", Some(0), DotSegment),
        ("/idbridge/soap;x", Some(1), Parameters),
        ("/app/../api/logout", Some(3), DotSegment),
        ("/x/../idbridge/v1/jwks.json", None, DotSegment),
        ("/nothing//here", None, EmptySegment),
    ] {
        assert_eq!(
            at(&r, "POST", path, None, None),
            bad_path(face, problem),
            "{path}"
        );
    }
}

#[test]
fn variants_of_a_configured_path_with_capitals_are_refused_too() {
    let faces: Vec<Arc<dyn Face>> = vec![Arc::new(NetidFace::soap(
        Backend::NETID,
        "/Portal/Service.svc",
    ))];
    let proxied = vec![(PathMatch::Prefix("/".into()), 0, 0)];
    let r = Router::build(faces, proxied, Vec::new()).unwrap();
    assert_eq!(
        at(&r, "POST", "/portal/service.svc", None, None),
        bad_path(Some(0), PathProblem::Variant)
    );
    assert_eq!(
        at(&r, "POST", "/Portal/Service.svc", None, None),
        Target::Proxy {
            backend: 0,
            face: 0
        }
    );
}

#[test]
fn where_a_path_is_data_it_is_left_alone() {
    let r = router(&["/app/"]);
    // Forward-auth: the tail is the original request's path, whatever its form.
    assert_eq!(
        at(&r, "GET", "/idbridge/v1/auth/app//x/../y;z", None, None),
        face(0, Op::Authorize)
    );
    // A protected app's path that stays under the app however it is read.
    assert_eq!(
        at(&r, "GET", "/app/a;jsessionid=1", None, None),
        Target::App(0)
    );
    assert_eq!(at(&r, "GET", "/app/a//b", None, None), Target::App(0));
}

#[test]
fn a_wrong_method_on_a_gateway_path_is_405_with_the_allowed_ones() {
    let r = router(&[]);
    let refused = |face, allowed| Target::Refused {
        face: Some(face),
        why: Refusal::Method { allowed },
    };
    assert_eq!(
        at(&r, "GET", "/idbridge/v1/login", None, None),
        refused(0, Methods::Post)
    );
    assert_eq!(
        at(&r, "DELETE", SESSION, None, None),
        refused(0, Methods::Get)
    );
    assert_eq!(at(&r, "POST", JWKS, None, None), refused(0, Methods::Get));
    assert_eq!(at(&r, "PUT", OPENAPI, None, None), refused(0, Methods::Get));
    assert_eq!(at(&r, "HEAD", SESSION, None, None), face(0, Op::Status));
    // A backend's path: the backend answers every method itself.
    assert_eq!(at(&r, "GET", LOGOUT, None, None), NETID_PROXY);
}

#[test]
fn netid_rest_calls() {
    let r = router(&[]);
    assert_eq!(at(&r, "POST", LOGIN, None, None), face(3, Op::Login));
    assert_eq!(at(&r, "POST", STATUS, None, None), face(3, Op::Status));
    assert_eq!(at(&r, "POST", LOGOUT, None, None), face(3, Op::Logout));
    assert_eq!(at(&r, "POST", "/api/object/get", None, None), NETID_PROXY);
    assert_eq!(at(&r, "GET", "/api/anything/else", None, None), NETID_PROXY);
}

#[test]
fn soap_dispatches_on_the_action() {
    let r = router(&[]);
    let action = |m: &str| format!("\"{NS}{m}\"");
    let soap = |a: &str| at(&r, "POST", SOAP, None, Some(a));
    assert_eq!(soap(&action("Login")), face(4, Op::Login));
    assert_eq!(soap(&action("GetLoginStatus")), face(4, Op::Status));
    assert_eq!(soap(&action("Logout")), face(4, Op::Logout));
    let soap_proxy = Target::Proxy {
        backend: 1,
        face: 4,
    };
    assert_eq!(soap(&action("GetObject")), soap_proxy);
    assert_eq!(
        soap(&action("getloginstatus")),
        soap_proxy,
        "case-sensitive"
    );
    assert_eq!(at(&r, "POST", SOAP, None, None), soap_proxy);
    assert_eq!(
        at(&r, "GET", SOAP, Some("wsdl"), Some(&action("Login"))),
        soap_proxy
    );
}

#[test]
fn everything_else_is_not_found() {
    let r = router(&[]);
    assert_eq!(at(&r, "GET", "/", None, None), Target::NotFound);
    assert_eq!(
        at(&r, "GET", "/enos-iam-service", None, None),
        Target::NotFound
    );
    assert_eq!(at(&r, "GET", "/apix/login", None, None), Target::NotFound);
}

#[test]
fn gateway_faces_and_documents() {
    let r = router(&[]);
    assert_eq!(
        at(&r, "POST", "/idbridge/v1/login", None, None),
        face(0, Op::Login)
    );
    assert_eq!(at(&r, "GET", SESSION, None, None), face(0, Op::Status));
    assert_eq!(
        at(&r, "POST", "/idbridge/v1/logout", None, None),
        face(0, Op::Logout)
    );
    assert_eq!(at(&r, "GET", AUTH, None, None), face(0, Op::Authorize));
    assert_eq!(
        at(&r, "POST", "/idbridge/v1/auth/app/page", None, None),
        face(0, Op::Authorize)
    );
    assert_eq!(at(&r, "GET", JWKS, None, None), Target::Document(Doc::Jwks));
    assert_eq!(
        at(&r, "GET", OPENAPI, None, None),
        Target::Document(Doc::OpenApi)
    );
    assert_eq!(
        at(
            &r,
            "POST",
            UNIFIED_SOAP,
            None,
            Some("\"urn:idbridge:v1/Login\"")
        ),
        face(1, Op::Login)
    );
    assert_eq!(
        at(&r, "POST", UNIFIED_SOAP, None, None),
        face(1, Op::Status)
    );
    assert_eq!(
        at(&r, "GET", "/idbridge/v2/unknown", None, None),
        Target::NotFound
    );
    assert_eq!(
        at(&r, "GET", UNIFIED_SOAP, Some("wsdl"), None),
        Target::Document(Doc::Wsdl)
    );
}

#[test]
fn protected_apps_by_prefix() {
    let r = router(&["/app/", "/reports"]);
    assert_eq!(at(&r, "GET", "/app/", None, None), Target::App(0));
    assert_eq!(at(&r, "GET", "/app/page", None, None), Target::App(0));
    assert_eq!(at(&r, "GET", "/app", None, None), Target::App(0));
    assert_eq!(at(&r, "GET", "/apple", None, None), Target::NotFound);
    assert_eq!(at(&r, "GET", "/reports/q1", None, None), Target::App(1));
    assert_eq!(
        at(&r, "GET", "/api/login/status/get", None, None),
        NETID_PROXY
    );
}

#[test]
fn apps_cannot_take_what_faces_and_backends_own() {
    let faces: Vec<Arc<dyn Face>> = vec![Arc::new(UnifiedFace)];
    for bad in ["/idbridge/x/", "/api/", "/api/sub/", "/portal/", "/"] {
        let proxied = vec![
            (PathMatch::Prefix("/api/".into()), 0, 0),
            (PathMatch::Exact(SOAP.into()), 0, 0),
        ];
        let err = Router::build(faces.clone(), proxied, vec![bad.to_owned()]).unwrap_err();
        assert_eq!(err[0].key, "routes[0].prefix", "{bad}");
    }
}
