//! The run's timeline: one bar per invocation, packed in lanes per stage.

use std::fmt::Write;

use groves_core::stage::RUN_STAGES;
use groves_core::timing::TimingRecord;

use super::format::{esc, missing, num, px, short, stage_colour};

/// A Gantt chart: one bar per invocation (timing record), lanes packed per stage.
pub(super) fn timeline(h: &mut String, recs: &[TimingRecord]) {
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
pub(super) fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_1_2_5() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.2), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(30.0), 50.0);
    }
}
