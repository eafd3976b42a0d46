//! Helpers shared by the fuzz targets (each target includes this file as a module).

#![allow(dead_code)]

use idbridge_protocol::Limits;
use idbridge_session::UnixTime;

/// What the gateway decodes with: the crate's defaults.
pub fn limits() -> Limits {
    Limits::default()
}

/// For decoding what a codec just encoded: a re-encoding may be larger than the accepted input
/// (an integral float `1e18` becomes nineteen digits, a SOAP reply gains its envelope), and the
/// round-trip checks are about values, not sizes.
pub fn roomy() -> Limits {
    Limits {
        max_body: usize::MAX,
        max_depth: 64,
        max_elements: usize::MAX,
        max_attributes: usize::MAX,
        max_text_bytes: usize::MAX,
    }
}

/// A fixed instant (2026-11-23T10:00:00Z), so a crash input reproduces whatever the clock says.
pub const NOW: UnixTime = UnixTime::from_secs(1_795_428_000);

/// A SOAP target's input: an optional first line `SOAPAction: value` (the HTTP header), then
/// the body. Without that line the whole input is the body.
pub fn soap_input(data: &[u8]) -> (Option<&str>, &[u8]) {
    const NAME: &[u8] = b"SOAPAction:";
    if !data.starts_with(NAME) {
        return (None, data);
    }
    let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let body = data.get(end + 1..).unwrap_or_default();
    match std::str::from_utf8(&data[NAME.len()..end]) {
        Ok(value) => (Some(value.trim()), body),
        Err(_) => (None, body),
    }
}
