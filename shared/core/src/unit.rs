//! The units of work a stage is cut into, and a search setting.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::Symbol;

/// A search setting: `max_features` and `min_samples_split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Setting {
    pub feat: u32,
    pub samp: u32,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "f{}_s{}", self.feat, self.samp)
    }
}

/// One unit of work of a stage: what its completion record and timing record are named by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// processing, pred-mses, min-mse, test-full: one per stock.
    Stock(Symbol),
    /// pred-mses of a halving search: one per stock and round.
    StockRound { stock: Symbol, round: u32 },
    /// param-preds: one grove of a setting.
    Grove {
        stock: Symbol,
        setting: Setting,
        grove: u32,
    },
    /// train-full: one final grove.
    FinalGrove { stock: Symbol, grove: u32 },
    /// timing-metrics: one per run.
    Run,
}

impl Unit {
    pub fn stock(&self) -> Option<&Symbol> {
        match self {
            Unit::Stock(s)
            | Unit::StockRound { stock: s, .. }
            | Unit::Grove { stock: s, .. }
            | Unit::FinalGrove { stock: s, .. } => Some(s),
            Unit::Run => None,
        }
    }
}

/// `TCS`, `TCS.r1`, `TCS.f7_s15_g2`, `TCS.final_g12`, `run`: unique within a stage (the suffix after the
/// symbol has a fixed shape per stage, so two stocks cannot produce the same name).
impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Stock(s) => write!(f, "{s}"),
            Unit::StockRound { stock, round } => write!(f, "{stock}.r{round}"),
            Unit::Grove {
                stock,
                setting,
                grove,
            } => write!(f, "{stock}.{setting}_g{grove}"),
            Unit::FinalGrove { stock, grove } => write!(f, "{stock}.final_g{grove}"),
            Unit::Run => f.write_str("run"),
        }
    }
}
