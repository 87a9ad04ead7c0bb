//! test-full: averages the final groves' test predictions; the test MSE beside the naive
//! forecast's ("next minute = this minute") and their ratio, the forest's skill.

use groves_core::events::StockEvent;
use groves_core::features::{Target, DATE, ROW, TYPPRICE};
use groves_core::layout::{self, Split};
use groves_core::stage::Stage;
use groves_store::Store;
use polars_core::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::Result;
use crate::min_mse::read_best;
use crate::predictions::{average, mse, sum_groves};
use crate::tables::{f64_column, read_manifest, split_target, table_err, write_table};
use crate::unit::{run_in_bucket, UnitContext};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub stock: String,
    pub feat: u32,
    pub samp: u32,
    pub validation_mse: f64,
    pub groves_planned: u32,
    pub groves_found: u32,
    pub missing: Vec<u32>,
    /// None when groves are missing and the run does not allow that.
    pub test_mse: Option<f64>,
    pub naive_mse: f64,
    /// test MSE / naive MSE: below 1 the forest beats "next minute = this minute".
    pub skill_ratio: Option<f64>,
    pub rows_test: usize,
    pub target: Target,
    pub horizon: u32,
}

/// The unit of work, as its Lambda function and the in-process pool run it.
pub async fn handle(ctx: &UnitContext, e: &StockEvent) -> Result<Value> {
    run_in_bucket(
        ctx,
        &e.bucket,
        &e.run,
        Stage::TestFull,
        e.unit(),
        |store| async move { test_full(store.as_ref(), e).await },
    )
    .await
}

/// Averages the final groves' test predictions and scores them beside the naive forecast.
pub async fn test_full(store: &dyn Store, e: &StockEvent) -> Result<TestResult> {
    let mut clock = Clock::start(e.invoked_at);
    let spec = read_manifest(store, &e.run).await?;
    let best = read_best(store, &e.run, &e.stock).await?;
    let (df, y, rows) = split_target(store, &e.run, &e.stock, Split::Test).await?;
    let split_key = layout::features_key(&e.run, Split::Test, &e.stock);
    let naive = f64_column(&df, &split_key, TYPPRICE)?;
    clock.read_done();

    let keys = (0..spec.final_groves).map(|g| (g, layout::test_preds_key(&e.run, &e.stock, g)));
    let (mut sum, found, missing) = sum_groves(store, keys, &rows).await?;
    let usable = found > 0 && (missing.is_empty() || spec.allow_missing);
    let naive_mse = mse(&naive, &y);
    let test_mse = usable.then(|| {
        average(&mut sum, found);
        mse(&sum, &y)
    });
    let result = TestResult {
        stock: e.stock.to_string(),
        feat: best.feat,
        samp: best.samp,
        validation_mse: best.mse,
        groves_planned: spec.final_groves,
        groves_found: found,
        missing,
        test_mse,
        naive_mse,
        skill_ratio: test_mse.map(|m| m / naive_mse),
        rows_test: y.len(),
        target: spec.target(),
        horizon: spec.horizon,
    };
    clock.compute_done();

    let key = layout::test_mse_key(&e.run, &e.stock);
    write_table(store, &key, result_frame(&result).map_err(table_err(&key))?).await?;
    if usable {
        let key = layout::test_forecast_key(&e.run, &e.stock);
        let date = df.column(DATE).map_err(table_err(&key))?.clone();
        let forecast = DataFrame::new(
            rows.len(),
            vec![
                Column::new(ROW.into(), rows),
                date,
                Column::new("actual".into(), y),
                Column::new("naive".into(), naive),
                Column::new("predicted".into(), sum),
            ],
        )
        .map_err(table_err(&key))?;
        write_table(store, &key, forecast).await?;
    }
    clock.write_done();
    clock
        .record(store, &e.run, Stage::TestFull, &e.unit(), 1)
        .await?;
    Ok(result)
}

fn result_frame(r: &TestResult) -> PolarsResult<DataFrame> {
    let missing: Vec<String> = r.missing.iter().map(|g| format!("g{g}")).collect();
    DataFrame::new(
        1,
        vec![
            Column::new("stock".into(), [r.stock.as_str()]),
            Column::new("feat".into(), [r.feat]),
            Column::new("samp".into(), [r.samp]),
            Column::new("validation_mse".into(), [r.validation_mse]),
            Column::new("test_mse".into(), [r.test_mse]),
            Column::new("naive_mse".into(), [r.naive_mse]),
            Column::new("skill_ratio".into(), [r.skill_ratio]),
            Column::new("groves_planned".into(), [r.groves_planned]),
            Column::new("groves_found".into(), [r.groves_found]),
            Column::new("missing".into(), [missing.join(" ")]),
            Column::new("rows_test".into(), [r.rows_test as u64]),
            Column::new("target".into(), [r.target.as_str()]),
            Column::new("horizon".into(), [r.horizon]),
        ],
    )
}
