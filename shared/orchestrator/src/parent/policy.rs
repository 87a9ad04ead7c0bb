//! Which stocks go on after each stage. A stock whose unit fails for good leaves the run (the
//! others go on); a grove that fails for good makes its stock leave the run once the averaging
//! stage has recorded it as missing, unless the run allows missing groves. A failed
//! timing-metrics unit fails the run.

use std::collections::BTreeMap;

use groves_core::ids::{RunId, Symbol};
use groves_core::stage::Stage;
use groves_stages::StageError;

use super::log::{StageLog, UnitFailure};
use super::outcome::StockFailure;

/// The stocks still in the run, and what happened to the others.
#[derive(Debug, Clone, PartialEq)]
pub struct StockPolicy {
    pub active: Vec<Symbol>,
    pub failed: Vec<StockFailure>,
    /// Grove stages' failures awaiting the averaging stage that records them: stock → units.
    pending_missing: BTreeMap<String, Vec<String>>,
    /// Groves that failed but the run allowed it: stock → units.
    pub accepted_missing: BTreeMap<String, Vec<String>>,
    allow_missing: bool,
}

impl StockPolicy {
    pub fn new(stocks: Vec<Symbol>, allow_missing: bool) -> StockPolicy {
        StockPolicy {
            active: stocks,
            failed: Vec::new(),
            pending_missing: BTreeMap::new(),
            accepted_missing: BTreeMap::new(),
            allow_missing,
        }
    }

    /// The stocks `stage` runs for (timing-metrics is one unit for the whole run).
    pub fn stocks_for(&self, stage: Stage) -> Vec<Symbol> {
        if stage == Stage::TimingMetrics {
            Vec::new()
        } else {
            self.active.clone()
        }
    }

    /// Takes in how `stage` ended.
    pub fn after(&mut self, run: &RunId, stage: Stage, log: &StageLog) -> Result<(), StageError> {
        let mut by_stock: BTreeMap<String, Vec<&UnitFailure>> = BTreeMap::new();
        for f in &log.failed {
            by_stock
                .entry(f.stock.clone().unwrap_or_default())
                .or_default()
                .push(f);
        }
        match stage {
            Stage::TimingMetrics => {
                if let Some(f) = log.failed.first() {
                    return Err(StageError::Parent {
                        stage: stage.to_string(),
                        message: format!(
                            "run {run}: the timing tables failed after {} attempt(s): {}",
                            f.attempts, f.error
                        ),
                    });
                }
            }
            Stage::ParamPreds | Stage::TrainFull => {
                // The averaging stage that follows records exactly which groves are missing.
                for (stock, fs) in by_stock {
                    let units: Vec<String> = fs
                        .iter()
                        .map(|f| format!("{} ({} attempts: {})", f.unit, f.attempts, f.error))
                        .collect();
                    if self.allow_missing {
                        self.accepted_missing
                            .entry(stock)
                            .or_default()
                            .extend(units);
                    } else {
                        self.pending_missing.insert(stock, units);
                    }
                }
            }
            _ => {
                for (stock, fs) in by_stock {
                    let f = fs[0];
                    self.fail(
                        &stock,
                        stage,
                        format!("failed after {} attempt(s): {}", f.attempts, f.error),
                    );
                }
            }
        }
        let grove_stage = match stage {
            Stage::PredMses => Some(Stage::ParamPreds),
            Stage::TestFull => Some(Stage::TrainFull),
            _ => None,
        };
        if let Some(grove_stage) = grove_stage {
            for (stock, units) in std::mem::take(&mut self.pending_missing) {
                self.fail(
                    &stock,
                    grove_stage,
                    format!(
                        "{} grove(s) failed for good, so its MSE would rest on fewer groves than planned (allow_missing accepts that): {}",
                        units.len(),
                        units.join("; ")
                    ),
                );
            }
        }
        Ok(())
    }

    fn fail(&mut self, stock: &str, stage: Stage, reason: String) {
        if self.active.iter().any(|s| s.as_str() == stock) {
            self.failed.push(StockFailure {
                stock: stock.to_string(),
                stage,
                reason,
            });
            self.active.retain(|s| s.as_str() != stock);
        }
    }
}
