//! The log filter idbridge runs with, whatever level is configured.
//!
//! Some dependencies log raw request and response headers below `info` (Pingora's proxy logs the
//! whole upstream request header at `debug`, `Authorization` included). A header is where session
//! ids and tokens travel, so those crates are held at `info` even when an operator asks for
//! `debug` or `trace`, through `log.level` or `RUST_LOG`. idbridge's own crates follow the level
//! asked for: they never log a secret at any level.

/// Crates that print headers below `info`.
const HEADER_DUMPERS: &[&str] = &[
    "pingora_proxy",
    "pingora_core",
    "pingora_http",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
];

/// `level` (a `tracing` filter such as `debug` or `idbridge_gateway=trace,info`) with the
/// header-dumping crates held at `info`: any directive naming one of them is replaced.
pub fn filter(level: &str) -> String {
    let capped = |directive: &str| {
        HEADER_DUMPERS.iter().any(|k| {
            directive
                .trim()
                .strip_prefix(k)
                .is_some_and(|rest| rest.starts_with(['=', ':', '[']) || rest.is_empty())
        })
    };
    let kept = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && !capped(d));
    let caps = HEADER_DUMPERS.iter().map(|k| format!("{k}=info"));
    kept.map(str::to_owned)
        .chain(caps)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_come_after_the_requested_level() {
        let f = filter("debug");
        assert!(f.starts_with("debug,"));
        assert!(f.contains("pingora_proxy=info"));
        assert!(filter("").starts_with("pingora_proxy=info"));
        let f = filter("idbridge_gateway=trace, pingora_proxy=debug,hyper::proto=trace,info");
        assert!(
            f.starts_with("idbridge_gateway=trace,info,pingora_proxy=info"),
            "{f}"
        );
        assert!(!f.contains("debug") && !f.contains("hyper::proto"), "{f}");
    }
}
