//! Any stage's event, run in this process: what the in-process pool and `groves invoke` do.
//! (A Lambda function calls its own stage's `handle` instead, so it links only that stage.)

use groves_core::events::StageEvent;
use groves_store::Store;
use serde_json::Value;

use crate::error::{Result, StageError};
use crate::unit::{run_recorded, UnitContext};
use crate::{min_mse, param_preds, pred_mses, processing, test_full, timing_metrics, train_full};

fn to_json<T: serde::Serialize>(v: Result<T>) -> Result<Value> {
    serde_json::to_value(v?).map_err(|e| StageError::Invalid(format!("encoding the result: {e}")))
}

/// Runs the stage's function alone: no completion record, no skip.
pub async fn run_stage(ctx: &UnitContext, store: &dyn Store, event: &StageEvent) -> Result<Value> {
    match event {
        StageEvent::Parent(_) => Err(StageError::Invalid(
            "the parent is not a unit of work: run it with drive_run or fan_out".into(),
        )),
        StageEvent::Processing(e) => {
            let (key, stock) =
                e.source()
                    .map_err(|message| processing::ProcessingError::Invalid {
                        file: e.file.clone(),
                        message,
                    })?;
            let input = ctx.buckets.open(&e.inbucket);
            let opts = processing::ProcessingOptions::from(e);
            to_json(
                processing::process_key(input.as_ref(), store, &key, &stock, &opts)
                    .await
                    .map_err(StageError::from),
            )
        }
        StageEvent::ParamPreds(e) => to_json(param_preds::param_preds(store, e, ctx.threads).await),
        StageEvent::PredMses(e) => to_json(pred_mses::pred_mses(store, e).await),
        StageEvent::MinMse(e) => to_json(min_mse::min_mse(store, e).await),
        StageEvent::TrainFull(e) => to_json(train_full::train_full(store, e, ctx.threads).await),
        StageEvent::TestFull(e) => to_json(test_full::test_full(store, e).await),
        StageEvent::TimingMetrics(e) => to_json(timing_metrics::timing_metrics(store, e).await),
    }
}

/// Runs one unit of work as the parent expects (see [`crate::unit::run_recorded`]): each
/// stage's `handle`, as its Lambda function would.
pub async fn run_unit(ctx: &UnitContext, event: &StageEvent) -> Result<Value> {
    match event {
        StageEvent::Parent(_) => run_stage(ctx, ctx.buckets.open("").as_ref(), event).await,
        StageEvent::Processing(e) => processing::handle(ctx, e).await,
        StageEvent::ParamPreds(e) => param_preds::handle(ctx, e).await,
        StageEvent::PredMses(e) => pred_mses::handle(ctx, e).await,
        StageEvent::MinMse(e) => min_mse::handle(ctx, e).await,
        StageEvent::TrainFull(e) => train_full::handle(ctx, e).await,
        StageEvent::TestFull(e) => test_full::handle(ctx, e).await,
        StageEvent::TimingMetrics(e) => timing_metrics::handle(ctx, e).await,
    }
}

/// Records `error` as the outcome of the unit `event` addresses, as the unit itself would had
/// it failed so (a unit already done stays done): how a test hook makes a unit fail on purpose.
pub async fn fail_unit(ctx: &UnitContext, event: &StageEvent, error: StageError) -> Result<Value> {
    let Some(address) = event.address() else {
        return Err(error);
    };
    let store = ctx.buckets.open(address.bucket);
    run_recorded(
        store.as_ref(),
        address.run,
        event.stage(),
        &address.unit,
        async { Err::<(), _>(error) },
    )
    .await
}
