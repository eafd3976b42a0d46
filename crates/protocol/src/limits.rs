//! Size and nesting limits every decoder enforces before it trusts a body.
//!
//! Both are checked early: the size before a single byte is parsed, the depth as the parser
//! descends, so a hostile body costs at most `max_body` bytes of work and `max_depth` of stack.

use crate::DecodeError;

/// Limits for one decode call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted, in bytes.
    pub max_body: usize,
    /// Deepest nesting accepted: XML elements, or JSON objects and arrays (the root counts as 1).
    pub max_depth: usize,
}

// === impl Limits ===

impl Limits {
    /// 64 KiB: a GetLoginStatus reply with a long organisation list is a few KiB; nothing
    /// legitimate on these endpoints comes near this.
    pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
    /// 32: the deepest legitimate message (an activity inside a list inside a SOAP envelope) is 9.
    pub const DEFAULT_MAX_DEPTH: usize = 32;

    /// Fails with [`DecodeError::TooLarge`] when `body` is over the limit.
    pub fn check_size(&self, body: &[u8]) -> Result<(), DecodeError> {
        if body.len() > self.max_body {
            return Err(DecodeError::TooLarge {
                limit: self.max_body,
            });
        }
        Ok(())
    }

    pub(crate) fn check_depth(&self, depth: usize) -> Result<(), DecodeError> {
        if depth > self.max_depth {
            return Err(DecodeError::TooDeep {
                limit: self.max_depth,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: Self::DEFAULT_MAX_BODY,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }
}

/// Size check, then UTF-8 check; strips a UTF-8 byte-order mark, which some .NET clients send.
pub(crate) fn utf8_body<'a>(body: &'a [u8], limits: &Limits) -> Result<&'a str, DecodeError> {
    limits.check_size(body)?;
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_64_kib_and_32_levels() {
        let l = Limits::default();
        assert_eq!(l.max_body, 65_536);
        assert_eq!(l.max_depth, 32);
    }

    #[test]
    fn size_is_inclusive() {
        let l = Limits {
            max_body: 4,
            max_depth: 1,
        };
        assert!(l.check_size(b"1234").is_ok());
        assert_eq!(
            l.check_size(b"12345"),
            Err(DecodeError::TooLarge { limit: 4 })
        );
        assert!(l.check_depth(1).is_ok());
        assert_eq!(l.check_depth(2), Err(DecodeError::TooDeep { limit: 1 }));
    }

    #[test]
    fn utf8_body_rejects_invalid_bytes_and_strips_bom() {
        let l = Limits::default();
        assert_eq!(utf8_body(b"\xff\xfe", &l), Err(DecodeError::NotUtf8));
        assert_eq!(utf8_body("\u{feff}{}".as_bytes(), &l), Ok("{}"));
    }
}
