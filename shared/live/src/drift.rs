//! Drift: the rolling skill (model MSE / naive MSE over the last `window` realised forecasts)
//! against the skill the model was promoted with. An episode begins when the rolling skill
//! exceeds `promoted × (1 + tolerance)` and ends when it is back under
//! `promoted × (1 + tolerance / 2)` (the gap keeps a noisy series from opening an episode a
//! minute). Each begin and end is one immutable record under `drift/`, written only if absent:
//! the writer of a begin record starts the retraining run, if retraining is configured, so it
//! starts once per episode.

use async_trait::async_trait;
use groves_core::calendar::format_wall;
use groves_core::ids::{RunId, Symbol};
use groves_core::serving::ServingPointer;
use groves_core::spec::{RunSpec, SplitMethod};
use serde::{Deserialize, Serialize};

/// Starts a whole run (does not wait for it to finish, unless it runs in this process).
#[async_trait]
pub trait Retrainer: Send + Sync {
    async fn start(&self, spec: RunSpec) -> Result<(), String>;
}

/// The retraining run of a stock whose episode began at `minute_ms`: `base` (grid, grove
/// counts) on the stock alone, learning what the serving model learns, on the data up to that
/// minute (live minutes included), split chronologically so its test rows are the newest
/// minutes, and promoted only if it beats the serving model there. One run id per stock and
/// minute, so a repeat is the same run.
pub fn retraining_spec(base: &RunSpec, serving: &ServingPointer, minute_ms: i64) -> RunSpec {
    let stamp: String = format_wall(minute_ms)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let name: String = serving
        .stock
        .as_str()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    RunSpec {
        run: Some(
            RunId::new(format!("retrain-{name}-{stamp}"))
                .unwrap_or_else(|e| unreachable!("letters, digits and dashes make a run id: {e}")),
        ),
        stocks: vec![serving.stock.clone()],
        method: None,
        target: Some(serving.target),
        horizon: serving.horizon,
        features: serving.features.clone(),
        split: SplitMethod::Chronological,
        until: Some(format_wall(minute_ms)),
        promote: true,
        promote_if_better: true,
        ..base.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    Begin,
    End,
}

/// `drift/stock=S/<minute>.json`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRecord {
    pub stock: Symbol,
    pub kind: DriftKind,
    /// `YYYY-MM-DD HH:MM`, India wall clock.
    pub minute: String,
    pub rolling_skill: f64,
    pub promoted_skill: f64,
    pub threshold: f64,
    pub window: usize,
    pub model_run: String,
    /// The retraining run this episode started (begin records, when retraining is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retraining_run: Option<RunId>,
}

/// Rolling skill above which an episode begins.
pub fn begin_threshold(promoted: f64, tolerance: f64) -> f64 {
    promoted * (1.0 + tolerance)
}

/// Rolling skill under which an open episode ends.
pub fn end_threshold(promoted: f64, tolerance: f64) -> f64 {
    promoted * (1.0 + tolerance / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retraining_run_learns_what_the_serving_model_learns_up_to_the_minute() {
        let pointer: ServingPointer = serde_json::from_value(serde_json::json!({
            "stock": "M&M", "run": "r1", "feat": 5, "samp": 5, "groves": [0], "trees": 3,
            "target": "change", "horizon": 3, "features": ["RSI14"],
            "inputs": [], "trained_until": "2015-02-01 15:29", "validation_mse": 1.0,
            "test_mse": 1.0, "naive_mse": 1.0, "skill_ratio": 1.0, "code_version": "t"
        }))
        .unwrap();
        let t = groves_core::calendar::parse_wall("2015-02-02 10:30").unwrap();
        let base = RunSpec {
            groves: 2,
            split: SplitMethod::Random,
            ..RunSpec::default()
        };
        let spec = retraining_spec(&base, &pointer, t);
        assert_eq!(
            spec.run.as_ref().unwrap().as_str(),
            "retrain-M-M-201502021030"
        );
        assert_eq!(spec.stocks, vec![Symbol::new("M&M").unwrap()]);
        assert_eq!(
            (spec.horizon, spec.features.clone()),
            (3, vec!["RSI14".to_string()])
        );
        assert_eq!(spec.target(), groves_core::features::Target::Change);
        assert_eq!(spec.until.as_deref(), Some("2015-02-02 10:30"));
        assert_eq!(spec.split, SplitMethod::Chronological);
        assert!(spec.promote_if_better && spec.groves == 2);
        groves_core::events::parse_event(
            groves_core::stage::Stage::Parent,
            &serde_json::to_vec(&spec).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn an_episode_ends_below_where_it_began() {
        assert!(end_threshold(0.9, 0.2) < begin_threshold(0.9, 0.2));
        assert!(end_threshold(0.9, 0.2) > 0.9);
    }
}
