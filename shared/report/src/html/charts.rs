//! The charts, as inline SVG drawn here: the skill histogram, each stock's heat map of validation
//! MSE, its forecast chart, and its live forecasts and their rolling skill.

use std::collections::BTreeMap;
use std::fmt::Write;

use groves_core::calendar::{format_wall, parse_wall};
use groves_core::spec::SearchMethod;
use groves_live::drift::DriftKind;
use groves_live::status::LiveView;
use groves_stages::pred_mses::SettingScore;

use super::format::{esc, missing, num, px, short, test_missing_reason};
use crate::{ForecastWindow, RunReport, StockRow};

/// Histogram of log10(skill): one bar per bin, a line at skill 1.
pub(super) fn skill_histogram(h: &mut String, r: &RunReport) {
    let skills: Vec<(f64, &str)> = r
        .stocks
        .iter()
        .filter_map(|s| s.skill_ratio.map(|k| (k, s.stock.as_str())))
        .filter(|(k, _)| *k > 0.0 && k.is_finite())
        .collect();
    let without = r.stocks.len() - skills.len();
    h.push_str("<h3>Distribution of skill ratios</h3>\n");
    if skills.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", missing("no stock has a skill ratio yet"));
        return;
    }
    let logs: Vec<f64> = skills.iter().map(|(k, _)| k.log10()).collect();
    // Bins of 0.1 decade around the data and 1.0 (log 0), at least one decade wide.
    let lo = (logs.iter().copied().fold(0.0, f64::min) * 10.0).floor() / 10.0 - 0.1;
    let hi = (logs.iter().copied().fold(0.0, f64::max) * 10.0).ceil() / 10.0 + 0.1;
    let (lo, hi) = if hi - lo < 1.0 {
        (lo - (1.0 - (hi - lo)) / 2.0, hi + (1.0 - (hi - lo)) / 2.0)
    } else {
        (lo, hi)
    };
    let nbins = (((hi - lo) * 10.0).round() as usize).clamp(1, 60);
    let width = (hi - lo) / nbins as f64;
    let mut bins: Vec<Vec<&str>> = vec![Vec::new(); nbins];
    for ((_, name), l) in skills.iter().zip(&logs) {
        let i = (((l - lo) / width).floor() as usize).min(nbins - 1);
        bins[i].push(name);
    }
    let max = bins.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let (w, hgt, left, bottom, top) = (760.0, 210.0, 40.0, 34.0, 22.0);
    let plot_w = w - left - 10.0;
    let plot_h = hgt - bottom - top;
    let x = |l: f64| left + (l - lo) / (hi - lo) * plot_w;
    let _ = write!(
        h,
        "<svg id=\"skill-histogram\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"histogram of skill ratios\">"
    );
    for (i, b) in bins.iter().enumerate() {
        if b.is_empty() {
            continue;
        }
        let bh = b.len() as f64 / max as f64 * plot_h;
        let x0 = x(lo + i as f64 * width);
        let _ = write!(
            h,
            "<rect data-skill-bin=\"{i}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#4e79a7\"><title>skill {}–{}: {} stock(s): {}</title></rect>",
            px(x0 + 1.0),
            px(top + plot_h - bh),
            px((plot_w / nbins as f64 - 2.0).max(1.0)),
            px(bh),
            num(10f64.powf(lo + i as f64 * width)),
            num(10f64.powf(lo + (i + 1) as f64 * width)),
            b.len(),
            esc(&b.join(", "))
        );
    }
    let one = x(0.0);
    let _ = write!(
        h,
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{3}\" y2=\"{1}\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/><text x=\"{2}\" y=\"13\" text-anchor=\"middle\">skill 1: as good as naive</text>",
        px(one),
        px(top + plot_h),
        px(one),
        px(top - 4.0)
    );
    let _ = write!(
        h,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{1}\" y2=\"{1}\" stroke=\"#5a6570\"/>",
        px(left + plot_w),
        px(top + plot_h)
    );
    // Ticks at 1, 2 and 5 × 10^k (only the decades when the axis spans many).
    let mults: &[f64] = if hi - lo > 3.0 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    for k in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in mults {
            let v = m * 10f64.powi(k);
            let t = v.log10();
            if t < lo || t > hi {
                continue;
            }
            let _ = write!(
                h,
                "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#5a6570\"/><text class=\"small\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
                px(x(t)),
                px(top + plot_h),
                px(top + plot_h + 4.0),
                px(top + plot_h + 15.0),
                short(v)
            );
        }
    }
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">skill ratio (log scale) · tallest bar {max} stock(s)</text></svg>",
        px(left + plot_w / 2.0),
        px(hgt - 2.0)
    );
    if without > 0 {
        let _ = writeln!(
            h,
            "<p>{}</p>",
            missing(&format!(
                "{without} stock(s) without a skill ratio (see the table)"
            ))
        );
    }
}

