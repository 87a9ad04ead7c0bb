//! A whole run driven by itself: every stage in order, each to its end, then the next.

use groves_core::spec::RunSpec;
use groves_core::stage::RUN_STAGES;
use groves_stages::promote::{promote, Promotion};
use groves_stages::StageError;
use groves_store::Store;

use super::clock::ParentClock;
use super::options::{DriveOptions, Progress};
use super::outcome::{DriveOutcome, RunOutcome};
use super::plan::{run_id, stage_units};
use super::policy::StockPolicy;
use super::run_id::prepare_run;
use super::stage::{run_stage, StageRun};
use crate::invoke::Invoker;

/// Drives a whole run: every stage in order, each to its end, then the next (see
/// [`StockPolicy`] for which stocks go on). Everything it needs to resume lives in the store, so
/// a parent that stops (killed, or a Lambda parent re-invoking itself before its time limit)
/// picks up where it was and never redoes a finished unit.
///
/// It writes no report: a caller that wants the run's HTML report renders it when the run
/// finishes (`groves_report::write_html`).
pub async fn drive_run(
    store: &dyn Store,
    invoker: &dyn Invoker,
    spec: &RunSpec,
    bucket: &str,
    opts: &DriveOptions,
    progress: &dyn Progress,
) -> Result<DriveOutcome, StageError> {
    let clock = ParentClock::start();
    let spec = prepare_run(store, spec).await?;
    let run = run_id(&spec)?;
    let mut policy = StockPolicy::new(spec.stocks.clone(), spec.allow_missing);
    let mut logs = Vec::new();
    for &stage in RUN_STAGES {
        let stocks = policy.stocks_for(stage);
        if stocks.is_empty() && stage != groves_core::stage::Stage::TimingMetrics {
            continue;
        }
        let units = stage_units(stage, &spec, &stocks, bucket)?;
        let ran = run_stage(store, invoker, &spec, stage, units, opts, progress, &clock).await?;
        let log = match ran {
            StageRun::Paused => {
                return Ok(DriveOutcome::Paused {
                    stage,
                    spec: Box::new(spec),
                })
            }
            StageRun::Finished(log) => log,
        };
        policy.after(&run, stage, &log)?;
        logs.push(log);
    }
    let mut failed = policy.failed;
    failed.sort_by(|a, b| a.stock.cmp(&b.stock));
    let (mut promoted, mut not_promoted) = (Vec::new(), Vec::new());
    if spec.promote {
        for p in promote(store, &run, &policy.active).await? {
            match p {
                Promotion::Promoted(p) => promoted.push(p.stock.to_string()),
                Promotion::Refused { stock, reason } => {
                    not_promoted.push((stock.to_string(), reason))
                }
            }
        }
    }
    Ok(DriveOutcome::Finished(RunOutcome {
        promoted,
        not_promoted,
        run,
        stocks_done: policy.active.iter().map(|s| s.to_string()).collect(),
        failed,
        accepted_missing: policy.accepted_missing,
        stages: logs,
    }))
}
