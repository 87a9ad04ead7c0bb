//! A whole run driven by itself: every stage in order, each to its end, then the next.

use groves_core::spec::{RunSpec, SearchMethod};
use groves_core::stage::{Stage, RUN_STAGES};
use groves_stages::halving::round_settings;
use groves_stages::promote::{promote, Promotion};
use groves_stages::StageError;
use groves_store::Store;

use super::clock::ParentClock;
use super::log::StageLog;
use super::options::{DriveOptions, Progress};
use super::outcome::{DriveOutcome, RunOutcome};
use super::plan::{param_preds_units, pred_mses_round_units, run_id, stage_units};
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
    let started_ms = clock.now_ms();
    let spec = prepare_run(store, spec).await?;
    let run = run_id(&spec)?;
    let billed = |store| record_parent(store, &run, opts, started_ms, clock.now_ms());
    let mut policy = StockPolicy::new(spec.stocks.clone(), spec.allow_missing);
    let mut logs = Vec::new();
    let halving = spec.search == SearchMethod::Halving;
    for &stage in RUN_STAGES {
        if halving && stage == Stage::PredMses {
            continue; // scored round by round, with param-preds
        }
        let stocks = policy.stocks_for(stage);
        if stocks.is_empty() && stage != Stage::TimingMetrics {
            continue;
        }
        if halving && stage == Stage::ParamPreds {
            let rounds = Rounds {
                run: &run,
                store,
                invoker,
                spec: &spec,
                bucket,
                opts,
                progress,
                clock: &clock,
            };
            if let Some(stage) = rounds.drive(&mut policy, &mut logs).await? {
                billed(store).await?;
                return Ok(DriveOutcome::Paused {
                    stage,
                    spec: Box::new(spec),
                });
            }
            continue;
        }
        if stage == Stage::TimingMetrics {
            // The tables it makes bill this invocation up to now.
            billed(store).await?;
        }
        let units = stage_units(stage, &spec, &stocks, bucket)?;
        let ran = run_stage(
            store, invoker, &spec, stage, None, units, opts, progress, &clock,
        )
        .await?;
        let log = match ran {
            StageRun::Paused => {
                billed(store).await?;
                return Ok(DriveOutcome::Paused {
                    stage,
                    spec: Box::new(spec),
                });
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

/// Records this parent invocation's span in `runs/run=/parent.json` when it is billed (a
/// Lambda parent): on a pause, and before the timing-metrics stage bills the run. Keyed by its
/// start, so recording it again replaces it.
async fn record_parent(
    store: &dyn Store,
    run: &groves_core::ids::RunId,
    opts: &DriveOptions,
    started_ms: i64,
    now_ms: i64,
) -> Result<(), StageError> {
    use groves_core::timing::ParentInvocation;
    let Some(memory_mb) = opts.bill_parent_mb else {
        return Ok(());
    };
    let key = groves_core::layout::parent_invocations_key(run);
    let mut list = groves_stages::timing_metrics::read_parent_invocations(store, run).await?;
    list.retain(|p| p.started_ms != started_ms);
    list.push(ParentInvocation {
        started_ms,
        ended_ms: now_ms,
        memory_mb,
        arch: std::env::consts::ARCH.into(),
    });
    list.sort_by_key(|p| p.started_ms);
    let bytes =
        serde_json::to_vec_pretty(&list).map_err(|e| StageError::Invalid(format!("{key}: {e}")))?;
    store.put(&key, bytes.into()).await?;
    Ok(())
}

/// The rounds of a halving search: each round's param-preds (the round's settings, the groves
/// it adds), then its pred-mses, whose table decides the next round's settings.
struct Rounds<'a> {
    run: &'a groves_core::ids::RunId,
    store: &'a dyn Store,
    invoker: &'a dyn Invoker,
    spec: &'a RunSpec,
    bucket: &'a str,
    opts: &'a DriveOptions,
    progress: &'a dyn Progress,
    clock: &'a ParentClock,
}

impl Rounds<'_> {
    /// Drives every round; returns the stage it paused in, if the parent's time ran out.
    async fn drive(
        &self,
        policy: &mut StockPolicy,
        logs: &mut Vec<StageLog>,
    ) -> Result<Option<Stage>, StageError> {
        let mut had = 0;
        let rounds = self.spec.rounds();
        for (r, round) in rounds.iter().enumerate() {
            self.progress
                .round_started(r as u32, rounds.len(), round.settings, round.groves);
            let r = r as u32;
            let stocks = policy.stocks_for(Stage::ParamPreds);
            if stocks.is_empty() {
                break;
            }
            let mut plan = Vec::with_capacity(stocks.len());
            for stock in stocks {
                let settings = round_settings(self.store, self.run, self.spec, &stock, r).await?;
                plan.push((stock, settings));
            }
            let units = param_preds_units(self.spec, &plan, had..round.groves, self.bucket)?;
            if !self
                .stage(Stage::ParamPreds, r, units, policy, logs)
                .await?
            {
                return Ok(Some(Stage::ParamPreds));
            }
            let stocks = policy.stocks_for(Stage::PredMses);
            let units = pred_mses_round_units(self.spec, &stocks, r, self.bucket)?;
            if !self.stage(Stage::PredMses, r, units, policy, logs).await? {
                return Ok(Some(Stage::PredMses));
            }
            had = round.groves;
        }
        Ok(None)
    }

    /// One stage of one round; false when the parent paused in it.
    async fn stage(
        &self,
        stage: Stage,
        round: u32,
        units: Vec<(groves_core::layout::Unit, serde_json::Value)>,
        policy: &mut StockPolicy,
        logs: &mut Vec<StageLog>,
    ) -> Result<bool, StageError> {
        let ran = run_stage(
            self.store,
            self.invoker,
            self.spec,
            stage,
            Some(round),
            units,
            self.opts,
            self.progress,
            self.clock,
        )
        .await?;
        match ran {
            StageRun::Paused => Ok(false),
            StageRun::Finished(log) => {
                policy.after(self.run, stage, &log)?;
                logs.push(log);
                Ok(true)
            }
        }
    }
}
