//! param-preds: one grove of the search, trained on the training split, predicting validation.

use forest::{grove_seed, Forest, ForestParams};
use groves_core::events::ParamPredsEvent;
use groves_core::layout::{self, Split};
use groves_core::stage::Stage;
use groves_store::Store;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::{Result, StageError};
use crate::predictions::{mse, preds_frame};
use crate::tables::{blocking, load_xy, table_err, write_table};
use crate::unit::{run_in_bucket, UnitContext};

/// What one grove did.
#[derive(Debug, Clone, Serialize)]
pub struct GroveReport {
    pub stock: String,
    pub feat: u32,
    pub samp: u32,
    pub grove: u32,
    pub trees: u32,
    pub seed: u64,
    pub rows_train: usize,
    pub rows_validation: usize,
    /// This grove's own validation MSE (the search judges settings by the averaged groves).
    pub grove_mse: f64,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
}

/// The unit of work, as its Lambda function and the in-process pool run it.
pub async fn handle(ctx: &UnitContext, e: &ParamPredsEvent) -> Result<Value> {
    run_in_bucket(
        ctx,
        &e.bucket,
        &e.run,
        Stage::ParamPreds,
        e.unit(),
        |store| async move { param_preds(store.as_ref(), e, ctx.threads).await },
    )
    .await
}

/// Forest parameters of a search grove: its seed depends only on (stock, setting, grove, seed).
pub fn search_params(e: &ParamPredsEvent, threads: usize) -> ForestParams {
    ForestParams {
        n_estimators: e.n_estimators as usize,
        max_features: e.feat as usize,
        min_samples_split: e.samp as usize,
        seed: grove_seed(
            e.stock.as_str(),
            e.feat as usize,
            e.samp as usize,
            e.pred_num,
            e.seed,
        ),
        n_threads: Some(threads.max(1)),
        ..ForestParams::default()
    }
}

/// Trains the grove and writes its validation predictions and timing record.
pub async fn param_preds(
    store: &dyn Store,
    e: &ParamPredsEvent,
    threads: usize,
) -> Result<GroveReport> {
    let mut clock = Clock::start(e.invoked_at);
    let train = load_xy(store, &e.run, &e.stock, &[Split::Train], e.target).await?;
    let val = load_xy(store, &e.run, &e.stock, &[Split::Validation], e.target).await?;
    clock.read_done();

    let params = search_params(e, threads);
    let seed = params.seed;
    let stock = e.stock.to_string();
    let (rows_train, rows_validation) = (train.y.len(), val.y.len());
    let target = e.target;
    let (preds, val) = blocking(move || {
        let forest = Forest::fit(&train.x, &train.y, &params)?;
        drop(train);
        let mut preds = forest.predict(&val.x)?;
        // Stored as levels, whatever was learnt: the settings are judged on the level.
        val.to_level(target, &mut preds);
        Ok((preds, val))
    })
    .await
    .map_err(|source| StageError::Forest { stock, source })?;
    let grove_mse = mse(&preds, &val.level);
    clock.compute_done();

    let setting = e.setting();
    let key = layout::val_preds_key(&e.run, &e.stock, setting, e.pred_num);
    let df = preds_frame(&val.rows, preds, e.pred_num, Some(setting)).map_err(table_err(&key))?;
    write_table(store, &key, df).await?;
    clock.write_done();
    clock
        .record(store, &e.run, Stage::ParamPreds, &e.unit(), threads)
        .await?;
    Ok(GroveReport {
        stock: e.stock.to_string(),
        feat: e.feat,
        samp: e.samp,
        grove: e.pred_num,
        trees: e.n_estimators,
        seed,
        rows_train,
        rows_validation,
        grove_mse,
        read_ms: clock.read_ms,
        compute_ms: clock.compute_ms,
        write_ms: clock.write_ms,
    })
}
