//! param-preds: one grove of the search, trained on the training split, predicting validation.

use polars::prelude::*;
use serde::Serialize;

use super::common::{blocking, load_xy, table_err, write_table, Clock, Result, StageError};
use crate::events::ParamPredsEvent;
use crate::features::ROW;
use crate::forest::{grove_seed, Forest, ForestParams};
use crate::layout::{self, Setting, Split, Unit};
use crate::store::Store;

pub const STAGE: &str = "param-preds";

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

pub fn unit(e: &ParamPredsEvent) -> Unit {
    Unit::Grove {
        stock: e.stock.clone(),
        setting: Setting {
            feat: e.feat,
            samp: e.samp,
        },
        grove: e.pred_num,
    }
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
    let train = load_xy(store, &e.run, &e.stock, &[Split::Train]).await?;
    let val = load_xy(store, &e.run, &e.stock, &[Split::Validation]).await?;
    clock.read_done();

    let params = search_params(e, threads);
    let seed = params.seed;
    let stock = e.stock.to_string();
    let (rows_train, rows_validation) = (train.y.len(), val.y.len());
    let (preds, val) = blocking(move || {
        let forest = Forest::fit(&train.x, &train.y, &params)?;
        drop(train);
        forest.predict(&val.x).map(|p| (p, val))
    })
    .await
    .map_err(|source| StageError::Forest { stock, source })?;
    let grove_mse = mse(&preds, &val.y);
    clock.compute_done();

    let setting = Setting {
        feat: e.feat,
        samp: e.samp,
    };
    let key = layout::val_preds_key(&e.run, &e.stock, setting, e.pred_num);
    let df = preds_frame(&val.rows, preds, e.pred_num, Some(setting)).map_err(table_err(&key))?;
    write_table(store, &key, df).await?;
    clock.write_done();
    clock
        .record(store, &e.run, STAGE, &unit(e), threads)
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

/// One grove's predictions: `row`, `pred`, the grove number and, for search groves, the setting.
pub fn preds_frame(
    rows: &[u32],
    preds: Vec<f64>,
    grove: u32,
    setting: Option<Setting>,
) -> PolarsResult<DataFrame> {
    let n = rows.len();
    let mut cols = vec![
        Column::new(ROW.into(), rows.to_vec()),
        Column::new("pred".into(), preds),
        Column::new("grove".into(), vec![grove; n]),
    ];
    if let Some(s) = setting {
        cols.push(Column::new("feat".into(), vec![s.feat; n]));
        cols.push(Column::new("samp".into(), vec![s.samp; n]));
    }
    DataFrame::new(n, cols)
}

/// Mean squared error.
pub fn mse(pred: &[f64], actual: &[f64]) -> f64 {
    if pred.is_empty() {
        return f64::NAN;
    }
    pred.iter()
        .zip(actual)
        .map(|(p, a)| (p - a) * (p - a))
        .sum::<f64>()
        / pred.len() as f64
}
