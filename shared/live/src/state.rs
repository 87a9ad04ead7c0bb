//! The scorer's state of one stock: everything needed to settle the next minute without
//! reading the past again. Stored as an immutable snapshot named by its frontier
//! ([`groves_core::layout::live_state_key`]); the newest snapshot is the state.

use std::collections::VecDeque;

use groves_core::ids::Symbol;
use serde::{Deserialize, Serialize};

/// Objects remembered as settled, to tell a duplicate notification from a late object.
pub const RECENT_KEYS: usize = 64;

/// A forecast waiting for the minute it is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub minute_ms: i64,
    pub price: f64,
    pub forecast: f64,
    /// Rows with a price still to come before the one the forecast is for.
    pub rows_left: u32,
    pub model_run: String,
}

/// A realised forecast's squared errors, for the rolling skill.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Realised {
    pub minute_ms: i64,
    pub model_sq: f64,
    pub naive_sq: f64,
}

/// What has been settled so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Live objects settled (read or skipped).
    pub objects: u64,
    /// Rows settled.
    pub minutes: u64,
    pub forecasts: u64,
    pub outcomes: u64,
    /// Rows that could not be forecast: too few earlier rows yet, no model, or an empty cell.
    pub not_forecast: u64,
    /// Rows without a price (they are not a feature row, as in processing).
    pub no_price: u64,
    /// Objects that could not be read (each has an error record).
    pub malformed: u64,
    /// Gaps: minutes given up as missing before a later minute was settled.
    pub gaps: u64,
    pub drift_episodes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub stock: Symbol,
    /// The last settled minute (India wall clock, ms) and the object it was in.
    pub frontier_ms: Option<i64>,
    pub frontier_key: Option<String>,
    pub recent_keys: VecDeque<String>,
    /// Prices of the last rows with a price, oldest first (at most the model's window).
    pub prices: VecDeque<(i64, f64)>,
    pub pending: VecDeque<Pending>,
    /// The run of the model the rolling skill is measured for; a new model starts it afresh.
    pub model_run: Option<String>,
    /// The promoted model's test skill (test MSE / naive MSE): the drift baseline.
    pub promoted_skill: Option<f64>,
    /// The promoted model's test MSE, for whoever compares the live MSE with it.
    #[serde(default)]
    pub promoted_test_mse: Option<f64>,
    pub realised: VecDeque<Realised>,
    /// Start of the current drift episode, if one is open.
    pub drift_since: Option<i64>,
    /// The rolling window and drift tolerance the scorer was run with (for whoever reads the
    /// state: `groves live`, the report).
    #[serde(default = "default_window")]
    pub window: usize,
    #[serde(default = "default_tolerance")]
    pub drift_tolerance: f64,
    /// Days (day numbers since 1970) settled and not compacted yet, ascending.
    pub open_days: Vec<i64>,
    pub counts: Counts,
}

fn default_window() -> usize {
    crate::settle::LiveOptions::default().window
}

fn default_tolerance() -> f64 {
    crate::settle::LiveOptions::default().drift_tolerance
}

impl LiveState {
    pub fn new(stock: Symbol) -> Self {
        LiveState {
            stock,
            frontier_ms: None,
            frontier_key: None,
            recent_keys: VecDeque::new(),
            prices: VecDeque::new(),
            pending: VecDeque::new(),
            model_run: None,
            promoted_skill: None,
            promoted_test_mse: None,
            realised: VecDeque::new(),
            drift_since: None,
            window: default_window(),
            drift_tolerance: default_tolerance(),
            open_days: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// (model MSE, naive MSE, their ratio) over the realised window; None while empty.
    pub fn rolling(&self) -> Option<(f64, f64, f64)> {
        if self.realised.is_empty() {
            return None;
        }
        let n = self.realised.len() as f64;
        let m: f64 = self.realised.iter().map(|r| r.model_sq).sum::<f64>() / n;
        let z: f64 = self.realised.iter().map(|r| r.naive_sq).sum::<f64>() / n;
        Some((m, z, if z > 0.0 { m / z } else { f64::NAN }))
    }

    pub(crate) fn remember(&mut self, key: &str) {
        self.recent_keys.push_back(key.to_string());
        while self.recent_keys.len() > RECENT_KEYS {
            self.recent_keys.pop_front();
        }
    }
}
