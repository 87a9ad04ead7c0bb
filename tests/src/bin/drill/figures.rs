//! What a drill prints from the run's own records and from the fault proxies' counts.

use groves_core::timing::TimingRecord;
use groves_orchestrator::parent::log::StageLog;
use groves_tests::proxy::{Counts, Moved};
use groves_tests::RESULT_PREFIXES;

/// The value at fraction `p` of a sorted list (NaN if empty).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Hand-over latency: for each invocation, the time since the newest completion before it
/// (first invocations of the run left out).
pub fn hand_overs(timings: &[TimingRecord]) -> String {
    let mut finished: Vec<i64> = timings.iter().map(|t| t.finished_ms).collect();
    finished.sort_unstable();
    let mut gaps: Vec<f64> = timings
        .iter()
        .filter_map(|t| {
            let inv = t.invoked_ms?;
            let i = finished.partition_point(|&f| f <= inv);
            (i > 0).then(|| (inv - finished[i - 1]) as f64)
        })
        .collect();
    gaps.sort_by(f64::total_cmp);
    format!(
        "p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} invocations",
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.9),
        percentile(&gaps, 0.99),
        gaps.last().copied().unwrap_or(f64::NAN),
        gaps.len()
    )
}

/// Each stage's span: its first invocation (or start) to its last unit's end, in run order.
pub fn stage_spans(timings: &[TimingRecord]) -> String {
    let mut spans: Vec<(&str, i64, i64)> = Vec::new();
    for t in timings {
        let from = t.invoked_ms.unwrap_or(t.started_ms);
        match spans.iter_mut().find(|(s, ..)| *s == t.stage) {
            Some(span) => {
                span.1 = span.1.min(from);
                span.2 = span.2.max(t.finished_ms);
            }
            None => spans.push((&t.stage, from, t.finished_ms)),
        }
    }
    spans.sort_by_key(|s| s.1);
    spans
        .iter()
        .map(|(s, a, b)| format!("{s} {:.1} s", (b - a) as f64 / 1e3))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sums of the stage logs: invocations, retried units, throttled hand-overs, failed units.
pub fn stage_log_summary(logs: &[StageLog]) -> String {
    let sum = |f: &dyn Fn(&StageLog) -> u64| logs.iter().map(f).sum::<u64>();
    format!(
        "{} stages, {} invocations, {} units retried, {} hand-overs throttled, {} units failed",
        logs.len(),
        sum(&|l| l.invocations),
        sum(&|l| l.retried.len() as u64),
        sum(&|l| l.throttled),
        sum(&|l| l.failed.len() as u64),
    )
}

/// Requests by kind, the faults injected, and (for S3) the largest objects and the keys
/// written twice.
pub fn print_counts(what: &str, c: &Counts, units: usize) {
    let per_unit = |n: u64| n as f64 / units as f64;
    let kinds: Vec<String> = c
        .kinds
        .iter()
        .map(|(k, v)| format!("{k} {} ({:.2}/unit)", v.requests, per_unit(v.requests)))
        .collect();
    println!(
        "{what} requests: {} ({:.2}/unit): {}",
        c.total(),
        per_unit(c.total()),
        kinds.join(", ")
    );
    println!(
        "{what} injected: 500 {}, 503 {}, hangs {}, 429 {}, duplicate deliveries {}",
        c.injected_500, c.injected_503, c.injected_hangs, c.injected_429, c.duplicates_sent
    );
    if what != "S3" {
        return;
    }
    let top = |l: &[Moved]| {
        l.iter()
            .take(4)
            .map(|m| format!("{} {} B", m.path, m.bytes))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("largest written: {}", top(&c.largest_written));
    println!("largest read: {}", top(&c.largest_read));
    // Results must never change; the run's own records (stage logs, a re-run unit's timing
    // record) may.
    let (results, records): (Vec<&String>, Vec<&String>) = c
        .rewritten_differently
        .keys()
        .partition(|k| RESULT_PREFIXES.iter().any(|p| k.contains(&format!("/{p}"))));
    println!(
        "keys written again: {} with the same bytes; with other bytes: {} results{}, {} run records (stage logs, timing records of units run twice)",
        c.rewritten_same,
        results.len(),
        if results.is_empty() {
            String::new()
        } else {
            format!(" {:?}", &results[..results.len().min(8)])
        },
        records.len()
    );
}
