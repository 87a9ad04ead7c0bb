//! How the page writes numbers, text and "missing": the same everywhere.

use groves_core::stage::Stage;

use crate::StockRow;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number with about four significant digits, thousands without exponent.
pub(super) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "not a number".into();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{x:.4e}")
    } else if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{:.*}", 3 - (a.log10().floor() as usize).min(3), x)
    } else if a >= 1e-4 {
        format!("{:.*}", 3 + (-a.log10().floor()) as usize, x)
    } else {
        format!("{x:.3e}")
    }
}

/// An axis label: at most three significant digits, no trailing zeros.
pub(super) fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Seconds with one decimal below 100, none above.
pub(super) fn secs(x: f64) -> String {
    if x < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// Coordinates in SVG: two decimals are sub-pixel.
pub(super) fn px(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// A stage's colour (Tableau 10), the same in every chart.
pub(super) fn stage_colour(stage: &str) -> &'static str {
    match Stage::from_name(stage) {
        Ok(Stage::Processing) => "#4e79a7",
        Ok(Stage::ParamPreds) => "#f28e2b",
        Ok(Stage::PredMses) => "#e15759",
        Ok(Stage::MinMse) => "#76b7b2",
        Ok(Stage::TrainFull) => "#59a14f",
        Ok(Stage::TestFull) => "#edc948",
        Ok(Stage::TimingMetrics) => "#b07aa1",
        _ => "#9c755f",
    }
}

/// A "missing" label: visible text, never a blank or a zero.
pub(super) fn missing(what: &str) -> String {
    format!(
        "<span class=\"missing\" data-missing=\"{0}\">{0}</span>",
        esc(what)
    )
}

/// A table cell holding a number (sortable by `data-v`), or an explicit "missing" label.
pub(super) fn num_cell(v: Option<f64>, absent: &str) -> String {
    match v {
        Some(x) => format!("<td class=\"n\" data-v=\"{x}\">{}</td>", num(x)),
        None => format!("<td class=\"n\" data-v=\"\">{}</td>", missing(absent)),
    }
}

/// A count: an integer, never "223.0".
pub(super) fn count_cell(v: Option<u64>, absent: &str) -> String {
    match v {
        Some(n) => format!("<td class=\"n\" data-v=\"{n}\">{n}</td>"),
        None => format!("<td class=\"n\" data-v=\"\">{}</td>", missing(absent)),
    }
}

/// Why a stock has no test MSE, as its cells say it.
pub(super) fn test_missing_reason(s: &StockRow) -> String {
    if !s.missing_final.is_empty() {
        format!("missing final {}", s.missing_final)
    } else {
        format!("not computed ({})", s.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("M&M <b>\"'"), "M&amp;M &lt;b&gt;&quot;&#39;");
    }

    #[test]
    fn counts_are_integers() {
        assert_eq!(
            count_cell(Some(223), "x"),
            "<td class=\"n\" data-v=\"223\">223</td>"
        );
        assert!(count_cell(None, "not computed").contains("not computed"));
    }

    #[test]
    fn numbers_keep_about_four_digits() {
        assert_eq!(num(6.418307), "6.418");
        assert_eq!(num(0.142925), "0.1429");
        assert_eq!(num(61.752), "61.75");
        assert_eq!(num(3_480_000.0), "3.4800e6");
        assert_eq!(num(1556.4), "1556");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "not a number");
    }

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(short(1.0), "1");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(1018.4), "1018");
        assert_eq!(short(996.56), "997");
        assert_eq!(short(0.1234), "0.123");
    }
}
