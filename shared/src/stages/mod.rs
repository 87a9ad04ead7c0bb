//! One module per stage of the search. Each stage is a plain function over a store; the Lambda
//! crates, the in-process pool and the CLI all reach them through [`run_unit`].

pub mod common;
pub mod min_mse;
pub mod param_preds;
pub mod parent;
pub mod pred_mses;
pub mod processing;
pub mod test_full;
pub mod timing_metrics;
pub mod train_full;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{json, Value};

pub use common::StageError;

use crate::events::{Stage, StageEvent};
use crate::ids::RunId;
use crate::layout::{self, Unit};
use crate::store::Store;

/// Opens the store of a bucket named in an event. Locally every bucket name means the one
/// `--store`; on Lambda each name is an S3 bucket.
pub trait Buckets: Send + Sync {
    fn open(&self, bucket: &str) -> Arc<dyn Store>;
}

/// Every bucket name resolves to the same store (the local runner).
pub struct OneStore(pub Arc<dyn Store>);

impl Buckets for OneStore {
    fn open(&self, _bucket: &str) -> Arc<dyn Store> {
        self.0.clone()
    }
}

/// What a unit of work runs with.
pub struct UnitContext {
    pub buckets: Arc<dyn Buckets>,
    /// Threads a grove may use.
    pub threads: usize,
    pub faults: Option<Arc<FaultPlan>>,
}

/// Failures injected on purpose, to test retries: `GROVES_FAULT=<stage>:<unit>[:<times>],…`
/// makes the named unit (`*` for any unit of the stage) fail its first `<times>` attempts
/// (every attempt when omitted). Attempts are counted in this process.
#[derive(Debug, Default)]
pub struct FaultPlan {
    rules: Vec<(Stage, String, u32)>,
    seen: Mutex<HashMap<(Stage, String), u32>>,
}

impl FaultPlan {
    pub const ENV: &'static str = "GROVES_FAULT";

    pub fn parse(spec: &str) -> Result<FaultPlan, String> {
        let mut rules = Vec::new();
        for rule in spec.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let parts: Vec<&str> = rule.split(':').collect();
            let (stage, unit, times) = match parts.as_slice() {
                [s, u] => (s, u, u32::MAX),
                [s, u, t] => (
                    s,
                    u,
                    t.parse()
                        .map_err(|_| format!("{}: {rule:?}: bad count {t:?}", Self::ENV))?,
                ),
                _ => {
                    return Err(format!(
                        "{}: {rule:?} is not <stage>:<unit>[:<times>]",
                        Self::ENV
                    ))
                }
            };
            let stage = Stage::from_name(stage).map_err(|e| format!("{}: {e}", Self::ENV))?;
            rules.push((stage, unit.to_string(), times));
        }
        Ok(FaultPlan {
            rules,
            seen: Mutex::default(),
        })
    }

    /// From the environment, if set.
    pub fn from_env() -> Result<Option<Arc<FaultPlan>>, String> {
        match std::env::var(Self::ENV) {
            Ok(s) if !s.trim().is_empty() => Ok(Some(Arc::new(Self::parse(&s)?))),
            _ => Ok(None),
        }
    }

    /// Counts an attempt of `unit`; true if it must fail.
    pub fn should_fail(&self, stage: Stage, unit: &str) -> bool {
        let Some(times) = self
            .rules
            .iter()
            .find(|(s, u, _)| *s == stage && (u == "*" || u == unit))
            .map(|r| r.2)
        else {
            return false;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let n = seen.entry((stage, unit.to_string())).or_insert(0);
        *n += 1;
        *n <= times
    }
}

