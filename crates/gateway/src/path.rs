//! Canonical request paths.
//!
//! Servers disagree about what a path means: most merge `//` and resolve `.` and `..`, Java
//! servers drop `;params`, IIS reads `\` as `/`, some decode `%2F` and `%2E`. A path the gateway
//! reads as "not an intercepted call" but a backend reads as one would slip past interception
//! (`//api/logout` proxied as a logout the gateway never sees). So the router only routes
//! canonical paths, where every server agrees:
//!
//! - no empty segment (`//`) and no dot segment (`.`, `..`);
//! - no `;` parameters and no `\`;
//! - no percent-encoded separator (`%2F`, `%5C`, `%3B`, `%2E`) and no percent-encoded unreserved
//!   character (`%41` for `A`), and every `%` starts a valid escape.
//!
//! A trailing slash is canonical; a trailing-slash or letter-case variant of an intercepted path
//! is refused by the router (it knows the intercepted paths). [`normalise`] says what a lenient
//! server would make of a path, so a refusal can speak the protocol the caller was aiming at.

use std::fmt;

/// Why a path is not canonical.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathProblem {
    EmptySegment,
    DotSegment,
    Parameters,
    Backslash,
    EncodedSeparator,
    NeedlessEncoding,
    BadEscape,
    /// A trailing-slash or letter-case variant of a path the gateway intercepts.
    Variant,
}

/// Checks `path` (as sent, before any decoding). See the module documentation.
pub fn check(path: &str) -> Result<(), PathProblem> {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => return Err(PathProblem::Backslash),
            b';' => return Err(PathProblem::Parameters),
            b'%' => {
                let decoded = escape(bytes, i).ok_or(PathProblem::BadEscape)?;
                if is_separator(decoded) {
                    return Err(PathProblem::EncodedSeparator);
                }
                if is_unreserved(decoded) {
                    return Err(PathProblem::NeedlessEncoding);
                }
                i += 3;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Ok(());
    };
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        match segment {
            "." | ".." => return Err(PathProblem::DotSegment),
            // The last segment is empty for a trailing slash, which is canonical.
            "" if segments.peek().is_some() => return Err(PathProblem::EmptySegment),
            _ => {}
        }
    }
    Ok(())
}

/// What a lenient server makes of `path`: separators and unreserved characters decoded, `\` as
/// `/`, `;params` dropped, empty and dot segments resolved. A trailing slash is kept.
pub fn normalise(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], escape(bytes, i)) {
            (b'%', Some(c)) if is_separator(c) || is_unreserved(c) => {
                decoded.push(if c == b'\\' { b'/' } else { c });
                i += 3;
            }
            (b'\\', _) => {
                decoded.push(b'/');
                i += 1;
            }
            (b, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    let decoded = String::from_utf8_lossy(&decoded);
    let mut out: Vec<&str> = Vec::new();
    let mut trailing = false;
    for segment in decoded.split('/') {
        let segment = segment.split(';').next().unwrap_or("");
        trailing = matches!(segment, "" | "." | "..");
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut normal = format!("/{}", out.join("/"));
    if trailing && !out.is_empty() {
        normal.push('/');
    }
    normal
}

/// The byte `%XY` at `i` stands for, when `X` and `Y` are hex digits.
fn escape(bytes: &[u8], i: usize) -> Option<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    match bytes.get(i..i + 3)? {
        [b'%', hi, lo] => Some((hex(*hi)? * 16 + hex(*lo)?) as u8),
        _ => None,
    }
}

fn is_separator(c: u8) -> bool {
    matches!(c, b'/' | b'\\' | b';' | b'.')
}

/// RFC 3986 unreserved characters, which never need encoding.
fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'~')
}

// === impl PathProblem ===

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptySegment => "an empty segment (//)",
            Self::DotSegment => "a dot segment (. or ..)",
            Self::Parameters => "a ; parameter",
            Self::Backslash => "a backslash",
            Self::EncodedSeparator => "a percent-encoded /, \\, ; or .",
            Self::NeedlessEncoding => "a percent-encoded unreserved character",
            Self::BadEscape => "a % that starts no valid escape",
            Self::Variant => "a trailing-slash or letter-case variant of an intercepted path",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_pass() {
        for p in [
            "/",
            "/api/logout",
            "/api/logout/x/",
            "/idbridge/v1/session",
            "/a/b.c/d..e/.f",
            "/caf%C3%A9",
            "/a%20b",
            "/a%2Bb",
            "*",
        ] {
            assert_eq!(check(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn every_disguise_is_named() {
        use PathProblem::*;
        for (p, why) in [
            ("//api/logout", EmptySegment),
            ("/api//logout", EmptySegment),
            ("/api/./logout", DotSegment),
            ("/x/../api/logout", DotSegment),
            ("/api/logout/.", DotSegment),
            ("/api/logout/..", DotSegment),
            ("/api/logout;x=1", Parameters),
            ("/api;/logout", Parameters),
            ("/api\\logout", Backslash),
            ("/api%2Flogout", EncodedSeparator),
            ("/api%2flogout", EncodedSeparator),
            ("/api/%2E%2E/x", EncodedSeparator),
            ("/api%5Clogout", EncodedSeparator),
            ("/api/logou%74", NeedlessEncoding),
            ("/api/log%7Eout", NeedlessEncoding),
            ("/api/logout%", BadEscape),
            ("/api/logout%2", BadEscape),
            ("/api/logout%+1", BadEscape),
            ("/api/logout%zz", BadEscape),
        ] {
            assert_eq!(check(p), Err(why), "{p}");
        }
    }

    #[test]
    fn normalising_reads_paths_as_a_lenient_server_does() {
        for (p, n) in [
            ("//api/logout", "/api/logout"),
            ("/x/../api/./logout", "/api/logout"),
            ("/api/logout;jsessionid=1", "/api/logout"),
            ("/api\\logout", "/api/logout"),
            ("/api%2Flogout", "/api/logout"),
            ("/api/%2e%2e/idbridge/v1/logout", "/idbridge/v1/logout"),
            ("/api/logou%74", "/api/logout"),
            ("/api/logout/", "/api/logout/"),
            ("/api/logout/.", "/api/logout/"),
            ("/../..", "/"),
            ("/a%20b", "/a%20b"),
        ] {
            assert_eq!(normalise(p), n, "{p}");
        }
    }
}
