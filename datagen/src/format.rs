//! Number formatting as pandas' `to_csv` writes it (Python's `repr` of a float).

/// Appends `v` as Python's `repr(float)` spells it; NaN appends nothing (pandas writes NaN as
/// an empty cell), and so do infinities, which the indicators never produce.
///
/// `ryu` gives the same shortest round-trip digits as Python; only the notation differs
/// outside 1e-4 ≤ |v| < 1e16 (ryu: `1.2e-5`, Python: `1.2e-05`), so only those values
/// take the slower path.
pub(crate) fn push_f64(buf: &mut Vec<u8>, ryu_buf: &mut ryu::Buffer, v: f64) {
    if !v.is_finite() {
        return;
    }
    let a = v.abs();
    let s = ryu_buf.format_finite(v);
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        buf.extend_from_slice(s.as_bytes());
    } else {
        push_python_exponent(buf, s);
    }
}

/// Re-spells a ryu rendering (`1.2e-5`, `0.000012`, `1e16`, `12345678901234567.0`) in
/// Python's scientific notation: `d[.ddd]e±XX` with at least two exponent digits.
fn push_python_exponent(buf: &mut Vec<u8>, s: &str) {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let point = mantissa.find('.').unwrap_or(mantissa.len()) as i32;
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let leading = digits.iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[leading..];
    let end = digits.len() - digits.iter().rev().take_while(|&&d| d == b'0').count();
    let digits = &digits[..end];
    if digits.is_empty() {
        // Zero never reaches here; keep the output well-formed anyway.
        buf.extend_from_slice(b"0.0");
        return;
    }
    // value = 0.DIGITS × 10^decpt
    let decpt = point + exp - leading as i32;
    if negative {
        buf.push(b'-');
    }
    buf.push(digits[0]);
    if digits.len() > 1 {
        buf.push(b'.');
        buf.extend_from_slice(&digits[1..]);
    }
    let e = decpt - 1;
    buf.push(b'e');
    buf.push(if e < 0 { b'-' } else { b'+' });
    let e = e.unsigned_abs();
    if e < 10 {
        buf.push(b'0');
    }
    let mut ibuf = itoa::Buffer::new();
    buf.extend_from_slice(ibuf.format(e).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(v: f64) -> String {
        let mut buf = Vec::new();
        push_f64(&mut buf, &mut ryu::Buffer::new(), v);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn matches_python_repr() {
        // Expected strings are Python 3's repr() of the same floats.
        let cases: &[(f64, &str)] = &[
            (1062.0, "1062.0"),
            (1059.2, "1059.2"),
            (0.05, "0.05"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (-3.25, "-3.25"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (9.999e-5, "9.999e-05"),
            (1e-5, "1e-05"),
            (1.2e-5, "1.2e-05"),
            (-3.5e-7, "-3.5e-07"),
            (1.2345678901234567e-10, "1.2345678901234568e-10"),
            (5e-324, "5e-324"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.5e20, "1.5e+20"),
            (-2.5e100, "-2.5e+100"),
            (1062.3333333333333, "1062.3333333333333"),
            (f64::NAN, ""),
        ];
        for &(v, want) in cases {
            assert_eq!(fmt(v), want, "{v:e}");
        }
    }

    #[test]
    fn paise_print_exactly() {
        for paise in [5_i64, 105_920, 106_200, 499_995, 12_345, 100] {
            let s = fmt(paise as f64 / 100.0);
            let back: f64 = s.parse().unwrap();
            assert_eq!((back * 100.0).round() as i64, paise, "{s}");
            assert!(s.len() <= 9, "{s}");
            assert!(s.contains('.'), "{s}");
        }
    }
}
