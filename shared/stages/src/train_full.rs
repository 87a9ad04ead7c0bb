//! train-full: one final grove with the winning setting, trained on train + validation; writes
//! its test predictions and the persisted model.

use bytes::Bytes;
use forest::{grove_seed, Forest, ForestParams};
use groves_core::events::TrainFullEvent;
use groves_core::layout::{self, Split};
use groves_core::stage::Stage;
use groves_store::Store;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::{Result, StageError};
use crate::min_mse::read_best;
use crate::predictions::{mse, preds_frame};
use crate::tables::{blocking, load_xy, table_err, write_table};
use crate::unit::{run_in_bucket, UnitContext};

/// Final groves' numbers are offset so their seeds never equal a search grove's.
const FINAL_GROVE_BIT: u32 = 1 << 31;

#[derive(Debug, Clone, Serialize)]
pub struct FinalGroveReport {
    pub stock: String,
    pub feat: u32,
    pub samp: u32,
    pub grove: u32,
    pub trees: u32,
    pub seed: u64,
    pub rows_train: usize,
    pub rows_test: usize,
    pub grove_test_mse: f64,
    pub model_bytes: usize,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
}

/// The unit of work, as its Lambda function and the in-process pool run it.
pub async fn handle(ctx: &UnitContext, e: &TrainFullEvent) -> Result<Value> {
    run_in_bucket(
        ctx,
        &e.bucket,
        &e.run,
        Stage::TrainFull,
        e.unit(),
        |store| async move { train_full(store.as_ref(), e, ctx.threads).await },
    )
    .await
}

/// Trains one final grove and writes its test predictions and the model.
pub async fn train_full(
    store: &dyn Store,
    e: &TrainFullEvent,
    threads: usize,
) -> Result<FinalGroveReport> {
    let mut clock = Clock::start(e.invoked_at);
    let best = read_best(store, &e.run, &e.stock).await?;
    let splits = [Split::Train, Split::Validation];
    let train = load_xy(store, &e.run, &e.stock, &splits, e.target).await?;
    let test = load_xy(store, &e.run, &e.stock, &[Split::Test], e.target).await?;
    clock.read_done();

    let params = ForestParams {
        n_estimators: e.n_estimators as usize,
        max_features: best.feat as usize,
        min_samples_split: best.samp as usize,
        seed: grove_seed(
            e.stock.as_str(),
            best.feat as usize,
            best.samp as usize,
            e.pred_num | FINAL_GROVE_BIT,
            e.seed,
        ),
        n_threads: Some(threads.max(1)),
        ..ForestParams::default()
    };
    let seed = params.seed;
    let (rows_train, rows_test) = (train.y.len(), test.y.len());
    let stock = e.stock.to_string();
    let target = e.target;
    let (preds, model, test) = blocking(move || {
        let mut forest = Forest::fit(&train.x, &train.y, &params)?;
        drop(train);
        let mut preds = forest.predict(&test.x)?;
        test.to_level(target, &mut preds);
        // The thread count is this machine's business, not the model's: the stored grove is
        // the same bytes whatever it was trained with.
        forest.set_n_threads(None)?;
        Ok((preds, forest.to_bytes()?, test))
    })
    .await
    .map_err(|source| StageError::Forest { stock, source })?;
    let grove_test_mse = mse(&preds, &test.level);
    clock.compute_done();

    let model_bytes = model.len();
    let key = layout::test_preds_key(&e.run, &e.stock, e.pred_num);
    let df = preds_frame(&test.rows, preds, e.pred_num, None).map_err(table_err(&key))?;
    // The model first: test-full counts a grove once its predictions exist.
    store
        .put(
            &layout::model_key(&e.run, &e.stock, e.pred_num),
            Bytes::from(model),
        )
        .await?;
    write_table(store, &key, df).await?;
    clock.write_done();
    clock
        .record(store, &e.run, Stage::TrainFull, &e.unit(), threads)
        .await?;
    Ok(FinalGroveReport {
        stock: e.stock.to_string(),
        feat: best.feat,
        samp: best.samp,
        grove: e.pred_num,
        trees: e.n_estimators,
        seed,
        rows_train,
        rows_test,
        grove_test_mse,
        model_bytes,
        read_ms: clock.read_ms,
        compute_ms: clock.compute_ms,
        write_ms: clock.write_ms,
    })
}