/// Validation MSE over the grid: rows max_features, columns min_samples_split.
pub(super) fn heat_map(h: &mut String, r: &RunReport, s: &StockRow) {
    let grid = r.spec.grid();
    let by: BTreeMap<(u32, u32), &SettingScore> =
        s.settings.iter().map(|x| ((x.feat, x.samp), x)).collect();
    let logs: Vec<f64> = s
        .settings
        .iter()
        .filter_map(|x| x.mse)
        .filter(|m| *m > 0.0)
        .map(f64::log10)
        .collect();
    let (lo, hi) = (
        logs.iter().copied().fold(f64::INFINITY, f64::min),
        logs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let (cw, ch, left, top) = (132.0, 64.0, 118.0, 40.0);
    let cols = r.spec.samp.len() as f64;
    let rows = r.spec.feat.len() as f64;
    let (w, hgt) = (left + cols * cw + 10.0, top + rows * ch + 30.0);
    let _ = write!(
        h,
        "<svg class=\"heatmap\" data-heatmap=\"{}\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"validation MSE of {} over the grid\">",
        esc(&s.stock),
        esc(&s.stock)
    );
    let _ = write!(
        h,
        "<text x=\"{}\" y=\"14\" text-anchor=\"middle\">min_samples_split</text><text x=\"4\" y=\"{}\">max_features</text>",
        px(left + cols * cw / 2.0),
        px(top - 6.0)
    );
    for (j, samp) in r.spec.samp.iter().enumerate() {
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"32\" text-anchor=\"middle\">{samp}</text>",
            px(left + (j as f64 + 0.5) * cw)
        );
    }
    for (i, feat) in r.spec.feat.iter().enumerate() {
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{feat}</text>",
            px(left - 10.0),
            px(top + (i as f64 + 0.5) * ch + 4.0)
        );
    }
    for setting in grid {
        let (Some(i), Some(j)) = (
            r.spec.feat.iter().position(|f| *f == setting.feat),
            r.spec.samp.iter().position(|m| *m == setting.samp),
        ) else {
            continue;
        };
        let (x, y) = (left + j as f64 * cw, top + i as f64 * ch);
        let winner = s.feat == Some(setting.feat) && s.samp == Some(setting.samp);
        let score = by.get(&(setting.feat, setting.samp));
        let cell = format!("f{}_s{}", setting.feat, setting.samp);
        let (fill, line1, line2, title, miss) = match score {
            None => (
                "url(#hatch)".to_string(),
                "no score yet".to_string(),
                format!("{} groves planned", r.spec.groves),
                format!("{cell}: pred-mses has not scored this stock ({})", s.status),
                Some("not scored".to_string()),
            ),
            Some(sc) => {
                // A halving search: the cell is the last round the setting took part in.
                let groves = match r.spec.search {
                    SearchMethod::Grid => {
                        format!("{}/{} groves", sc.groves_found, sc.groves_planned)
                    }
                    SearchMethod::Halving => format!(
                        "{}/{} groves · round {}",
                        sc.groves_found, sc.groves_planned, sc.round
                    ),
                };
                let gone: Vec<String> = sc.missing.iter().map(|g| format!("g{g}")).collect();
                match sc.mse {
                    None => (
                        "url(#hatch)".to_string(),
                        "no MSE".to_string(),
                        format!("missing {}", gone.join(" ")),
                        format!(
                            "{cell}: no validation MSE: {groves}, missing {} (an average of fewer groves than planned is not reported)",
                            gone.join(" ")
                        ),
                        Some(format!("missing {}", gone.join(" "))),
                    ),
                    Some(m) => {
                        let t = if hi > lo && m > 0.0 {
                            (m.log10() - lo) / (hi - lo)
                        } else {
                            0.0
                        };
                        let line2 = if gone.is_empty() {
                            groves.clone()
                        } else {
                            format!("{groves} · missing {}", gone.join(" "))
                        };
                        (
                            ramp(t),
                            format!("MSE {}", num(m)),
                            line2,
                            format!("{cell}: validation MSE {m} over {groves}"),
                            (!gone.is_empty()).then(|| format!("missing {}", gone.join(" "))),
                        )
                    }
                }
            }
        };
        let groves_attr = score.map_or_else(
            || format!("0/{}", r.spec.groves),
            |sc| format!("{}/{}", sc.groves_found, sc.groves_planned),
        );
        let _ = write!(
            h,
            "<g data-cell=\"{cell}\" data-groves=\"{groves_attr}\" data-round=\"{}\"{}{}><title>{}</title>",
            score.map_or(0, |sc| sc.round),
            if winner { " data-winner=\"true\"" } else { "" },
            miss.as_ref()
                .map_or_else(String::new, |m| format!(" data-missing=\"{}\"", esc(m))),
            esc(&title)
        );
        let _ = write!(
            h,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"{}\" stroke-width=\"{}\"/>",
            px(x + 2.0),
            px(y + 2.0),
            px(cw - 4.0),
            px(ch - 4.0),
            if winner { "#111" } else { "#fff" },
            if winner { 3 } else { 1 }
        );
        let _ = write!(
            h,
            "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">{2}</text><text class=\"small\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
            px(x + cw / 2.0),
            px(y + 26.0),
            esc(&(if winner { format!("★ {line1}") } else { line1 })),
            px(y + 44.0),
            esc(&line2)
        );
        h.push_str("</g>");
    }
    let _ = writeln!(
        h,
        "<text class=\"small\" x=\"{left}\" y=\"{}\">colour: log validation MSE, green lowest · ★ winner · hatched: missing</text></svg>",
        px(hgt - 8.0)
    );
}

