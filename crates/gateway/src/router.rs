//! The router: built once per configuration from what faces, backends and apps declare, then a
//! pure function of method, path, query and `SOAPAction`.
//!
//! Order: a face's declared route (exact path first, then the longest prefix); a protected app's
//! prefix; a path proxied to a backend (exact, then the longest prefix); else not found. Only
//! declared paths are intercepted: anything else under a backend's prefix goes to that backend
//! untouched, so a path the gateway does not understand is the backend's to answer, never
//! silently reinterpreted here.
//!
//! Only canonical paths are routed ([`crate::path`]): any other is refused with 400, in the
//! protocol of the route a lenient server would read it as, so that no disguise of an
//! intercepted path reaches a backend. Two exceptions, where the path is data: the tail after a
//! face's prefix route (forward-auth appends the original request's path), and a protected app's
//! path that stays under the same app however it is read. A trailing-slash or letter-case
//! variant of an intercepted path is refused too, and a wrong method on a path only the gateway
//! answers gets 405 with the methods it allows.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Problem;
use crate::face::{Dispatched, Doc, Face, Methods, Op, PathMatch, RouteInput, Select};
use crate::path::{self, PathProblem};

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Answered by a face (index into the router's faces), possibly after backend calls.
    Face { face: usize, op: Op },
    /// Served from memory.
    Document(Doc),
    /// Proxied untouched to a backend; its errors speak `face`'s protocol.
    Proxy { backend: usize, face: usize },
    /// A protected app (index into the configured routes): proxied only for a valid session.
    App(usize),
    /// Not the gateway's and not a backend's.
    NotFound,
    /// Refused before anything else: answered in `face`'s protocol (the unified one for none).
    Refused { face: Option<usize>, why: Refusal },
}

/// Why the router refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a canonical path, or a variant of an intercepted one.
    Path(PathProblem),
    /// A path only the gateway answers, with a method it does not answer there.
    Method { allowed: Methods },
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    face: usize,
    methods: Methods,
    select: Select,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Router {
    faces: Vec<Arc<dyn Face>>,
    exact: HashMap<String, Vec<Entry>>,
    /// The exact face routes by [`fold`]ed path, to catch their variants.
    folded: HashMap<String, usize>,
    /// Some exact face route has capitals (a configured path): then any path may be a variant.
    capitals: bool,
    /// Longest prefix first.
    prefixed: Vec<(String, Entry)>,
    apps: Vec<String>,
    proxy_exact: HashMap<String, (usize, usize)>,
    /// Longest prefix first.
    proxy_prefixed: Vec<(String, (usize, usize))>,
}

/// Paths the gateway keeps for itself, whatever its faces declare today.
const GATEWAY_OWNED: &[&str] = &["/idbridge/", "/.well-known/"];

// === impl Router ===

