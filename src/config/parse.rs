//! Value parsers for command-line flags: decimal numbers (decision D3), ASNs in asplain
//! or asdot, Go durations, pflag booleans, comma lists and base64 passwords.
//!
//! Owns the syntax of one value. Does not know flag names or ranges that depend on other
//! flags (that is `build`), and never sees more than the value it is given. Every
//! function returns a reason string on failure; the caller adds the flag and the value.
//! A reason never repeats the value itself, so a password cannot leak through it.

use std::time::Duration;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Parses a decimal unsigned number as decision D3 asks: digits only, no sign, no
/// spaces, no `0x`/`0o`/`0b` prefix and no leading zero (Go would read `065000` as
/// octal; we refuse it instead of guessing).
pub(crate) fn decimal(s: &str, max: u64) -> Result<u64, String> {
    if s.is_empty() {
        return Err("empty value, expected a decimal number".into());
    }
    if s.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err("spaces are not allowed in a number".into());
    }
    if s.starts_with('+') || s.starts_with('-') {
        return Err("a sign is not allowed; expected a decimal number".into());
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("0x") || lower.starts_with("0o") || lower.starts_with("0b") {
        return Err("only decimal numbers are accepted (no 0x/0o/0b prefix)".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a decimal number".into());
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(
            "leading zeros are not accepted (kube-router would read this as octal); \
                    write the decimal number"
                .into(),
        );
    }
    let v: u64 = s
        .parse()
        .map_err(|_| format!("out of range (maximum {max})"))?;
    if v > max {
        return Err(format!("out of range (maximum {max})"));
    }
    Ok(v)
}

/// Parses an AS number: asplain decimal (D3) or RFC 5396 asdot `X.Y` (= X*65536+Y,
/// each half a decimal 0..65535).
pub(crate) fn asn(s: &str) -> Result<u32, String> {
    if let Some((hi, lo)) = s.split_once('.') {
        let hi = decimal(hi, 65535).map_err(|e| format!("asdot high part: {e}"))?;
        let lo = decimal(lo, 65535).map_err(|e| format!("asdot low part: {e}"))?;
        return Ok(((hi as u32) << 16) | lo as u32);
    }
    decimal(s, u32::MAX as u64).map(|v| v as u32)
}

/// pflag's `strconv.ParseBool` forms.
pub(crate) fn boolean(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(
            "expected true or false (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)"
                .into(),
        ),
    }
}

/// Parses a duration in Go's `time.ParseDuration` syntax (`90s`, `1m30s`, `1.5h`,
/// `500ms`, `0`). Signs are refused: no flag of ours takes a negative duration. As in
/// Go, a bare number other than `0` is an error (the unit is required).
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err("empty duration (expected e.g. 90s, 1m30s, 5m, 1h)".into());
    }
    if s.starts_with('-') || s.starts_with('+') {
        return Err("a sign is not allowed in a duration".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    const MAX_NS: u128 = i64::MAX as u128; // Go's time.Duration is an int64 of ns
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: u128 = 0;
    while i < b.len() {
        let start = i;
        let mut int: u128 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            int = int
                .saturating_mul(10)
                .saturating_add(u128::from(b[i] - b'0'));
            i += 1;
        }
        let int_digits = i - start;
        let (mut frac, mut scale) = (0u128, 1u128);
        let mut frac_digits = 0;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                // Digits beyond nanosecond precision of an hour are dropped, as Go does.
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + u128::from(b[i] - b'0');
                    scale *= 10;
                }
                frac_digits += 1;
                i += 1;
            }
        }
        if int_digits == 0 && frac_digits == 0 {
            return Err("invalid duration (expected e.g. 90s, 1m30s, 5m, 1h)".into());
        }
        let ustart = i;
        while i < b.len() && b[i] != b'.' && !b[i].is_ascii_digit() {
            i += 1;
        }
        let unit: u128 = match &s[ustart..i] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(
                    "missing unit in duration (Go syntax: ns, us, ms, s, m, h; e.g. 90s)".into(),
                );
            }
            _ => return Err("unknown unit in duration (Go syntax: ns, us, ms, s, m, h)".into()),
        };
        total = total
            .saturating_add(int.saturating_mul(unit))
            .saturating_add(frac * unit / scale);
        if total > MAX_NS {
            return Err("duration too large".into());
        }
    }
    Ok(Duration::from_nanos(total as u64))
}

/// Splits a pflag `stringSlice` value the way Go's CSV reader does: fields separated
/// by `,`, a field may be double-quoted (`""` inside is one quote). An empty value is
/// an empty list.
pub(crate) fn csv(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    let mut chars = s.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("unterminated quote in list".into()),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    out.push(field);
                    return Ok(out);
                }
                Some(',') => {}
                Some(_) => return Err("text after a closing quote in list".into()),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        out.push(field);
                        return Ok(out);
                    }
                    Some(',') => break,
                    Some('"') => return Err("bare quote inside an unquoted list entry".into()),
                    Some(c) => field.push(c),
                }
            }
        }
        out.push(field);
    }
}

