//! What driving a run ends in.

use std::collections::BTreeMap;

use groves_core::ids::RunId;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_stages::StageError;
use serde::Serialize;

use super::log::StageLog;

/// A stock that did not make it to the end, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockFailure {
    pub stock: String,
    pub stage: Stage,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    pub run: RunId,
    pub stocks_done: Vec<String>,
    pub failed: Vec<StockFailure>,
    /// Grove stages where some groves failed but the run allowed it: stock → missing units.
    pub accepted_missing: BTreeMap<String, Vec<String>>,
    pub stages: Vec<StageLog>,
    /// Stocks whose serving model now points at this run, and those that could not be
    /// promoted (with why); both empty when the run does not promote.
    pub promoted: Vec<String>,
    pub not_promoted: Vec<(String, String)>,
}

impl RunOutcome {
    /// An error naming every stock that failed, if any did.
    pub fn check(&self) -> Result<(), StageError> {
        if self.failed.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = self
            .failed
            .iter()
            .map(|f| format!("{} ({}): {}", f.stock, f.stage, f.reason))
            .collect();
        Err(StageError::Parent {
            stage: "run".into(),
            message: format!(
                "run {}: {} of {} stocks did not finish:\n  {}",
                self.run,
                self.failed.len(),
                self.failed.len() + self.stocks_done.len(),
                lines.join("\n  ")
            ),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DriveOutcome {
    Finished(RunOutcome),
    /// Stopped at `stop_at` in this stage; drive again with `spec` (the resolved run) to go on.
    Paused {
        stage: Stage,
        spec: Box<RunSpec>,
    },
}
