//! Size, nesting and content limits every decoder enforces before it trusts a body.
//!
//! All are checked early: the size before a single byte is parsed, the depth as the parser
//! descends, and (for XML) the element, attribute and text counts before the tree grows, so a
//! hostile body costs at most `max_body` bytes of work, `max_depth` of stack and a tree no
//! larger than the counts allow. The counts matter because a small body can still build a large
//! tree: every empty element costs the reader far more memory than its few bytes of markup.

use crate::DecodeError;

/// Limits for one decode call.
///
/// Build one with struct-update syntax so new limits keep their defaults:
/// `Limits { max_body: 1 << 20, ..Limits::default() }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted, in bytes.
    pub max_body: usize,
    /// Deepest nesting accepted: XML elements, or JSON objects and arrays (the root counts as 1).
    pub max_depth: usize,
    /// Most XML elements accepted in one document (the root included). Depth alone does not
    /// bound a tree: thousands of empty siblings fit in a small body.
    pub max_elements: usize,
    /// Most XML attributes accepted in one document, namespace declarations included.
    pub max_attributes: usize,
    /// Most bytes of XML character data kept in one document's tree: text and CDATA after
    /// references are resolved, whitespace between child elements included.
    pub max_text_bytes: usize,
}

// === impl Limits ===

impl Limits {
    /// 64 KiB: a GetLoginStatus reply with a long organisation list is a few KiB; nothing
    /// legitimate on these endpoints comes near this.
    pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
    /// 32: the deepest legitimate message (an activity inside a list inside a SOAP envelope) is 9.
    pub const DEFAULT_MAX_DEPTH: usize = 32;
    /// 1,000: the largest vendor sample, the Net iD GetLoginStatus response, has 40 elements (the
    /// SOAP request 6; the unified SOAP samples 4 to 29). Ten times that is 400; 1,000 also leaves
    /// room for an organisation list about 25 times the sample's (about 8 elements each).
    pub const DEFAULT_MAX_ELEMENTS: usize = 1_000;
    /// 1,000: the Net iD samples have 4 attributes each (all namespace declarations), the unified
    /// SOAP samples 2. Ten times the largest is 40; 1,000 matches
    /// [`Self::DEFAULT_MAX_ELEMENTS`] so a sender that marks every element (e.g. .NET's `xsi:nil`
    /// on null fields) still fits.
    pub const DEFAULT_MAX_ATTRIBUTES: usize = 1_000;
    /// 32 KiB: the most character data in a vendor sample is 247 bytes (the unified SOAP face's
    /// EnOS login response; the Net iD GetLoginStatus response has 246; both count the whitespace
    /// between elements, which the tree keeps). Ten times that is 2,470; 32 KiB also fits a
    /// base64 client certificate in a unified Net iD login and the indentation of a
    /// pretty-printed reply with [`Self::DEFAULT_MAX_ELEMENTS`] elements.
    pub const DEFAULT_MAX_TEXT_BYTES: usize = 32 * 1024;

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

    /// `count` is the number of elements seen so far, the one about to be built included.
    pub(crate) fn check_elements(&self, count: usize) -> Result<(), DecodeError> {
        if count > self.max_elements {
            return Err(DecodeError::TooManyElements {
                limit: self.max_elements,
            });
        }
        Ok(())
    }

    /// `count` is the number of attributes seen so far, the one about to be read included.
    pub(crate) fn check_attributes(&self, count: usize) -> Result<(), DecodeError> {
        if count > self.max_attributes {
            return Err(DecodeError::TooManyAttributes {
                limit: self.max_attributes,
            });
        }
        Ok(())
    }

    /// `bytes` is the character data kept so far, the piece about to be appended included.
    pub(crate) fn check_text(&self, bytes: usize) -> Result<(), DecodeError> {
        if bytes > self.max_text_bytes {
            return Err(DecodeError::TooMuchText {
                limit: self.max_text_bytes,
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
            max_elements: Self::DEFAULT_MAX_ELEMENTS,
            max_attributes: Self::DEFAULT_MAX_ATTRIBUTES,
            max_text_bytes: Self::DEFAULT_MAX_TEXT_BYTES,
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
    fn defaults_are_the_documented_constants() {
        let l = Limits::default();
        assert_eq!(l.max_body, 65_536);
        assert_eq!(l.max_depth, 32);
        assert_eq!(l.max_elements, 1_000);
        assert_eq!(l.max_attributes, 1_000);
        assert_eq!(l.max_text_bytes, 32_768);
    }

    #[test]
    fn counts_are_inclusive() {
        let l = Limits {
            max_elements: 2,
            max_attributes: 3,
            max_text_bytes: 4,
            ..Limits::default()
        };
        assert!(l.check_elements(2).is_ok());
        assert_eq!(
            l.check_elements(3),
            Err(DecodeError::TooManyElements { limit: 2 })
        );
        assert!(l.check_attributes(3).is_ok());
        assert_eq!(
            l.check_attributes(4),
            Err(DecodeError::TooManyAttributes { limit: 3 })
        );
        assert!(l.check_text(4).is_ok());
        assert_eq!(l.check_text(5), Err(DecodeError::TooMuchText { limit: 4 }));
    }

    #[test]
    fn size_is_inclusive() {
        let l = Limits {
            max_body: 4,
            max_depth: 1,
            ..Limits::default()
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