/// The store, run and unit an event addresses.
pub fn unit_of(ctx: &UnitContext, event: &StageEvent) -> Option<(Arc<dyn Store>, RunId, Unit)> {
    Some(match event {
        StageEvent::Parent(_) => return None,
        StageEvent::Processing(e) => {
            let (_, stock) = processing::raw_key_and_symbol(&e.file).ok()?;
            (
                ctx.buckets.open(&e.outbucket),
                e.run.clone(),
                Unit::Stock(stock),
            )
        }
        StageEvent::ParamPreds(e) => (
            ctx.buckets.open(&e.bucket),
            e.run.clone(),
            param_preds::unit(e),
        ),
        StageEvent::PredMses(e) | StageEvent::MinMse(e) | StageEvent::TestFull(e) => (
            ctx.buckets.open(&e.bucket),
            e.run.clone(),
            Unit::Stock(e.stock.clone()),
        ),
        StageEvent::TrainFull(e) => (
            ctx.buckets.open(&e.bucket),
            e.run.clone(),
            train_full::unit(e),
        ),
        StageEvent::TimingMetrics(e) => (
            ctx.buckets.open(e.bucket.as_deref().unwrap_or_default()),
            e.run.clone(),
            Unit::Run,
        ),
    })
}

/// Runs the stage's function alone: no completion record, no skip.
pub async fn run_stage(
    ctx: &UnitContext,
    store: &dyn Store,
    event: &StageEvent,
) -> Result<Value, StageError> {
    let to_json = |v: Result<Value, serde_json::Error>| {
        v.map_err(|e| StageError::Invalid(format!("encoding the result: {e}")))
    };
    match event {
        StageEvent::Parent(_) => Err(StageError::Invalid(
            "the parent is not a unit of work: run it with drive_run or fan_out".into(),
        )),
        StageEvent::Processing(e) => {
            let input = ctx.buckets.open(&e.inbucket);
            let r = processing::run_processing(input.as_ref(), store, e).await?;
            to_json(serde_json::to_value(r))
        }
        StageEvent::ParamPreds(e) => {
            let r = param_preds::param_preds(store, e, ctx.threads).await?;
            to_json(serde_json::to_value(r))
        }
        StageEvent::PredMses(e) => {
            to_json(serde_json::to_value(pred_mses::pred_mses(store, e).await?))
        }
        StageEvent::MinMse(e) => to_json(serde_json::to_value(min_mse::min_mse(store, e).await?)),
        StageEvent::TrainFull(e) => {
            let r = train_full::train_full(store, e, ctx.threads).await?;
            to_json(serde_json::to_value(r))
        }
        StageEvent::TestFull(e) => {
            to_json(serde_json::to_value(test_full::test_full(store, e).await?))
        }
        StageEvent::TimingMetrics(e) => to_json(serde_json::to_value(
            timing_metrics::timing_metrics(store, e).await?,
        )),
    }
}

/// Runs one unit of work as the parent expects: skipped if its completion record exists (an
/// event delivered twice does the work once), else the stage function, then the completion
/// record — or, if it failed, a failure record with the error for the parent to read.
pub async fn run_unit(ctx: &UnitContext, event: &StageEvent) -> Result<Value, StageError> {
    let Some((store, run, unit)) = unit_of(ctx, event) else {
        return run_stage(ctx, ctx.buckets.open("").as_ref(), event).await;
    };
    let stage = event.stage();
    let done = layout::done_key(&run, stage.as_str(), &unit);
    if store.head(&done).await?.is_some() {
        return Ok(json!({"stage": stage, "unit": unit.to_string(), "skipped": "already done"}));
    }
    let result = match &ctx.faults {
        Some(f) if f.should_fail(stage, &unit.to_string()) => Err(StageError::Injected {
            stage: stage.to_string(),
            unit: unit.to_string(),
        }),
        _ => run_stage(ctx, store.as_ref(), event).await,
    };
    match result {
        Ok(value) => {
            // Same bytes on every run of the unit: the record says only what finished.
            let record = json!({"stage": stage, "unit": unit.to_string()});
            store.put(&done, Bytes::from(record.to_string())).await?;
            Ok(value)
        }
        Err(err) => {
            let record = json!({
                "stage": stage,
                "unit": unit.to_string(),
                "error": err.to_string(),
                "at": crate::timing::now_ms(),
            });
            let key = layout::failed_key(&run, stage.as_str(), &unit);
            if let Err(e) = store.put(&key, Bytes::from(record.to_string())).await {
                tracing::error!(%key, error = %e, "could not write the failure record");
            }
            Err(err)
        }
    }
}
