//! What a protected app may receive of the client's headers.
//!
//! The gateway alone says who the user is: every header an app (or a framework in front of it)
//! could read as an identity is removed before the gateway adds its own. Names are compared
//! case-insensitively and with `_` read as `-`, because many servers (CGI, PHP, WSGI, some
//! proxies) fold `X_Auth_Request_User` and `X-Auth-Request-User` into one variable. The
//! client's gateway token is removed too, unless the route has `forward_credentials`.

use pingora::Result;
use pingora::http::RequestHeader;

use crate::face::TOKEN_COOKIE;

/// Identity headers by prefix (the gateway's own set) and by name (what common proxies and
/// servers set), in folded form.
const IDENTITY_PREFIXES: &[&str] = &["x-auth-request-"];
const IDENTITY_NAMES: &[&str] = &[
    "remote-user",
    "x-remote-user",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-forwarded-access-token",
    "x-user",
    "x-email",
];

/// Whether `name` (any case, `_` or `-`) is a header an app could take for an identity.
pub fn is_identity(name: &str) -> bool {
    let folded: String = name
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    IDENTITY_NAMES.contains(&folded.as_str())
        || IDENTITY_PREFIXES.iter().any(|p| folded.starts_with(p))
}

/// Removes the gateway's credential: a bearer `Authorization` and the `idbridge_token` cookie
/// (other cookies stay).
pub fn drop_credentials(req: &mut RequestHeader) -> Result<()> {
    let bearer = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "));
    if bearer {
        req.remove_header(&http::header::AUTHORIZATION);
    }
    // Most requests carry no token cookie: look before copying anything.
    let has_token = req.headers.get_all(http::header::COOKIE).iter().any(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .split(';')
            .any(is_token)
    });
    if has_token {
        let cookies: Vec<String> = req
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        req.remove_header(&http::header::COOKIE);
        for cookie in cookies {
            match without_token(&cookie) {
                None => req.append_header(http::header::COOKIE, cookie)?,
                Some(kept) if !kept.is_empty() => req.append_header(http::header::COOKIE, kept)?,
                Some(_) => false,
            };
        }
    }
    Ok(())
}

/// Whether one `name=value` pair of a `Cookie` header is the gateway's token.
fn is_token(pair: &str) -> bool {
    pair.trim()
        .split_once('=')
        .is_some_and(|(name, _)| name.trim() == TOKEN_COOKIE)
}

/// `cookie` without the gateway's token cookie; `None` when it has none.
fn without_token(cookie: &str) -> Option<String> {
    if !cookie.split(';').any(is_token) {
        return None;
    }
    Some(
        cookie
            .split(';')
            .filter(|p| !is_token(p))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_headers_in_any_spelling() {
        for name in [
            "x-auth-request-user",
            "X-Auth-Request-Email",
            "X_Auth_Request_User",
            "x_auth-request_groups",
            "X-Forwarded-User",
            "x_forwarded_user",
            "Remote-User",
            "REMOTE_USER",
        ] {
            assert!(is_identity(name), "{name}");
        }
        for name in ["x-request-id", "x-forwarded-for", "authorization", "x-auth"] {
            assert!(!is_identity(name), "{name}");
        }
    }

    #[test]
    fn the_token_leaves_and_everything_else_stays() {
        let mut req = RequestHeader::build("GET", b"/app/", None).unwrap();
        req.insert_header("authorization", "Bearer abc").unwrap();
        req.append_header("cookie", "a=1; idbridge_token=tok; b=2")
            .unwrap();
        req.append_header("cookie", "idbridge_token=tok").unwrap();
        req.append_header("cookie", "c=3").unwrap();
        drop_credentials(&mut req).unwrap();
        assert!(req.headers.get("authorization").is_none());
        let cookies: Vec<_> = req
            .headers
            .get_all("cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies, ["a=1; b=2", "c=3"]);

        let mut req = RequestHeader::build("GET", b"/app/", None).unwrap();
        req.insert_header("authorization", "Basic dTpw").unwrap();
        req.insert_header("cookie", "a=1").unwrap();
        drop_credentials(&mut req).unwrap();
        assert_eq!(req.headers.get("authorization").unwrap(), "Basic dTpw");
        assert_eq!(req.headers.get("cookie").unwrap(), "a=1");
    }
}
