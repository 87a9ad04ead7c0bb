//! The page's sections: the header, the stock table, each stock's card, the run's tables and what
//! the run was.

use std::fmt::Write;

use groves_live::drift::DriftKind;
use groves_live::status::LiveView;

use super::charts::{
    forecast_chart, heat_map, price_chart, skill_chart, skill_histogram, PriceSeries,
};
use super::format::{count_cell, esc, missing, num, num_cell, px, secs, test_missing_reason};
use super::timeline::timeline;
use crate::{RunReport, StockRow};

pub(super) fn header(h: &mut String, r: &RunReport, run: &str) {
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
        "<header>\n<h1>groves run <code>{}</code></h1>\n<div class=\"sub\">per-stock random-forest search · {}</div>\n<div class=\"badges\">",
        esc(run),
        esc(&r.spec.summary())
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

pub(super) fn across_stocks(h: &mut String, r: &RunReport) {
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
        let rows_kept = s.data.as_ref().map(|d| d.rows_kept);
        let _ = writeln!(
            h,
            "<tr data-stock=\"{stock}\"><td><a href=\"#stock-{stock}\">{stock}</a></td>{best}{}{}{}{}{}{}<td>{}</td></tr>",
            num_cell(s.validation_mse, "no score"),
            num_cell(s.test_mse, &why_no_test),
            num_cell(s.naive_mse, "not computed"),
            num_cell(s.skill_ratio, &why_no_test),
            count_cell(rows_kept, "not processed"),
            count_cell(s.rows_test, "not computed"),
            status_html(s),
            stock = esc(&s.stock)
        );
    }
    h.push_str("</tbody>\n</table>\n<p class=\"sub\">Click a heading to sort. skill = test MSE / naive MSE (naive: next minute = this minute); below 1 the forest beats it.</p>\n");
    skill_histogram(h, r);
    h.push_str("</div>\n");
}

pub(super) fn status_html(s: &StockRow) -> String {
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

// ---------------------------------------------------------------- per stock

/// Runs with more stocks than this show each stock's section folded (its summary line), all
/// but the stocks that did not finish: at the original's hundred stocks, a page of open
/// sections is a long scroll past what the table above already says.
pub(super) const OPEN_SECTIONS_UP_TO: usize = 12;

pub(super) fn stock_section(h: &mut String, r: &RunReport, s: &StockRow) {
    let open = r.stocks.len() <= OPEN_SECTIONS_UP_TO || s.status != "done";
    let _ = write!(
        h,
        "<section class=\"card\" id=\"stock-{0}\" data-stock-section=\"{0}\">\n<details{2}><summary><h3>{0} <span class=\"sub\">· {1}</span></h3></summary>\n<div class=\"stock-grid\">\n",
        esc(&s.stock),
        esc(&s.status),
        if open { " open" } else { "" }
    );
    heat_map(h, r, s);
    scores(h, s);
    h.push_str("</div>\n");
    forecast_chart(h, s);
    if let Some(live) = &s.live {
        live_section(h, &s.stock, live);
    }
    h.push_str("</details>\n</section>\n");
}

/// The stock's live forecasts: forecast vs actual vs naive over the last realised minutes, the
/// rolling skill against the drift threshold, and the drift episodes.
pub(super) fn live_section(h: &mut String, stock: &str, live: &LiveView) {
    let st = &live.status;
    let _ = writeln!(
        h,
        "<h4 data-live=\"{}\">Live</h4>\n<p class=\"sub\">{} minutes scored up to {}, {} forecasts realised; rolling skill {} over the last {} (promoted with {}, test MSE {}); {} malformed, {} gaps. Model: {}.</p>",
        esc(stock),
        st.minutes,
        esc(st.frontier.as_deref().unwrap_or("-")),
        live.realised,
        st.rolling_skill.map_or_else(|| "none yet".to_string(), num),
        live.window,
        st.promoted_skill.map_or_else(|| "unknown".to_string(), num),
        st.promoted_test_mse.map_or_else(|| "unknown".to_string(), num),
        st.malformed,
        st.gaps,
        esc(st.model_run.as_deref().unwrap_or("none")),
    );
    if !live.actual.is_empty() {
        price_chart(
            h,
            &PriceSeries {
                attr: "data-live-forecast",
                stock,
                date_ms: &live.minute_ms,
                actual: &live.actual,
                predicted: &live.forecast,
                naive: &live.naive,
                caption: format!(
                    "TYPPRICE live: the last {} of {} realised forecasts, at the minute each was for (India time)",
                    live.actual.len(),
                    live.realised
                ),
            },
        );
    }
    if live.skill.is_empty() {
        let _ = writeln!(
            h,
            "<p>{}</p>",
            missing(&format!(
                "no rolling skill yet: {} of {} realised forecasts",
                live.realised, live.window
            ))
        );
    } else {
        skill_chart(h, stock, live);
    }
    if live.drift.is_empty() {
        h.push_str("<p data-drift-events=\"0\">No drift episode.</p>\n");
        return;
    }
    // The newest episodes; the records under drift/ hold them all.
    const SHOWN: usize = 20;
    let from = live.drift.len().saturating_sub(SHOWN);
    if from > 0 {
        let _ = writeln!(
            h,
            "<p class=\"sub\">The last {SHOWN} of {} drift records (all are under drift/stock={}/).</p>",
            live.drift.len(),
            esc(stock)
        );
    }
    let _ = write!(
        h,
        "<table data-drift-events=\"{}\"><tr><th>minute</th><th>drift</th><th>rolling skill</th><th>promoted</th><th>threshold</th><th>model</th><th>retraining run</th></tr>",
        live.drift.len()
    );
    for d in &live.drift[from..] {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.minute),
            match d.kind {
                DriftKind::Begin => "began",
                DriftKind::End => "ended",
            },
            num(d.rolling_skill),
            num(d.promoted_skill),
            num(d.threshold),
            esc(&d.model_run),
            esc(&d.retraining_run.as_ref().map_or_else(|| "-".to_string(), |r| r.to_string())),
        );
    }
    h.push_str("</table>\n");
}