/// Green (0) → yellow (0.5) → red (1).
pub(super) fn ramp(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let stops = [
        (102.0, 189.0, 99.0),
        (254.0, 224.0, 139.0),
        (244.0, 109.0, 67.0),
    ];
    let (a, b, u) = if t < 0.5 {
        (stops[0], stops[1], t * 2.0)
    } else {
        (stops[1], stops[2], (t - 0.5) * 2.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// Predicted vs actual `TYPPRICE` over the end of the test split, with the naive forecast.
pub(super) fn forecast_chart(h: &mut String, s: &StockRow) {
    let Some(f) = &s.forecast else {
        let _ = writeln!(
            h,
            "<p data-forecast-missing=\"\">Forecast chart: {}</p>",
            missing(&format!("no test forecast ({})", test_missing_reason(s)))
        );
        return;
    };
    if f.actual.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", missing("the test split is empty"));
        return;
    }
    price_chart(
        h,
        &PriceSeries {
            attr: "data-forecast",
            stock: &s.stock,
            date_ms: &f.date_ms,
            actual: &f.actual,
            predicted: &f.predicted,
            naive: &f.naive,
            caption: format!(
                "TYPPRICE, the last {} of {} test minutes (India time)",
                f.actual.len(),
                f.rows_total
            ),
        },
    );
    h.push_str("<div class=\"legend\"><span><i class=\"sw\" style=\"background:#1d232a\"></i>actual</span><span><i class=\"sw\" style=\"background:#f28e2b\"></i>predicted (average of the final groves)</span><span><i class=\"sw\" style=\"background:#8c959f\"></i>naive (this minute)</span></div>\n");
    forecast_note(h, f);
}

/// A price chart's lines: actual, predicted and naive by minute.
pub(super) struct PriceSeries<'a> {
    /// The SVG's data attribute naming the stock (`data-forecast`, `data-live-forecast`).
    pub attr: &'a str,
    pub stock: &'a str,
    pub date_ms: &'a [i64],
    pub actual: &'a [f64],
    pub predicted: &'a [f64],
    pub naive: &'a [f64],
    pub caption: String,
}

pub(super) fn price_chart(h: &mut String, p: &PriceSeries) {
    let (w, hgt, left, right, top, bottom) = (1180.0, 260.0, 70.0, 12.0, 12.0, 40.0);
    let plot_w = w - left - right;
    let plot_h = hgt - top - bottom;
    let all = p.actual.iter().chain(p.predicted).chain(p.naive);
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(*v), b.max(*v))
    });
    if hi <= lo {
        lo -= 1.0;
        hi += 1.0;
    }
    let n = p.actual.len();
    let x = |i: usize| {
        left + if n > 1 {
            i as f64 / (n - 1) as f64 * plot_w
        } else {
            0.0
        }
    };
    let y = |v: f64| top + (hi - v) / (hi - lo) * plot_h;
    let line = |vals: &[f64]| {
        let mut pts = String::with_capacity(vals.len() * 14);
        for (i, v) in vals.iter().enumerate() {
            let _ = write!(pts, "{},{} ", px(x(i)), px(y(*v)));
        }
        pts
    };
    let _ = write!(
        h,
        "<svg class=\"forecast\" {}=\"{}\" data-points=\"{n}\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"predicted and actual TYPPRICE\">",
        p.attr,
        esc(p.stock)
    );
    value_grid(h, lo, hi, left, plot_w, &y);
    for (vals, colour, dash, label) in [
        (p.naive, "#8c959f", " stroke-dasharray=\"3 3\"", "naive"),
        (p.actual, "#1d232a", "", "actual"),
        (p.predicted, "#f28e2b", "", "predicted"),
    ] {
        let _ = write!(
            h,
            "<polyline data-series=\"{label}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.4\"{dash} points=\"{}\"/>",
            line(vals)
        );
    }
    time_labels(h, p.date_ms, &x, top + plot_h + 14.0);
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></svg>",
        px(left + plot_w / 2.0),
        px(hgt - 4.0),
        esc(&p.caption)
    );
}

