//! The `Authorization` header of EnOS session calls.
//!
//! The vendor's Java samples send `Bearer <id>`, its Python samples the bare id; both are accepted.

/// Whether `id` has the form of an EnOS session id: `IAM_S_` and letters and digits (the
/// documented sample's form), at most 512 characters.
pub fn is_session_id(id: &str) -> bool {
    id.len() <= 512
        && id
            .strip_prefix("IAM_S_")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The session id in an `Authorization` value: `Bearer <id>` (scheme in any case) or a bare id.
///
/// Returns `None` for an empty value, another scheme, or an id with whitespace or control
/// characters inside (which no session id has, and which could split a header or a log line).
pub fn parse_authorization(value: &str) -> Option<&str> {
    let value = value.trim();
    let id = match value.split_once([' ', '\t']) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None if value.eq_ignore_ascii_case("bearer") => return None,
        None => value,
    };
    let clean = !id.is_empty() && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    clean.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_bare_forms() {
        assert_eq!(parse_authorization("Bearer IAM_S_abc"), Some("IAM_S_abc"));
        assert_eq!(parse_authorization("bearer IAM_S_abc"), Some("IAM_S_abc"));
        assert_eq!(
            parse_authorization("BEARER   IAM_S_abc  "),
            Some("IAM_S_abc")
        );
        assert_eq!(parse_authorization("Bearer\tIAM_S_abc"), Some("IAM_S_abc"));
        assert_eq!(parse_authorization("  IAM_S_abc "), Some("IAM_S_abc"));
    }

    #[test]
    fn rejects_empty_other_schemes_and_inner_whitespace() {
        assert_eq!(parse_authorization(""), None);
        assert_eq!(parse_authorization("   "), None);
        assert_eq!(parse_authorization("Bearer"), None);
        assert_eq!(parse_authorization("Bearer   "), None);
        assert_eq!(parse_authorization("Basic dXNlcjpwYXNz"), None);
        assert_eq!(parse_authorization("Bearer a b"), None);
        assert_eq!(parse_authorization("Bearer a\u{0}b"), None);
        assert_eq!(parse_authorization("a\u{7f}b"), None);
    }
}