/// Test MSE beside the naive forecast's, and the skill ratio.
pub(super) fn scores(h: &mut String, s: &StockRow) {
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

// ---------------------------------------------------------------- the run

pub(super) fn the_run(h: &mut String, r: &RunReport) {
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

pub(super) fn stage_table(h: &mut String, r: &RunReport) {
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

pub(super) fn cost_table(h: &mut String, r: &RunReport) {
    if r.costs.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", missing("no timing record yet"));
        return;
    }
    h.push_str("<table id=\"costs\"><thead><tr><th>stage</th><th class=\"n\">invocations</th><th class=\"n\">billed s</th><th class=\"n\">GB-s</th><th class=\"n\">cost $</th><th>priced as</th><th class=\"n\">S3 requests</th><th class=\"n\">S3 $</th></tr></thead>\n<tbody>\n");
    for c in &r.costs {
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.5}</td><td data-arch=\"{}\">{}</td><td class=\"n\" data-s3-requests=\"{}\">{}</td><td class=\"n\">{:.5}</td></tr>",
            if c.stage == "run" { " style=\"font-weight:600\"" } else { "" },
            esc(&c.stage),
            c.invocations,
            secs(c.duration_s),
            c.gb_s,
            c.cost_usd,
            esc(&c.arch),
            esc(if c.arch.is_empty() { "arm64 (not recorded)" } else { &c.arch }),
            c.s3_requests,
            c.s3_requests,
            c.s3_cost_usd
        );
    }
    let _ = writeln!(
        h,
        "</tbody></table>\n<p class=\"sub\">As if each unit ran on Lambda at {} MB unless it did. {} S3: the units' own requests (GET, PUT, LIST, HEAD, DELETE; not the parent's) at {}. On Lambda, the parent row bills the parent's own invocations up to the timing tables.</p>",
        r.spec.memory_mb,
        esc(r.prices),
        esc(groves_core::pricing::S3_PRICES_NOTE)
    );
}

pub(super) fn failures(h: &mut String, r: &RunReport) {
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
    h.push_str("<table><thead><tr><th>stage</th><th class=\"n\">units</th><th class=\"n\">done</th><th class=\"n\">done before this parent</th><th class=\"n\">invocations</th><th class=\"n\">throttled</th><th class=\"n\">retried</th><th class=\"n\">failed</th></tr></thead><tbody>");
    for l in &r.stages {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\" data-throttled=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&l.label()),
            l.units,
            l.done,
            l.done_before,
            l.invocations,
            l.throttled,
            l.throttled,
            l.retried.len(),
            l.failed.len()
        );
    }
    h.push_str("</tbody></table>\n");
}

// ---------------------------------------------------------------- what the run was

pub(super) fn what_the_run_was(h: &mut String, r: &RunReport, run: &str) {
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
            format!(
                "<code>groves {}</code>",
                esc(groves_orchestrator::CODE_VERSION)
            ),
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
