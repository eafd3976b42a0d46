//! The router: `Router::route` on a request's method, path, query and `SOAPAction`, for routers
//! built (once) by `Runtime::new` from two configurations: the built-in defaults with a
//! protected app, and one whose Net iD SOAP path has capitals (so every path may be a letter-case
//! variant of an intercepted one).
//!
//! Input: an HTTP request head as text, `METHOD PATH[?QUERY] [VERSION]` on the first line and an
//! optional `SOAPAction: value` line after it.
//!
//! Invariants: the target's indices exist; routing is a pure function; and, the module's rule, a
//! path that is not canonical is never proxied nor reported missing: it is refused, unless it is
//! the tail of a face's prefix route or stays under the same protected app.

#![no_main]

use std::sync::OnceLock;

use idbridge_gateway::backend::Kinds;
use idbridge_gateway::config;
use idbridge_gateway::face::RouteInput;
use idbridge_gateway::path;
use idbridge_gateway::router::Target;
use idbridge_gateway::runtime::Runtime;
use libfuzzer_sys::fuzz_target;

const APPS: &str = r#"
[[routes]]
prefix = "/app/"
upstream = "http://127.0.0.1:3000"
strip_prefix = true
[[routes]]
prefix = "/grafana"
upstream = "http://127.0.0.1:3001"
"#;

const CAPITALS: &str = r#"
[backends.netid]
soap_path = "/Portal/Service.svc"
"#;

fn runtimes() -> &'static [Runtime] {
    static RUNTIMES: OnceLock<Vec<Runtime>> = OnceLock::new();
    RUNTIMES.get_or_init(|| {
        [APPS, CAPITALS]
            .iter()
            .map(|text| {
                let kinds = Kinds::default();
                let config = config::load_toml(text, &kinds).expect("fuzz configuration");
                Runtime::new(config, kinds).expect("fuzz runtime")
            })
            .collect()
    })
}

/// `(method, path, query, soap_action)` from the request head.
fn parse(text: &str) -> Option<(&str, &str, Option<&str>, Option<&str>)> {
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let mut request_line = lines.next()?.splitn(3, ' ');
    let method = request_line.next()?;
    let target = request_line.next()?;
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let soap_action = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("soapaction")
            .then(|| value.trim())
    });
    Some((method, path, query, soap_action))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((method, path, query, soap_action)) = parse(text) else {
        return;
    };
    let input = RouteInput {
        method,
        path,
        query,
        soap_action,
    };
    let canonical = path::check(path).is_ok();
    let _ = path::normalise(path);
    for runtime in runtimes() {
        let target = runtime.router.route(&input);
        assert_eq!(target, runtime.router.route(&input), "routing is not pure");
        let faces = runtime.router.faces().len();
        match target {
            Target::Face { face, .. } => assert!(face < faces),
            Target::Proxy { backend, face } => {
                assert!(backend < runtime.backends.len() && face < faces)
            }
            Target::App(app) => assert!(app < runtime.apps.len()),
            Target::Refused { face, .. } => assert!(face.is_none_or(|f| f < faces)),
            Target::Document(_) | Target::NotFound => {}
        }
        if !canonical {
            assert!(
                matches!(
                    target,
                    Target::Refused { .. } | Target::Face { .. } | Target::App(_)
                ),
                "non-canonical path {path:?} routed to {target:?}"
            );
        }
    }
});
