//! EnOS JSON as EnOS writes it: keys in the order they were put (the vendor samples' order), and
//! floating-point numbers in Java's `Double.toString` form, since EnOS is a Java service: the
//! vendor's session/info sample has `"password_expire_time": 1.601192046E12` and
//! `"password_state": 0.0`, where `serde_json` alone would write `1601192046000.0`.
//!
//! Integers stay integers (`"expires": 7200`); only numbers that came in or were made as floats
//! take the Java form, so a value read from EnOS goes back out as EnOS wrote it.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// `value` as EnOS JSON. A value the gateway or the simulator built always serialises; the
/// empty fallback is unreachable.
pub fn to_vec(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JavaNumbers);
    match value.serialize(&mut ser) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// Compact JSON whose floats are written like Java's `Double.toString`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JavaNumbers;

impl Formatter for JavaNumbers {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(java_double(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(java_double(f64::from(value)).as_bytes())
    }
}

/// Java's `Double.toString`: plain decimal with at least one fractional digit for magnitudes in
/// [10^-3, 10^7), otherwise one digit, a point, at least one more digit and `E` with the
/// exponent. The digits are the shortest that read back to the same double, as Rust's own
/// formatting gives them (and Java's since JDK 19).
pub fn java_double(value: f64) -> String {
    if !value.is_finite() {
        // JSON has no NaN or infinity; serde_json writes null for them, and so does this.
        return "null".into();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let abs = value.abs();
    if abs == 0.0 {
        return format!("{sign}0.0");
    }
    // `{:e}` is `d[.ddd]e[-]x` with the shortest round-tripping digits.
    let sci = format!("{abs:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (1e-3..1e7).contains(&abs) {
        let out = if exponent >= 0 {
            let point = usize::try_from(exponent).unwrap_or(0) + 1;
            let whole = format!("{digits:0<point$}");
            let (int, frac) = whole.split_at(point);
            let frac = if frac.is_empty() { "0" } else { frac };
            format!("{int}.{frac}")
        } else {
            let zeros = "0".repeat(usize::try_from(-exponent - 1).unwrap_or(0));
            format!("0.{zeros}{digits}")
        };
        return format!("{sign}{out}");
    }
    let (first, rest) = digits.split_at(1);
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{sign}{first}.{rest}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn doubles_are_written_as_java_writes_them() {
        for (value, java) in [
            (1.601_192_046E12, "1.601192046E12"),
            (1.577_836_8E12, "1.5778368E12"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (7200.0, "7200.0"),
            (1.0, "1.0"),
            (0.5, "0.5"),
            (0.001, "0.001"),
            (0.000_1, "1.0E-4"),
            (9_999_999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (123_456.789, "123456.789"),
            (-2.5e-5, "-2.5E-5"),
            (1.0e300, "1.0E300"),
        ] {
            assert_eq!(java_double(value), java, "{value}");
        }
    }

    #[test]
    fn integers_stay_integers_and_keys_keep_their_order() {
        let v = json!({"status": 0, "expires": 7200, "password_expire_time": 1.601_192_046E12,
                       "password_state": 0.0, "a": null});
        assert_eq!(
            String::from_utf8(to_vec(&v)).unwrap(),
            r#"{"status":0,"expires":7200,"password_expire_time":1.601192046E12,"password_state":0.0,"a":null}"#
        );
    }
}