/// Go's `base64.StdEncoding` decoder: standard alphabet, padding required, trailing
/// bits not checked, and `\r`/`\n` anywhere in the input ignored.
pub(crate) fn base64_std(s: &str) -> Result<Vec<u8>, String> {
    const GO_STD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
            .with_decode_allow_trailing_bits(true),
    );
    let cleaned: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    GO_STD
        .decode(cleaned.as_bytes())
        .map_err(|_| "invalid base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_accepts_plain_numbers() {
        assert_eq!(decimal("0", 10), Ok(0));
        assert_eq!(decimal("65000", 65535), Ok(65000));
        assert_eq!(decimal("4294967295", u32::MAX as u64), Ok(4294967295));
    }

    #[test]
    fn decimal_rejects_everything_else() {
        for bad in [
            "", "065000", "00", "0x10", "0X10", "0o7", "0b1", "+5", "-5", " 5", "5 ", "1_000",
            "5a", "1.5",
        ] {
            assert!(decimal(bad, u64::MAX).is_err(), "{bad:?} accepted");
        }
        assert!(decimal("256", 255).unwrap_err().contains("out of range"));
        assert!(decimal("99999999999999999999999", u64::MAX).is_err());
    }

    #[test]
    fn asn_asplain_and_asdot() {
        assert_eq!(asn("65000"), Ok(65000));
        assert_eq!(asn("1.10"), Ok(65546));
        assert_eq!(asn("64086.59904"), Ok(4_200_000_000));
        assert_eq!(asn("0.10"), Ok(10));
        for bad in [
            "1.",
            ".1",
            "65536.0",
            "1.65536",
            "01.1",
            "1.2.3",
            "4294967296",
        ] {
            assert!(asn(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn booleans_follow_parse_bool() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(boolean(f), Ok(false));
        }
        for bad in ["", "yes", "no", "tRUE", "on"] {
            assert!(boolean(bad).is_err());
        }
    }

    #[test]
    fn durations_in_go_syntax() {
        let s = Duration::from_secs;
        assert_eq!(duration("90s"), Ok(s(90)));
        assert_eq!(duration("1m30s"), Ok(s(90)));
        assert_eq!(duration("5m"), Ok(s(300)));
        assert_eq!(duration("1h"), Ok(s(3600)));
        assert_eq!(duration("1.5h"), Ok(s(5400)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2h22m"), Ok(s(8520)));
        assert_eq!(duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1.s"), Ok(s(1)));
        assert_eq!(duration("3us"), Ok(Duration::from_micros(3)));
        assert_eq!(duration("3\u{b5}s"), Ok(Duration::from_micros(3)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(duration("18h12m16s"), Ok(s(65536)));
    }

    #[test]
    fn durations_rejected() {
        for bad in [
            "",
            "90",
            "s",
            ".s",
            "1x",
            "-5s",
            "+5s",
            "5 s",
            "1h-5m",
            "9999999999h",
            ".",
        ] {
            assert!(duration(bad).is_err(), "{bad:?} accepted");
        }
        assert!(duration("90").unwrap_err().contains("missing unit"));
    }

    #[test]
    fn csv_splits_like_go() {
        assert_eq!(csv(""), Ok(vec![]));
        assert_eq!(csv("a,b"), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(csv("a,"), Ok(vec!["a".into(), "".into()]));
        assert_eq!(csv(",,"), Ok(vec!["".into(), "".into(), "".into()]));
        assert_eq!(csv("\"a,b\",c"), Ok(vec!["a,b".into(), "c".into()]));
        assert_eq!(csv("\"a\"\"b\""), Ok(vec!["a\"b".into()]));
        assert!(csv("\"ab").is_err());
        assert!(csv("a\"b").is_err());
        assert!(csv("\"a\"b").is_err());
    }

    #[test]
    fn base64_like_go_std_encoding() {
        assert_eq!(
            base64_std("U2VjdXJlUGFzc3dvcmQK"),
            Ok(b"SecurePassword\n".to_vec())
        );
        assert_eq!(base64_std("cGFzcw==\n"), Ok(b"pass".to_vec()));
        assert_eq!(base64_std("cGFz\r\ncw=="), Ok(b"pass".to_vec()));
        assert_eq!(base64_std(""), Ok(vec![]));
        // Go's StdEncoding does not check the unused trailing bits.
        assert_eq!(base64_std("cGFzcx=="), Ok(b"pass".to_vec()));
        for bad in [
            "cGFzcw",
            "cGFzcw= =",
            " cGFzcw==",
            "cGFzcw=",
            "cG-zcw==",
            "cGFzcw==,",
        ] {
            assert!(base64_std(bad).is_err(), "{bad:?} accepted");
        }
    }
}
