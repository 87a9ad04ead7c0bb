//! `groves run`: the whole search on whatever the store holds (sample data if it holds nothing),
//! driven by the parent over the in-process pool.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use groves_core::events::{Event, EventError};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_orchestrator::invoke::{FaultPlan, Invoker, LocalPool};
use groves_orchestrator::parent::{drive_run, DriveOptions, DriveOutcome};
use groves_stages::{OneStore, UnitContext};
use groves_store::StoreSpec;

use super::{gen, process, report, StoreRef};
use crate::progress::StageBars;
use crate::{GenArgs, RunArgs};

/// Symbols generated when the store is empty and none were named.
const SAMPLE_SYMBOLS: usize = 2;

/// `5,7,9x5,15,25` → ([5,7,9], [5,15,25]).
pub fn parse_grid(s: &str) -> Result<(Vec<u32>, Vec<u32>)> {
    let (f, m) = s.split_once(['x', 'X']).with_context(|| {
        format!("--grid {s:?}: expected MAX_FEATURES x MIN_SAMPLES_SPLIT, e.g. 5,7,9x5,15,25")
    })?;
    let list = |part: &str, what: &str| -> Result<Vec<u32>> {
        part.split(',')
            .map(|v| {
                v.trim().parse().with_context(|| {
                    format!("--grid {s:?}: {what} value {v:?} is not a whole number")
                })
            })
            .collect()
    };
    Ok((list(f, "max_features")?, list(m, "min_samples_split")?))
}

impl RunArgs {
    pub fn spec(&self) -> Result<RunSpec> {
        let (feat, samp) = parse_grid(&self.grid)?;
        let spec = RunSpec {
            run: self.run.as_deref().map(RunId::new).transpose()?,
            stocks: self
                .stocks
                .iter()
                .map(Symbol::new)
                .collect::<Result<_, _>>()?,
            feat,
            samp,
            groves: self.groves,
            trees: self.trees,
            final_groves: self.final_groves,
            final_trees: self.final_trees,
            split: self.split,
            search: self.search,
            seed: self.seed,
            lags: self.lags,
            target: self.target,
            method: self.method,
            horizon: self.horizon,
            features: self.features.clone(),
            promote: !self.no_promote,
            until: self.until.clone(),
            promote_if_better: self.promote_if_better,
            allow_missing: self.allow_missing,
            max_attempts: self.max_attempts,
            unit_timeout_s: self.unit_timeout,
            memory_mb: self.memory_mb,
            ..RunSpec::default()
        };
        // The same checks a parent event gets.
        spec.validate().map_err(|problem| EventError {
            stage: Stage::Parent,
            problem,
        })?;
        Ok(spec)
    }
}

pub async fn run(spec_store: &StoreSpec, store: &StoreRef, args: &RunArgs) -> Result<()> {
    let spec = args.spec()?;
    if process::raw_files(store).await?.is_empty() {
        let gen_args = GenArgs {
            symbols: args.stocks.clone(),
            count: args.stocks.is_empty().then_some(SAMPLE_SYMBOLS),
            days: args.days,
            seed: 42,
            legacy: false,
        };
        eprintln!(
            "no raw files under {}/{}: generating sample data ({} trading days per symbol)",
            store.describe(),
            layout::RAW_PREFIX,
            args.days
        );
        gen::gen(spec_store, store, &gen_args).await?;
    }
    let faults = FaultPlan::from_env().map_err(anyhow::Error::msg)?;
    let slots = args.jobs.unwrap_or_else(LocalPool::default_slots);
    let pool = LocalPool::new(
        UnitContext {
            buckets: Arc::new(OneStore(store.clone())),
            threads: args.threads,
        },
        slots,
    )
    .with_faults(faults);
    let bars = StageBars::new();
    let started = std::time::Instant::now();
    let outcome = drive_run(
        store.as_ref(),
        &pool,
        &spec,
        "groves-data",
        &DriveOptions::default(),
        &bars,
    )
    .await?;
    let DriveOutcome::Finished(outcome) = outcome else {
        bail!("the run paused before its end (it resumes with the same command)");
    };
    drop(bars);
    groves_report::write_html(store.as_ref(), &outcome.run).await?;
    eprintln!(
        "run {} finished in {:.1} s on the {}",
        outcome.run,
        started.elapsed().as_secs_f64(),
        pool.describe()
    );
    let loaded = groves_report::load(store.as_ref(), &outcome.run).await?;
    report::print(&loaded, store.as_ref());
    for (stock, units) in &outcome.accepted_missing {
        eprintln!(
            "warning: {stock}: results rest on fewer groves than planned (--allow-missing): {}",
            units.join("; ")
        );
    }
    if !outcome.promoted.is_empty() {
        eprintln!(
            "serving: {} now forecast with this run's final groves (groves predict / groves serve)",
            outcome.promoted.join(", ")
        );
    }
    for (stock, why) in &outcome.not_promoted {
        eprintln!("warning: {stock} not promoted: {why}");
    }
    outcome.check()?;
    Ok(())
}
