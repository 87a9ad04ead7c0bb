//! CloudWatch Embedded Metric Format: a JSON log line that CloudWatch Logs turns into metrics,
//! so the score function needs no agent and no PutMetricData call. Namespace `groves/live`,
//! dimension `stock`. `DriftExcess` is the rolling skill over the promoted skill, minus 1, sent
//! once the rolling window is full: the template's alarm fires when it exceeds the drift
//! tolerance, the rule that opens a drift episode.

use serde_json::{json, Value};

use crate::settle::SettleReport;

pub const NAMESPACE: &str = "groves/live";

/// The EMF line of a settle that forecast or realised anything (values as arrays: EMF takes
/// up to 100 values per metric in one line).
pub fn emf_line(report: &SettleReport, now_ms: i64) -> Option<String> {
    if report.forecasts.is_empty() && report.outcomes.is_empty() {
        return None;
    }
    let sq_err: Vec<f64> = report.outcomes.iter().map(|o| o.error().powi(2)).collect();
    let sq_naive: Vec<f64> = report
        .outcomes
        .iter()
        .map(|o| o.naive_error().powi(2))
        .collect();
    let mut metrics = vec![json!({"Name": "Forecasts", "Unit": "Count"})];
    let mut body = serde_json::Map::new();
    body.insert("stock".into(), json!(report.stock.as_str()));
    body.insert("Forecasts".into(), json!(report.forecasts.len()));
    let mut add = |name: &str, unit: &str, v: Value| {
        metrics.push(json!({"Name": name, "Unit": unit}));
        body.insert(name.into(), v);
    };
    let chunk = |v: &[f64]| -> Value {
        // EMF's limit per value array.
        json!(v.iter().take(100).copied().collect::<Vec<_>>())
    };
    if !sq_err.is_empty() {
        add("ForecastSquaredError", "None", chunk(&sq_err));
        add("NaiveSquaredError", "None", chunk(&sq_naive));
    }
    if !report.latencies_ms.is_empty() {
        add("ScoreLatency", "Milliseconds", chunk(&report.latencies_ms));
    }
    if let Some((_, _, skill)) = report.rolling.filter(|r| r.2.is_finite()) {
        add("RollingSkill", "None", json!(skill));
        if let Some(p) = report
            .promoted_skill
            .filter(|p| *p > 0.0 && report.window_full)
        {
            add("DriftExcess", "None", json!(skill / p - 1.0));
        }
    }
    body.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["stock"]],
                "Metrics": metrics,
            }]
        }),
    );
    Some(Value::Object(body).to_string())
}
