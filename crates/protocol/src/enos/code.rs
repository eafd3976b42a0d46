//! EnOS IAM error codes, in both the documented `30xxx` spelling and the newer HTTP-like one.

use std::fmt;

/// An EnOS IAM `status` code other than success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnosCode {
    /// 30400: wrong account or password (or an LDAP configuration problem).
    BadCredentials,
    /// 30401: the bearer token (session id) is missing or malformed.
    InvalidToken,
    /// 30404: unknown LDAP link on login; unknown or expired session afterwards.
    NotFound,
    /// 30410: the password has expired.
    PasswordExpired,
    /// 30429: too many failed logins for this IP or account.
    TooManyAttempts,
    /// 30511: the account (or LDAP login) is disabled.
    Disabled,
    /// Any other code, kept as sent.
    Other(i64),
}

// === impl EnosCode ===

impl EnosCode {
    /// Maps a wire `status`. Newer docs spell 30401/30404 as 401/404, so the three-digit forms
    /// of every known code are accepted too.
    pub fn from_status(status: i64) -> Self {
        match status {
            30400 | 400 => Self::BadCredentials,
            30401 | 401 => Self::InvalidToken,
            30404 | 404 => Self::NotFound,
            30410 | 410 => Self::PasswordExpired,
            30429 | 429 => Self::TooManyAttempts,
            30511 | 511 => Self::Disabled,
            other => Self::Other(other),
        }
    }

    /// The documented `30xxx` form, which is what this crate writes.
    pub fn code(self) -> i64 {
        match self {
            Self::BadCredentials => 30400,
            Self::InvalidToken => 30401,
            Self::NotFound => 30404,
            Self::PasswordExpired => 30410,
            Self::TooManyAttempts => 30429,
            Self::Disabled => 30511,
            Self::Other(code) => code,
        }
    }

    /// A default `message` for the code, worded after the vendor's error tables.
    pub fn message(self) -> &'static str {
        match self {
            Self::BadCredentials => "The user account or password is not correct.",
            Self::InvalidToken => "The provided bearer token is not valid.",
            Self::NotFound => "The session information is not found.",
            Self::PasswordExpired => "The password has expired.",
            Self::TooManyAttempts => {
                "The login failure times of the IP or account has reached the limit. Please try again later."
            }
            Self::Disabled => "The user account is disabled.",
            Self::Other(_) => "The request failed.",
        }
    }
}

impl fmt::Display for EnosCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_map_to_the_same_code() {
        for (long, short) in [
            (30400, 400),
            (30401, 401),
            (30404, 404),
            (30410, 410),
            (30429, 429),
            (30511, 511),
        ] {
            let code = EnosCode::from_status(long);
            assert_eq!(EnosCode::from_status(short), code);
            assert_eq!(code.code(), long);
            assert!(!matches!(code, EnosCode::Other(_)));
        }
        assert_eq!(EnosCode::from_status(30500), EnosCode::Other(30500));
        assert_eq!(EnosCode::Other(30500).code(), 30500);
        assert_eq!(EnosCode::InvalidToken.to_string(), "30401");
    }

    #[test]
    fn messages_are_non_empty() {
        for c in [
            EnosCode::BadCredentials,
            EnosCode::InvalidToken,
            EnosCode::NotFound,
            EnosCode::PasswordExpired,
            EnosCode::TooManyAttempts,
            EnosCode::Disabled,
            EnosCode::Other(1),
        ] {
            assert!(!c.message().is_empty());
        }
    }
}
