//! The serving pointer: which run's final groves forecast a stock, and everything a caller
//! needs to build that model's inputs. Stored as JSON under
//! [`crate::layout::serving_pointer_key`], replaced whole (a put is atomic) on promotion.

use serde::{Deserialize, Serialize};

use crate::features::Target;
use crate::ids::{RunId, Symbol};

/// `models/current/stock=<SYMBOL>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingPointer {
    pub stock: Symbol,
    pub run: RunId,
    /// The winning setting.
    pub feat: u32,
    pub samp: u32,
    /// Final grove numbers, in the order their forecasts are summed.
    pub groves: Vec<u32>,
    /// Trees per final grove.
    pub trees: u32,
    pub target: Target,
    /// Minutes ahead.
    pub horizon: u32,
    /// Extra raw columns the model reads, by name.
    pub features: Vec<String>,
    /// The forest's inputs in order (the price features of the target, then `features`).
    pub inputs: Vec<String>,
    /// The newest bar the final groves were trained on (India wall clock, `YYYY-MM-DD HH:MM`).
    pub trained_until: String,
    pub validation_mse: f64,
    pub test_mse: f64,
    pub naive_mse: f64,
    /// test MSE / naive MSE when it was promoted.
    pub skill_ratio: f64,
    /// The groves version that trained it.
    pub code_version: String,
}
