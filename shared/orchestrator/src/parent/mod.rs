//! The parent: drives a whole run stage after stage ([`drive_run`]), or fans one stage out the
//! original way ([`fan_out`]).
//!
//! - [`run_id`]: the run's identity and manifest;
//! - [`plan`]: each stage's units and their events;
//! - [`stage`]: one stage to its end (retries, deadlines, pausing);
//! - [`policy`]: which stocks go on after each stage;
//! - [`run`]: the stages in order;
//! - [`log`]: what the parent leaves in the store of each stage;
//! - [`clock`]: the wall clock that follows tokio's (so tests can pause it).

pub mod clock;
pub mod fan_out;
pub mod log;
pub mod options;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod run;
pub mod run_id;
pub mod stage;

#[cfg(test)]
mod tests;

pub use fan_out::{fan_out, FanOutReport};
pub use log::{read_stage_log, InFlight, StageLog, UnitFailure};
pub use options::{DriveOptions, Progress, Quiet};
pub use outcome::{DriveOutcome, RunOutcome, StockFailure};
pub use plan::{stage_units, stamp_invoked};
pub use run::drive_run;
pub use run_id::{prepare_run, prepare_upload_run};