/// The first, middle and last time under a chart's x axis.
/// Five horizontal grid lines from `lo` to `hi`, each labelled with its value at the left.
fn value_grid(h: &mut String, lo: f64, hi: f64, left: f64, plot_w: f64, y: &dyn Fn(f64) -> f64) {
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let _ = write!(
            h,
            "<line x1=\"{left}\" x2=\"{0}\" y1=\"{1}\" y2=\"{1}\" stroke=\"#e3e6ea\"/><text class=\"small\" x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{4}</text>",
            px(left + plot_w),
            px(y(v)),
            px(left - 6.0),
            px(y(v) + 3.0),
            num(v)
        );
    }
}

fn time_labels(h: &mut String, date_ms: &[i64], x: &dyn Fn(usize) -> f64, at_y: f64) {
    let n = date_ms.len();
    if n == 0 {
        return;
    }
    for i in [0, n / 2, n - 1] {
        let anchor = if i == 0 {
            "start"
        } else if i == n - 1 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            h,
            "<text class=\"small\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            px(x(i)),
            px(at_y),
            format_wall(date_ms[i])
        );
    }
}

/// The rolling skill of live forecasts over time, the drift threshold, and where drift
/// episodes began.
pub(super) fn skill_chart(h: &mut String, stock: &str, live: &LiveView) {
    let (w, hgt, left, right, top, bottom) = (1180.0, 200.0, 70.0, 12.0, 12.0, 40.0);
    let plot_w = w - left - right;
    let plot_h = hgt - top - bottom;
    let n = live.skill.len();
    let mut lo = live.skill.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = live.skill.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if let Some(t) = live.threshold {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    lo = lo.clamp(0.0, 1.0);
    hi = hi.max(1.0);
    if hi <= lo {
        hi = lo + 1.0;
    }
    let x = |i: usize| {
        left + if n > 1 {
            i as f64 / (n - 1) as f64 * plot_w
        } else {
            0.0
        }
    };
    let y = |v: f64| top + (hi - v) / (hi - lo) * plot_h;
    let _ = write!(
        h,
        "<svg class=\"forecast\" data-live-skill=\"{}\" data-points=\"{n}\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"rolling skill of the live forecasts\">",
        esc(stock)
    );
    value_grid(h, lo, hi, left, plot_w, &y);
    // Episodes begin where the line crosses the threshold: marked at the nearest point.
    for d in live.drift.iter().filter(|d| d.kind == DriftKind::Begin) {
        let Ok(at) = parse_wall(&d.minute) else {
            continue;
        };
        let (Some(first), Some(last)) = (live.skill_ms.first(), live.skill_ms.last()) else {
            continue;
        };
        if at < *first || at > *last {
            continue;
        }
        let i = live.skill_ms.partition_point(|t| *t < at).min(n - 1);
        let _ = write!(
            h,
            "<line data-drift-begin=\"{2}\" x1=\"{0}\" x2=\"{0}\" y1=\"{top}\" y2=\"{1}\" stroke=\"#c0392b\" stroke-dasharray=\"2 2\"/>",
            px(x(i)),
            px(top + plot_h),
            esc(&d.minute)
        );
    }
    if let Some(t) = live.threshold {
        let _ = write!(
            h,
            "<line data-threshold=\"{}\" x1=\"{left}\" x2=\"{}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#c0392b\" stroke-width=\"1.2\"/>",
            num(t),
            px(left + plot_w),
            px(y(t))
        );
    }
    let mut pts = String::with_capacity(n * 14);
    for (i, v) in live.skill.iter().enumerate() {
        let _ = write!(pts, "{},{} ", px(x(i)), px(y(*v)));
    }
    let _ = write!(
        h,
        "<polyline data-series=\"rolling skill\" fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"1.4\" points=\"{pts}\"/>"
    );
    time_labels(h, &live.skill_ms, &x, top + plot_h + 14.0);
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">rolling skill (model MSE / naive MSE over the last {} realised minutes); red: the drift threshold and where episodes began</text></svg>",
        px(left + plot_w / 2.0),
        px(hgt - 4.0),
        live.window
    );
}

pub(super) fn forecast_note(h: &mut String, f: &ForecastWindow) {
    let mse = |p: &[f64]| {
        p.iter()
            .zip(&f.actual)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / f.actual.len().max(1) as f64
    };
    let _ = writeln!(
        h,
        "<p class=\"sub\">In this window: MSE {} (forest) against {} (naive).</p>",
        num(mse(&f.predicted)),
        num(mse(&f.naive))
    );
}
