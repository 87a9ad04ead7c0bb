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

mod charts;
mod format;
mod sections;
mod style;
mod timeline;

use std::fmt::Write;

pub use format::esc;
use sections::{across_stocks, header, stock_section, the_run, what_the_run_was};
use style::{SCRIPT, STYLE};

use crate::RunReport;

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
        esc(groves_orchestrator::CODE_VERSION),
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
    if r.stocks.len() > sections::OPEN_SECTIONS_UP_TO {
        let _ = writeln!(
            h,
            "<p class=\"sub\" data-folded=\"\">{} stocks: each section is folded to its line (those that did not finish stay open); open one there or from the table above.</p>",
            r.stocks.len()
        );
    }
    for s in &r.stocks {
        stock_section(&mut h, r, s);
    }
    the_run(&mut h, r);
    what_the_run_was(&mut h, r, &run);
    let _ = write!(h, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StockRow;
    use groves_core::spec::RunSpec;

    fn report(n: usize) -> RunReport {
        let mut stocks: Vec<StockRow> = (0..n)
            .map(|i| StockRow::new(&format!("S{i:03}"), "done"))
            .collect();
        stocks[1].status = "scored".into();
        RunReport {
            spec: RunSpec::default(),
            stocks,
            views: Vec::new(),
            costs: Vec::new(),
            stages: Vec::new(),
            timing_final: false,
            prices: "",
            invocations: Vec::new(),
        }
    }

    #[test]
    fn many_stocks_fold_their_sections_but_those_that_did_not_finish() {
        let page = render(&report(sections::OPEN_SECTIONS_UP_TO + 1));
        assert_eq!(page.matches("<details open>").count(), 1);
        assert_eq!(
            page.matches("<details>").count(),
            sections::OPEN_SECTIONS_UP_TO
        );
        let open = page.find("<details open>").unwrap();
        let s001 = page.find("data-stock-section=\"S001\"").unwrap();
        assert!(
            open > s001,
            "the unfinished stock's section is the open one"
        );
        assert!(page.contains("data-folded"));
        // A few stocks: every section open, no note.
        let page = render(&report(3));
        assert_eq!(page.matches("<details open>").count(), 3);
        assert!(!page.contains("data-folded"));
    }
}
