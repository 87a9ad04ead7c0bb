//! How the parent drives: when it stops, how often it looks, what it tells a watcher.

use std::time::Duration;

use groves_core::stage::Stage;
use tokio::time::Instant;

use super::log::StageLog;

/// What the parent reports while it drives (the CLI draws progress bars from it).
pub trait Progress: Send + Sync {
    fn stage_started(&self, _stage: Stage, _total: usize, _already_done: usize) {}
    fn units_done(&self, _stage: Stage, _done: usize, _total: usize) {}
    fn retrying(&self, _stage: Stage, _unit: &str, _attempt: u32, _why: &str) {}
    fn stage_finished(&self, _stage: Stage, _log: &StageLog) {}
    /// A halving search's round begins: `settings` per stock take part, each to `groves`.
    fn round_started(&self, _round: u32, _rounds: usize, _settings: usize, _groves: u32) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// How the parent waits.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// Stop (and report [`super::DriveOutcome::Paused`]) when this instant passes (tokio's
    /// clock, so a test with a paused clock decides when it comes).
    pub stop_at: Option<Instant>,
    /// Listing interval: starts at `poll_min`, doubles while nothing changes, up to `poll_max`.
    pub poll_min: Duration,
    pub poll_max: Duration,
    /// On Lambda, the parent's memory size: each invocation then records its span in
    /// `runs/run=/parent.json`, and the cost tables bill it. None locally (the parent of
    /// `groves run` costs nothing on Lambda).
    pub bill_parent_mb: Option<u32>,
}

impl Default for DriveOptions {
    fn default() -> Self {
        DriveOptions {
            stop_at: None,
            poll_min: Duration::from_millis(20),
            poll_max: Duration::from_millis(500),
            bill_parent_mb: None,
        }
    }
}
