//! The run report as one self-contained HTML file: inline CSS, charts as inline SVG drawn here,
//! one small inline script that sorts the stock table. No external URL, so it opens offline
//! and from a bucket as it is.
//!
//! Nothing in the page depends on when or where it is rendered: the same store gives the same
//! bytes (a retried or repeated run rewrites its report unchanged).
//!
//! Test hooks (stable): heat-map cells carry `data-cell="f<feat>_s<samp>"`, rows of the stock
//! table `data-stock`, timeline bars `data-invocation`; anything missing carries
//! `data-missing` and is drawn hatched with a visible label.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{ForecastWindow, RunReport, StockRow};
use crate::events::Stage;
use crate::stages::parent::RUN_STAGES;
use crate::stages::pred_mses::{grid as pred_mses_grid, SettingScore};
use crate::timing::TimingRecord;

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
fn num(x: f64) -> String {
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
fn short(x: f64) -> String {
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
fn secs(x: f64) -> String {
    if x < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// Coordinates in SVG: two decimals are sub-pixel.
fn px(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// `YYYY-MM-DD HH:MM` of a wall-clock millisecond count.
fn wall(ms: i64) -> String {
    const DAY: i64 = 86_400_000;
    let (y, m, d) = crate::raw::civil_from_days(ms.div_euclid(DAY));
    let mins = ms.rem_euclid(DAY) / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", mins / 60, mins % 60)
}

/// A stage's colour (Tableau 10), the same in every chart.
fn stage_colour(stage: &str) -> &'static str {
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
fn missing(what: &str) -> String {
    format!(
        "<span class=\"missing\" data-missing=\"{0}\">{0}</span>",
        esc(what)
    )
}

/// A table cell holding a number (sortable by `data-v`), or an explicit "missing" label.
fn num_cell(v: Option<f64>, absent: &str) -> String {
    match v {
        Some(x) => format!("<td class=\"n\" data-v=\"{x}\">{}</td>", num(x)),
        None => format!("<td class=\"n\" data-v=\"\">{}</td>", missing(absent)),
    }
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header,main{max-width:1320px;margin:0 auto;padding:0 24px}
header{padding-top:18px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #d7dbe0;padding-bottom:4px}
h3{font-size:16px;margin:0 0 8px}
.sub{color:#5a6570}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:14px 16px;margin:12px 0}
.badges span{display:inline-block;margin:4px 6px 0 0;padding:2px 9px;border-radius:10px;background:#e8ecf0}
.badges .bad{background:#fbe3e1;color:#8f1d14;font-weight:600}
.badges .good{background:#e2f3e5;color:#1e6b2b}
table{border-collapse:collapse;margin:6px 0;background:#fff}
th,td{padding:3px 9px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \2195";color:#9aa4ae}
table.sortable th[data-dir=asc]::after{content:" \2191";color:#1d232a}
table.sortable th[data-dir=desc]::after{content:" \2193";color:#1d232a}
.missing{display:inline-block;padding:0 6px;border-radius:3px;background:#fbe3e1;color:#8f1d14;font-weight:600;border:1px dashed #c0392b}
.stock-grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:#1d232a}
svg .small{font-size:10px}
#stage-views{font-size:12px}
#stage-views th,#stage-views td{padding:3px 6px}
code{font-size:12px;background:#eef1f4;padding:0 4px;border-radius:3px}
ul.failures li{margin:2px 0}
"#;

/// Sorts a `table.sortable` by the clicked column: numbers by `data-v`, missing values last.
const SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){
    th.addEventListener("click",function(){
      var asc=th.getAttribute("data-dir")!=="asc";
      t.querySelectorAll("th").forEach(function(h){h.removeAttribute("data-dir")});
      th.setAttribute("data-dir",asc?"asc":"desc");
      var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
      rows.sort(function(x,y){
        var a=x.cells[i].getAttribute("data-v"),c=y.cells[i].getAttribute("data-v");
        a=a===null?x.cells[i].textContent:a;c=c===null?y.cells[i].textContent:c;
        if(a===""||c==="")return (a==="")-(c==="");
        var fa=Number(a),fc=Number(c),r=(isNaN(fa)||isNaN(fc))?a.localeCompare(c):fa-fc;
        return asc?r:-r;
      });
      rows.forEach(function(r){b.appendChild(r)});
    });
  });
});
"#;

/// The whole page.
pub fn render(r: &RunReport) -> String {
    let run = r
        .spec
        .run
        .as_ref()
        .map_or_else(|| "(no id)".to_string(), |x| x.to_string());
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"groves {}\">\n<title>groves run {}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n",
        esc(crate::CODE_VERSION),
        esc(&run)
    );
    // Shared SVG definitions: the hatch that marks anything missing.
    h.push_str(
        "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>\
         <pattern id=\"hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"8\" height=\"8\" fill=\"#fbe3e1\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#c0392b\" stroke-width=\"3\"/>\
         </pattern></defs></svg>\n",
    );
    header(&mut h, r, &run);
    h.push_str("<main>\n");
    across_stocks(&mut h, r);
    h.push_str("<h2 id=\"stocks-detail\">Per stock</h2>\n");
    for s in &r.stocks {
        stock_section(&mut h, r, s);
    }
    the_run(&mut h, r);
    what_the_run_was(&mut h, r, &run);
    let _ = write!(h, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    h
}

fn header(h: &mut String, r: &RunReport, run: &str) {
    let done = r.stocks.iter().filter(|s| s.status == "done").count();
    let failed: usize = r.stages.iter().map(|l| l.failed.len()).sum();
    let retried: usize = r.stages.iter().map(|l| l.retried.len()).sum();
    let missing_groves: usize = r
        .stocks
        .iter()
        .map(|s| {
            s.settings.iter().map(|x| x.missing.len()).sum::<usize>()
                + s.missing_final.split_whitespace().count()
        })
        .sum();
    let _ = write!(
        h,
        "<header>\n<h1>groves run <code>{}</code></h1>\n<div class=\"sub\">per-stock random-forest search · grid max_features {:?} × min_samples_split {:?} · {} groves × {} trees per setting, {} final groves × {} trees · {} split</div>\n<div class=\"badges\">",
        esc(run),
        r.spec.feat,
        r.spec.samp,
        r.spec.groves,
        r.spec.trees,
        r.spec.final_groves,
        r.spec.final_trees,
        r.spec.split.as_str()
    );
    let class = |bad: bool| if bad { "bad" } else { "good" };
    let _ = write!(
        h,
        "<span class=\"{}\" data-badge=\"stocks\">{done} of {} stocks done</span>",
        class(done < r.stocks.len()),
        r.stocks.len()
    );
    let _ = write!(
        h,
        "<span class=\"{}\" data-badge=\"missing-groves\">{missing_groves} missing grove(s)</span>",
        class(missing_groves > 0)
    );
    let _ = write!(
        h,
        "<span class=\"{}\" data-badge=\"failed-units\">{failed} unit(s) failed for good</span>",
        class(failed > 0)
    );
    let _ = write!(
        h,
        "<span data-badge=\"retried\">{retried} unit(s) needed a retry</span>"
    );
    if !r.timing_final {
        h.push_str(
            "<span class=\"bad\" data-badge=\"unfinished\">run not finished: figures so far</span>",
        );
    }
    h.push_str("</div>\n</header>\n");
}

// ---------------------------------------------------------------- across stocks

fn across_stocks(h: &mut String, r: &RunReport) {
    h.push_str("<h2 id=\"across\">Across stocks</h2>\n<div class=\"card\">\n");
    h.push_str(
        "<table id=\"stock-table\" class=\"sortable\">\n<thead><tr><th>stock</th><th>best setting</th>\
         <th class=\"n\">validation MSE</th><th class=\"n\">test MSE</th><th class=\"n\">naive MSE</th>\
         <th class=\"n\">skill</th><th class=\"n\">rows kept</th><th class=\"n\">test rows</th><th>status</th></tr></thead>\n<tbody>\n",
    );
    for s in &r.stocks {
        let best = match (s.feat, s.samp) {
            (Some(f), Some(m)) => format!("<td data-v=\"f{f:02}_s{m:03}\">f{f} s{m}</td>"),
            _ => format!("<td data-v=\"\">{}</td>", missing("no winner")),
        };
        let why_no_test = test_missing_reason(s);
        let rows_kept = s.data.as_ref().map(|d| d.rows_kept as f64);
        let _ = writeln!(
            h,
            "<tr data-stock=\"{stock}\"><td><a href=\"#stock-{stock}\">{stock}</a></td>{best}{}{}{}{}{}{}<td>{}</td></tr>",
            num_cell(s.validation_mse, "no score"),
            num_cell(s.test_mse, &why_no_test),
            num_cell(s.naive_mse, "not computed"),
            num_cell(s.skill_ratio, &why_no_test),
            num_cell(rows_kept, "not processed"),
            num_cell(s.rows_test.map(|x| x as f64), "not computed"),
            status_html(s),
            stock = esc(&s.stock)
        );
    }
    h.push_str("</tbody>\n</table>\n<p class=\"sub\">Click a heading to sort. skill = test MSE / naive MSE (naive: next minute = this minute); below 1 the forest beats it.</p>\n");
    skill_histogram(h, r);
    h.push_str("</div>\n");
}

fn test_missing_reason(s: &StockRow) -> String {
    if !s.missing_final.is_empty() {
        format!("missing final {}", s.missing_final)
    } else {
        format!("not computed ({})", s.status)
    }
}

fn status_html(s: &StockRow) -> String {
    let mut out = esc(&s.status);
    for set in s.settings.iter().filter(|x| !x.missing.is_empty()) {
        let groves: Vec<String> = set.missing.iter().map(|g| format!("g{g}")).collect();
        let _ = write!(
            out,
            " {}",
            missing(&format!(
                "f{} s{}: {}/{} groves, missing {}",
                set.feat,
                set.samp,
                set.groves_found,
                set.groves_planned,
                groves.join(" ")
            ))
        );
    }
    if !s.missing_final.is_empty() {
        let _ = write!(
            out,
            " {}",
            missing(&format!("missing final {}", s.missing_final))
        );
    }
    out
}

/// Histogram of log10(skill): one bar per bin, a line at skill 1.
fn skill_histogram(h: &mut String, r: &RunReport) {
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

// ---------------------------------------------------------------- per stock

fn stock_section(h: &mut String, r: &RunReport, s: &StockRow) {
    let _ = write!(
        h,
        "<section class=\"card\" id=\"stock-{0}\" data-stock-section=\"{0}\">\n<h3>{0} <span class=\"sub\">· {1}</span></h3>\n<div class=\"stock-grid\">\n",
        esc(&s.stock),
        esc(&s.status)
    );
    heat_map(h, r, s);
    scores(h, s);
    h.push_str("</div>\n");
    forecast_chart(h, s);
    h.push_str("</section>\n");
}

/// Validation MSE over the grid: rows max_features, columns min_samples_split.
fn heat_map(h: &mut String, r: &RunReport, s: &StockRow) {
    let grid = pred_mses_grid(&r.spec);
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
                let groves = format!("{}/{} groves", sc.groves_found, sc.groves_planned);
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
            "<g data-cell=\"{cell}\" data-groves=\"{groves_attr}\"{}{}><title>{}</title>",
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
fn ramp(t: f64) -> String {
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

/// Test MSE beside the naive forecast's, and the skill ratio.
fn scores(h: &mut String, s: &StockRow) {
    let why = test_missing_reason(s);
    h.push_str("<div data-scores=\"\"><table>");
    let best = match (s.feat, s.samp) {
        (Some(f), Some(m)) => format!("max_features {f}, min_samples_split {m}"),
        _ => missing("no winner"),
    };
    let _ = write!(h, "<tr><th>best setting</th><td>{best}</td></tr>");
    let row = |label: &str, v: Option<f64>, absent: &str| {
        format!(
            "<tr><th>{label}</th><td class=\"n\">{}</td></tr>",
            v.map_or_else(|| missing(absent), num)
        )
    };
    h.push_str(&row("validation MSE", s.validation_mse, "no score"));
    h.push_str(&row("test MSE", s.test_mse, &why));
    h.push_str(&row("naive MSE", s.naive_mse, "not computed"));
    h.push_str(&row("skill (test / naive)", s.skill_ratio, &why));
    if let Some(d) = &s.data {
        let _ = write!(
            h,
            "<tr><th>rows</th><td class=\"n\">{} kept of {} · train {} · validation {} · test {}</td></tr>",
            d.rows_kept, d.rows_read, d.rows_train, d.rows_validation, d.rows_test
        );
    }
    h.push_str("</table>");
    // Two bars, test vs naive, on one scale.
    if let (Some(t), Some(n)) = (s.test_mse, s.naive_mse) {
        let max = t.max(n).max(f64::MIN_POSITIVE);
        let bar = |label: &str, v: f64, y: f64, colour: &str| {
            format!(
                "<text x=\"0\" y=\"{}\">{label}</text><rect x=\"70\" y=\"{}\" width=\"{}\" height=\"16\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{}</text>",
                px(y + 12.0),
                px(y),
                px((v / max * 220.0).max(1.0)),
                px(76.0 + v / max * 220.0),
                px(y + 12.0),
                num(v)
            )
        };
        let _ = write!(
            h,
            "<svg width=\"380\" height=\"52\" viewBox=\"0 0 380 52\" role=\"img\" aria-label=\"test MSE against naive MSE\">{}{}</svg>",
            bar("test", t, 4.0, "#f28e2b"),
            bar("naive", n, 28.0, "#8c959f")
        );
        let verdict = if t < n {
            "the forest beats the naive forecast"
        } else {
            "the forest does not beat the naive forecast"
        };
        let _ = write!(h, "<p class=\"sub\">{verdict}</p>");
    }
    h.push_str("</div>\n");
}

/// Predicted vs actual `TYPPRICE` over the end of the test split, with the naive forecast.
fn forecast_chart(h: &mut String, s: &StockRow) {
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
    let (w, hgt, left, right, top, bottom) = (1180.0, 260.0, 70.0, 12.0, 12.0, 40.0);
    let plot_w = w - left - right;
    let plot_h = hgt - top - bottom;
    let all = f.actual.iter().chain(&f.predicted).chain(&f.naive);
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(*v), b.max(*v))
    });
    if hi <= lo {
        lo -= 1.0;
        hi += 1.0;
    }
    let n = f.actual.len();
    let x = |i: usize| {
        left + if n > 1 {
            i as f64 / (n - 1) as f64 * plot_w
        } else {
            0.0
        }
    };
    let y = |v: f64| top + (hi - v) / (hi - lo) * plot_h;
    let line = |vals: &[f64]| {
        let mut p = String::with_capacity(vals.len() * 14);
        for (i, v) in vals.iter().enumerate() {
            let _ = write!(p, "{},{} ", px(x(i)), px(y(*v)));
        }
        p
    };
    let _ = write!(
        h,
        "<svg class=\"forecast\" data-forecast=\"{}\" data-points=\"{n}\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" aria-label=\"predicted and actual TYPPRICE\">",
        esc(&s.stock)
    );
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
    for (vals, colour, dash, label) in [
        (&f.naive, "#8c959f", " stroke-dasharray=\"3 3\"", "naive"),
        (&f.actual, "#1d232a", "", "actual"),
        (&f.predicted, "#f28e2b", "", "predicted"),
    ] {
        let _ = write!(
            h,
            "<polyline data-series=\"{label}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.4\"{dash} points=\"{}\"/>",
            line(vals)
        );
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
            px(top + plot_h + 14.0),
            wall(f.date_ms[i.min(f.date_ms.len().saturating_sub(1))])
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">TYPPRICE, the last {n} of {} test minutes (India time)</text></svg>",
        px(left + plot_w / 2.0),
        px(hgt - 4.0),
        f.rows_total
    );
    h.push_str("<div class=\"legend\"><span><i class=\"sw\" style=\"background:#1d232a\"></i>actual</span><span><i class=\"sw\" style=\"background:#f28e2b\"></i>predicted (average of the final groves)</span><span><i class=\"sw\" style=\"background:#8c959f\"></i>naive (this minute)</span></div>\n");
    forecast_note(h, f);
}

fn forecast_note(h: &mut String, f: &ForecastWindow) {
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

// ---------------------------------------------------------------- the run

fn the_run(h: &mut String, r: &RunReport) {
    h.push_str(
        "<h2 id=\"run\">The run</h2>\n<div class=\"card\">\n<h3>Timeline: every invocation</h3>\n",
    );
    timeline(h, &r.invocations);
    h.push_str("</div>\n<div class=\"card\">\n<h3>Read / compute / write per stage</h3>\n");
    stage_table(h, r);
    h.push_str("</div>\n<div class=\"card\">\n<h3>Lambda GB-seconds and estimated cost</h3>\n");
    cost_table(h, r);
    h.push_str("</div>\n<div class=\"card\" id=\"failures\">\n<h3>Failures and retries</h3>\n");
    failures(h, r);
    h.push_str("</div>\n");
}

/// A Gantt chart: one bar per invocation (timing record), lanes packed per stage.
fn timeline(h: &mut String, recs: &[TimingRecord]) {
    if recs.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", missing("no timing record yet"));
        return;
    }
    let t0 = recs.iter().map(TimingRecord::first_ms).min().unwrap_or(0);
    let t1 = recs
        .iter()
        .map(|r| r.finished_ms)
        .max()
        .unwrap_or(t0)
        .max(t0 + 1);
    // Stages in run order, then any other name.
    let mut stages: Vec<&str> = RUN_STAGES.iter().map(|s| s.as_str()).collect();
    for r in recs {
        if !stages.contains(&r.stage.as_str()) {
            stages.push(&r.stage);
        }
    }
    // Greedy lane packing: a bar goes in the first lane free at its start.
    let mut lanes: Vec<(usize, usize)> = Vec::new(); // per stage: (first lane, lanes)
    let mut lane_of: Vec<usize> = vec![0; recs.len()];
    let mut next_lane = 0;
    for st in &stages {
        let mut ends: Vec<i64> = Vec::new();
        let mut idx: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].stage == *st).collect();
        idx.sort_by_key(|&i| (recs[i].started_ms, recs[i].finished_ms));
        for i in &idx {
            let r = &recs[*i];
            let lane = match ends.iter().position(|e| *e <= r.started_ms) {
                Some(l) => l,
                None => {
                    ends.push(0);
                    ends.len() - 1
                }
            };
            ends[lane] = r.finished_ms;
            lane_of[*i] = next_lane + lane;
        }
        lanes.push((next_lane, ends.len()));
        next_lane += ends.len();
    }
    let total_lanes = next_lane.max(1);
    let lane_h = (640.0 / total_lanes as f64).clamp(2.0, 16.0);
    let (left, right, top) = (120.0, 16.0, 8.0);
    let w = 1270.0;
    let plot_w = w - left - right;
    let gap = 6.0;
    let used_stages = lanes.iter().filter(|(_, n)| *n > 0).count() as f64;
    let plot_h = total_lanes as f64 * lane_h + used_stages * gap;
    let hgt = top + plot_h + 40.0;
    let span = (t1 - t0) as f64;
    let x = |ms: i64| left + (ms - t0) as f64 / span * plot_w;
    // y of each lane: stages separated by a gap.
    let mut lane_y = vec![0.0; total_lanes];
    let mut y = top;
    for (first, n) in &lanes {
        if *n == 0 {
            continue;
        }
        for (l, slot) in lane_y.iter_mut().skip(*first).take(*n).enumerate() {
            *slot = y + l as f64 * lane_h;
        }
        y += *n as f64 * lane_h + gap;
    }
    let _ = write!(
        h,
        "<svg id=\"timeline\" data-bars=\"{}\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"timeline of every invocation\">",
        recs.len(),
        px(hgt),
        px(hgt)
    );
    // Time grid.
    let step = nice_step(span / 1000.0 / 8.0);
    let mut t = 0.0;
    while t <= span / 1000.0 + 1e-9 {
        let gx = left + t * 1000.0 / span * plot_w;
        let _ = write!(
            h,
            "<line x1=\"{0}\" x2=\"{0}\" y1=\"{top}\" y2=\"{1}\" stroke=\"#e3e6ea\"/><text class=\"small\" x=\"{0}\" y=\"{2}\" text-anchor=\"middle\">{3} s</text>",
            px(gx),
            px(top + plot_h),
            px(top + plot_h + 14.0),
            short(t)
        );
        t += step;
    }
    for (st, (first, n)) in stages.iter().zip(&lanes) {
        if *n == 0 {
            continue;
        }
        let y0 = lane_y[*first];
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" data-stage-label=\"{}\">{}</text>",
            px(left - 8.0),
            px(y0 + (*n as f64 * lane_h) / 2.0 + 4.0),
            esc(st),
            esc(st)
        );
    }
    for (i, r) in recs.iter().enumerate() {
        let y = lane_y[lane_of[i]];
        let x0 = x(r.started_ms);
        let bw = (x(r.finished_ms) - x0).max(1.0);
        let cold = match r.cold_start {
            Some(true) => "cold start",
            Some(false) => "warm start",
            None => "start: local (no cold/warm)",
        };
        let stroke = if r.cold_start == Some(true) {
            " stroke=\"#111\" stroke-width=\"1\""
        } else {
            ""
        };
        // The wait from invocation to start, as a thin lead-in.
        if let Some(inv) = r.invoked_ms.filter(|inv| *inv < r.started_ms) {
            let _ = write!(
                h,
                "<line x1=\"{}\" x2=\"{}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-opacity=\"0.5\"/>",
                px(x(inv)),
                px(x0),
                px(y + lane_h / 2.0),
                stage_colour(&r.stage)
            );
        }
        let _ = write!(
            h,
            "<rect data-invocation=\"{}/{}\" data-stage=\"{}\" data-cold=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{stroke}><title>{} {}: {} ms (invoke {} · read {} · compute {} · write {}), {cold}, {}</title></rect>",
            esc(&r.stage),
            esc(&r.unit),
            esc(&r.stage),
            r.cold_start.map_or("unknown", |c| if c { "true" } else { "false" }),
            px(x0),
            px(y + lane_h * 0.1),
            px(bw),
            px((lane_h * 0.8).max(1.0)),
            stage_colour(&r.stage),
            esc(&r.stage),
            esc(&r.unit),
            num(r.duration_ms()),
            num(r.invoke_ms()),
            num(r.read_ms),
            num(r.compute_ms),
            num(r.write_ms),
            esc(&r.executor)
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds since the first invocation · {} invocations</text></svg>",
        px(left + plot_w / 2.0),
        px(hgt - 6.0),
        recs.len()
    );
    h.push_str("<div class=\"legend\">");
    for st in &stages {
        if recs.iter().any(|r| r.stage == *st) {
            let _ = write!(
                h,
                "<span><i class=\"sw\" style=\"background:{}\"></i>{}</span>",
                stage_colour(st),
                esc(st)
            );
        }
    }
    let cold = recs.iter().filter(|r| r.cold_start == Some(true)).count();
    let warm = recs.iter().filter(|r| r.cold_start == Some(false)).count();
    let unknown = recs.len() - cold - warm;
    let _ = write!(
        h,
        "</div>\n<p class=\"sub\">Bars: start to end of each unit; the thin lead-in is the wait from the parent's invocation to the start. Outlined bars are cold starts. Cold starts {cold} · warm {warm} · not on Lambda (unknown) {unknown}. Only units that finished leave a record: failed attempts are listed under <a href=\"#failures\">Failures and retries</a>.</p>\n"
    );
}

/// A step of 1, 2 or 5 × 10^k at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn stage_table(h: &mut String, r: &RunReport) {
    if r.views.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", missing("no timing record yet"));
        return;
    }
    h.push_str(
        "<table id=\"stage-views\"><thead><tr><th>stage</th><th class=\"n\">units</th>\
         <th class=\"n\">actual s</th>\
         <th class=\"n\">parallel invoke</th><th class=\"n\">parallel read</th><th class=\"n\">parallel compute</th><th class=\"n\">parallel write</th><th class=\"n\">parallel s</th>\
         <th class=\"n\">sequential invoke</th><th class=\"n\">sequential read</th><th class=\"n\">sequential compute</th><th class=\"n\">sequential write</th><th class=\"n\">sequential s</th>\
         <th>sequential time spent on</th></tr></thead>\n<tbody>\n",
    );
    let mut stages: Vec<&str> = r.views.iter().map(|v| v.stage.as_str()).collect();
    stages.dedup();
    for st in stages {
        let get = |view: &str| r.views.iter().find(|v| v.stage == st && v.view == view);
        let (a, p, s) = (get("actual"), get("parallel"), get("sequential"));
        let cell = |v: Option<f64>| match v {
            Some(x) => format!("<td class=\"n\">{}</td>", secs(x)),
            None => "<td class=\"n\">·</td>".to_string(),
        };
        let units = a.or(p).or(s).map_or(0, |v| v.units);
        let _ = write!(
            h,
            "<tr data-stage-row=\"{}\"><td>{}</td><td class=\"n\">{units}</td>{}",
            esc(st),
            esc(st),
            cell(a.map(|v| v.total_s))
        );
        for v in [p, s] {
            let _ = write!(
                h,
                "{}{}{}{}{}",
                cell(v.and_then(|v| v.invoke_s)),
                cell(v.and_then(|v| v.read_s)),
                cell(v.and_then(|v| v.compute_s)),
                cell(v.and_then(|v| v.write_s)),
                cell(v.map(|v| v.total_s))
            );
        }
        // The sequential view's phases as one 100 % bar.
        let parts = s.map(|v| {
            [
                (v.invoke_s.unwrap_or(0.0), "#bab0ac", "invoke"),
                (v.read_s.unwrap_or(0.0), "#4e79a7", "read"),
                (v.compute_s.unwrap_or(0.0), "#f28e2b", "compute"),
                (v.write_s.unwrap_or(0.0), "#59a14f", "write"),
            ]
        });
        h.push_str("<td>");
        if let Some(parts) = parts {
            let total: f64 = parts.iter().map(|p| p.0).sum();
            if total > 0.0 {
                h.push_str("<svg width=\"140\" height=\"14\" viewBox=\"0 0 140 14\" role=\"img\" aria-label=\"share of invoke, read, compute, write\">");
                let mut x0 = 0.0;
                for (v, colour, name) in parts {
                    let bw = v / total * 140.0;
                    if bw > 0.0 {
                        let _ = write!(
                            h,
                            "<rect x=\"{}\" y=\"0\" width=\"{}\" height=\"14\" fill=\"{colour}\"><title>{name}: {} s ({:.0} %)</title></rect>",
                            px(x0),
                            px(bw),
                            secs(v),
                            v / total * 100.0
                        );
                    }
                    x0 += bw;
                }
                h.push_str("</svg>");
            }
        }
        h.push_str("</td></tr>\n");
    }
    h.push_str("</tbody></table>\n<div class=\"legend\"><span><i class=\"sw\" style=\"background:#bab0ac\"></i>invoke</span><span><i class=\"sw\" style=\"background:#4e79a7\"></i>read</span><span><i class=\"sw\" style=\"background:#f28e2b\"></i>compute</span><span><i class=\"sw\" style=\"background:#59a14f\"></i>write</span></div>\n<p class=\"sub\">Seconds. actual: the stage as it happened, first invocation to last end. parallel: the slowest unit, as if every unit ran at once. sequential: the sum, as if one after another. Phases overlap in the actual view, so it has a total only.</p>\n");
}

fn cost_table(h: &mut String, r: &RunReport) {
    if r.costs.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", missing("no timing record yet"));
        return;
    }
    h.push_str("<table id=\"costs\"><thead><tr><th>stage</th><th class=\"n\">invocations</th><th class=\"n\">billed s</th><th class=\"n\">GB-s</th><th class=\"n\">cost $</th></tr></thead>\n<tbody>\n");
    for c in &r.costs {
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.5}</td></tr>",
            if c.stage == "run" { " style=\"font-weight:600\"" } else { "" },
            esc(&c.stage),
            c.invocations,
            secs(c.duration_s),
            c.gb_s,
            c.cost_usd
        );
    }
    let _ = writeln!(
        h,
        "</tbody></table>\n<p class=\"sub\">As if each unit ran on Lambda at {} MB unless it did. {}</p>",
        r.spec.memory_mb,
        esc(r.prices)
    );
}

fn failures(h: &mut String, r: &RunReport) {
    let mut any = false;
    h.push_str("<ul class=\"failures\">");
    for l in &r.stages {
        for f in &l.failed {
            any = true;
            let _ = write!(
                h,
                "<li data-failure=\"{}/{}\">{} <b>{}</b> failed for good after {} attempt(s): <code>{}</code></li>",
                esc(l.stage.as_str()),
                esc(&f.unit),
                missing("failed"),
                esc(&format!("{} {}", l.stage, f.unit)),
                f.attempts,
                esc(&f.error)
            );
        }
        for (unit, attempts) in &l.retried {
            any = true;
            let _ = write!(
                h,
                "<li data-retry=\"{}/{}\">{} {} succeeded at attempt {attempts}</li>",
                esc(l.stage.as_str()),
                esc(unit),
                esc(l.stage.as_str()),
                esc(unit)
            );
        }
    }
    h.push_str("</ul>\n");
    if !any {
        h.push_str("<p data-no-failures=\"\">No unit failed; none needed a retry.</p>\n");
    }
    h.push_str("<table><thead><tr><th>stage</th><th class=\"n\">units</th><th class=\"n\">done</th><th class=\"n\">done before this parent</th><th class=\"n\">invocations</th><th class=\"n\">retried</th><th class=\"n\">failed</th></tr></thead><tbody>");
    for l in &r.stages {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(l.stage.as_str()),
            l.units,
            l.done,
            l.done_before,
            l.invocations,
            l.retried.len(),
            l.failed.len()
        );
    }
    h.push_str("</tbody></table>\n");
}

// ---------------------------------------------------------------- what the run was

fn what_the_run_was(h: &mut String, r: &RunReport, run: &str) {
    let sp = &r.spec;
    h.push_str("<h2 id=\"what\">What the run was</h2>\n<div class=\"card\">\n<table id=\"parameters\"><tbody>");
    let mut versions: Vec<&str> = r
        .stages
        .iter()
        .map(|l| l.code_version.as_str())
        .filter(|v| !v.is_empty())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let code = if versions.is_empty() {
        missing("not recorded (stage logs from before code versions were kept)")
    } else {
        versions
            .iter()
            .map(|v| format!("<code>groves {}</code>", esc(v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let stocks: Vec<&str> = sp.stocks.iter().map(|s| s.as_str()).collect();
    let rows: Vec<(&str, String)> = vec![
        ("run id", format!("<code>{}</code>", esc(run))),
        ("stocks", esc(&stocks.join(", "))),
        (
            "grid",
            format!(
                "max_features {:?} × min_samples_split {:?}",
                sp.feat, sp.samp
            ),
        ),
        (
            "search",
            format!("{} groves × {} trees per setting", sp.groves, sp.trees),
        ),
        (
            "final",
            format!("{} groves × {} trees", sp.final_groves, sp.final_trees),
        ),
        (
            "split",
            format!(
                "{} (seed {}), lags {}",
                sp.split.as_str(),
                sp.seed,
                sp.lags.as_str()
            ),
        ),
        (
            "missing groves",
            if sp.allow_missing {
                "allowed (an MSE may rest on fewer groves; the table says so)".into()
            } else {
                "refused (a setting with a missing grove gets no MSE)".into()
            },
        ),
        (
            "retries",
            format!(
                "up to {} attempts per unit, {} s without a report counts as lost",
                sp.max_attempts, sp.unit_timeout_s
            ),
        ),
        ("memory for costs", format!("{} MB", sp.memory_mb)),
        ("code version (parent)", code),
        (
            "report rendered by",
            format!("<code>groves {}</code>", esc(crate::CODE_VERSION)),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    h.push_str("</tbody></table>\n<h3>Data files</h3>\n<table id=\"data-files\"><thead><tr><th>stock</th><th>raw file</th><th class=\"n\">MB</th><th class=\"n\">rows read</th><th class=\"n\">rows kept</th><th class=\"n\">train</th><th class=\"n\">validation</th><th class=\"n\">test</th><th>first bar</th><th>last bar</th></tr></thead><tbody>\n");
    for s in &r.stocks {
        match &s.data {
            Some(d) => {
                let mb = d.bytes.map_or_else(
                    || missing("no longer in the store"),
                    |b| format!("{:.1}", b as f64 / 1e6),
                );
                let _ = writeln!(
                    h,
                    "<tr data-file=\"{}\"><td>{}</td><td><code>{}</code></td><td class=\"n\">{mb}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&s.stock),
                    esc(&s.stock),
                    esc(&d.source_key),
                    d.rows_read,
                    d.rows_kept,
                    d.rows_train,
                    d.rows_validation,
                    d.rows_test,
                    esc(&d.first_bar),
                    esc(&d.last_bar)
                );
            }
            None => {
                let _ = writeln!(
                    h,
                    "<tr data-file=\"{}\"><td>{}</td><td colspan=\"9\">{}</td></tr>",
                    esc(&s.stock),
                    esc(&s.stock),
                    missing("not processed")
                );
            }
        }
    }
    h.push_str("</tbody></table>\n</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("M&M <b>\"'"), "M&amp;M &lt;b&gt;&quot;&#39;");
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
    fn wall_clock_formats_as_written() {
        // 2015-02-02 09:15 as a wall-clock millisecond count.
        assert_eq!(wall(1_422_868_500_000), "2015-02-02 09:15");
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

    #[test]
    fn steps_are_1_2_5() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.2), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(30.0), 50.0);
    }
}
