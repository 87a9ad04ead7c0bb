//! Drift: the rolling skill (model MSE / naive MSE over the last `window` realised forecasts)
//! against the skill the model was promoted with. An episode begins when the rolling skill
//! exceeds `promoted × (1 + tolerance)` and ends when it is back under
//! `promoted × (1 + tolerance / 2)` (the gap keeps a noisy series from opening an episode a
//! minute). Each begin and end is one immutable record under `drift/`, written only if absent,
//! so whatever acts on a begin record acts once per episode.

use groves_core::ids::Symbol;
use serde::{Deserialize, Serialize};

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
    fn an_episode_ends_below_where_it_began() {
        assert!(end_threshold(0.9, 0.2) < begin_threshold(0.9, 0.2));
        assert!(end_threshold(0.9, 0.2) > 0.9);
    }
}