impl Router {
    /// Builds the router. `proxied` is each backend's `(path, backend index, face index)`;
    /// `apps` the protected apps' prefixes. Two faces claiming one route, or an app prefix
    /// overlapping a face's or backend's path, are problems.
    pub fn build(
        faces: Vec<Arc<dyn Face>>,
        proxied: Vec<(PathMatch, usize, usize)>,
        apps: Vec<String>,
    ) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut router = Self {
            apps: apps.clone(),
            ..Self::default()
        };
        let mut owned: Vec<String> = GATEWAY_OWNED.iter().map(|p| (*p).to_owned()).collect();
        for (i, face) in faces.iter().enumerate() {
            for decl in face.routes() {
                owned.push(decl.path.as_str().to_owned());
                let entry = Entry {
                    face: i,
                    methods: decl.methods,
                    select: decl.select,
                };
                match decl.path {
                    PathMatch::Exact(p) => {
                        router.folded.insert(fold(&p), i);
                        router.capitals |= p.bytes().any(|b| b.is_ascii_uppercase());
                        let entries = router.exact.entry(p.clone()).or_default();
                        if let Some(other) =
                            entries.iter().find(|e| overlap(e.methods, decl.methods))
                        {
                            problems.push(clash(&p, faces[other.face].name(), face.name()));
                        }
                        entries.push(entry);
                    }
                    PathMatch::Prefix(p) => router.prefixed.push((p, entry)),
                }
            }
        }
        for (path, backend, face) in proxied {
            owned.push(path.as_str().to_owned());
            match path {
                PathMatch::Exact(p) => {
                    if router
                        .proxy_exact
                        .insert(p.clone(), (backend, face))
                        .is_some()
                    {
                        problems.push(clash(&p, "a backend", "another backend"));
                    }
                }
                PathMatch::Prefix(p) => {
                    if router.proxy_prefixed.iter().any(|(q, _)| *q == p) {
                        problems.push(clash(&p, "a backend", "another backend"));
                    }
                    router.proxy_prefixed.push((p, (backend, face)));
                }
            }
        }
        for (i, app) in apps.iter().enumerate() {
            let wanted = format!("{}/", app.trim_end_matches('/'));
            let collides = owned.iter().any(|p| {
                p.starts_with(&wanted)
                    || wanted.starts_with(p.as_str())
                    || *p == wanted.trim_end_matches('/')
            });
            if collides {
                problems.push(Problem {
                    key: format!("routes[{i}].prefix"),
                    message: "overlaps a path the gateway or a backend owns".into(),
                });
            }
        }
        router
            .prefixed
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        router
            .proxy_prefixed
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        router.faces = faces;
        if problems.is_empty() {
            Ok(router)
        } else {
            Err(problems)
        }
    }

    pub fn faces(&self) -> &[Arc<dyn Face>] {
        &self.faces
    }

    pub fn route(&self, req: &RouteInput<'_>) -> Target {
        let Err(problem) = path::check(req.path) else {
            return self.route_canonical(req);
        };
        let raw = self.route_canonical(req);
        let opaque_tail = self
            .prefixed
            .iter()
            .any(|(p, e)| req.path.starts_with(p.as_str()) && e.methods.allows(req.method));
        let normal = path::normalise(req.path);
        let read_as = self.route_canonical(&RouteInput {
            path: &normal,
            ..*req
        });
        match (raw, read_as) {
            (Target::Face { .. }, _) if opaque_tail => raw,
            (Target::App(a), Target::App(b)) if a == b => raw,
            _ => Target::Refused {
                face: read_as.face(),
                why: Refusal::Path(problem),
            },
        }
    }

    fn route_canonical(&self, req: &RouteInput<'_>) -> Target {
        let declared = self.exact.get(req.path).into_iter().flatten().chain(
            self.prefixed
                .iter()
                .filter(|(p, _)| req.path.starts_with(p.as_str()))
                .map(|(_, e)| e),
        );
        let mut method_allowed = false;
        for e in declared.filter(|e| e.methods.allows(req.method)) {
            method_allowed = true;
            let chosen = match e.select {
                Select::Op(op) => Dispatched::Op(op),
                Select::Document(doc) => Dispatched::Document(doc),
                Select::Dispatch => self.faces[e.face].dispatch(req),
            };
            match chosen {
                Dispatched::Op(op) => return Target::Face { face: e.face, op },
                Dispatched::Document(doc) => return Target::Document(doc),
                Dispatched::Pass => {}
            }
        }
        if let Some(i) = self.apps.iter().position(|p| under(req.path, p)) {
            return Target::App(i);
        }
        let proxied = self.proxy_exact.get(req.path).or_else(|| {
            self.proxy_prefixed
                .iter()
                .find(|(p, _)| req.path.starts_with(p.as_str()))
                .map(|(_, t)| t)
        });
        let exact = self.exact.get(req.path);
        match (proxied, exact) {
            // A declared path the gateway answers alone, asked with another method.
            (None, Some(entries)) if !method_allowed => Target::Refused {
                face: entries.first().map(|e| e.face),
                why: Refusal::Method {
                    allowed: entries
                        .iter()
                        .map(|e| e.methods)
                        .reduce(Methods::union)
                        .unwrap_or(Methods::Any),
                },
            },
            _ => match self.variant_of(req.path, exact.is_some()) {
                Some(face) => Target::Refused {
                    face: Some(face),
                    why: Refusal::Path(PathProblem::Variant),
                },
                None => match proxied {
                    Some(&(backend, face)) => Target::Proxy { backend, face },
                    None => Target::NotFound,
                },
            },
        }
    }
}

impl Router {
    /// The face of the exact route `path` is a trailing-slash or letter-case variant of.
    fn variant_of(&self, path: &str, is_exact: bool) -> Option<usize> {
        // A path with neither is its own folded form, and the exact lookup already missed it:
        // no string is built on the common path.
        let foldable = self.capitals
            || path.bytes().any(|b| b.is_ascii_uppercase())
            || (path.len() > 1 && path.ends_with('/'));
        if is_exact || !foldable {
            return None;
        }
        self.folded.get(&fold(path)).copied()
    }
}

// === impl Target ===

impl Target {
    /// The face whose protocol answers this target's errors, if not the unified one.
    pub fn face(self) -> Option<usize> {
        match self {
            Self::Face { face, .. } | Self::Proxy { face, .. } => Some(face),
            Self::Refused { face, .. } => face,
            Self::Document(_) | Self::App(_) | Self::NotFound => None,
        }
    }
}

/// The form of a path its variants share: letter case and trailing slashes dropped.
fn fold(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    trimmed.to_ascii_lowercase()
}

fn overlap(a: Methods, b: Methods) -> bool {
    ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        .iter()
        .any(|m| a.allows(m) && b.allows(m))
}

fn clash(path: &str, first: &str, second: &str) -> Problem {
    Problem {
        key: "backends".into(),
        message: format!("{first} and {second} both claim {path}"),
    }
}

/// `path` is `prefix` or below it (`/app` matches `/app`, `/app/x`, not `/apple`).
fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests;
