//! groves' report: what a run produced, gathered from the store at any time (during the run
//! too) — per stock the winning setting and its scores, per stage the timing views and costs,
//! and what failed. [`html`] renders it as the one-file HTML report.

pub mod html;

use groves_core::features::DATE;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::{RunSpec, SearchMethod};
use groves_core::stage::{Stage, RUN_STAGES};
use groves_core::timing::TimingRecord;
use groves_live::status::{live_view, LiveView};
use groves_orchestrator::parent::{read_stage_log, StageLog};
use groves_stages::error::{Result, StageError};
use groves_stages::min_mse::read_best;
use groves_stages::pred_mses::{read_scores, SettingScore};
use groves_stages::tables::{f64_column, read_manifest, read_table, table_err};
use groves_stages::timing_metrics::{
    read_gathered_timings, read_timings, summarise, StageCost, ViewRow,
};
use groves_store::Store;
use polars_core::prelude::*;
use serde::Serialize;

/// Test minutes shown in a stock's forecast chart: the last trading day's worth (375 bars).
pub const FORECAST_WINDOW: usize = 375;

/// A stock's raw file and what processing kept of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataFile {
    pub source_key: String,
    /// Size of the raw file, if it is still in the store.
    pub bytes: Option<u64>,
    pub rows_read: u64,
    pub rows_kept: u64,
    pub rows_train: u64,
    pub rows_validation: u64,
    pub rows_test: u64,
    /// First and last kept bar, India wall clock.
    pub first_bar: String,
    pub last_bar: String,
}

/// The last [`FORECAST_WINDOW`] minutes of a stock's test forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastWindow {
    /// Rows of the whole test forecast (the window is its end).
    pub rows_total: usize,
    /// Bar times, India wall clock as Unix-epoch milliseconds.
    pub date_ms: Vec<i64>,
    pub actual: Vec<f64>,
    pub naive: Vec<f64>,
    pub predicted: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockRow {
    pub stock: String,
    /// Every setting's validation score (empty before pred-mses).
    pub settings: Vec<SettingScore>,
    pub feat: Option<u32>,
    pub samp: Option<u32>,
    pub validation_mse: Option<f64>,
    pub test_mse: Option<f64>,
    pub naive_mse: Option<f64>,
    pub skill_ratio: Option<f64>,
    pub rows_test: Option<u64>,
    /// Final groves missing from the test MSE (when the run allowed it).
    pub missing_final: String,
    /// `done`, or the last stage the stock got through.
    pub status: String,
    /// None before processing.
    pub data: Option<DataFile>,
    /// None until test-full has averaged every final grove (or the run allowed missing ones).
    pub forecast: Option<ForecastWindow>,
    /// The stock's live forecasts (whichever model made them), if any has been realised.
    pub live: Option<LiveView>,
}

impl StockRow {
    /// A row with nothing known yet but its status.
    pub fn new(stock: &str, status: &str) -> StockRow {
        StockRow {
            stock: stock.to_string(),
            settings: Vec::new(),
            feat: None,
            samp: None,
            validation_mse: None,
            test_mse: None,
            naive_mse: None,
            skill_ratio: None,
            rows_test: None,
            missing_final: String::new(),
            status: status.to_string(),
            data: None,
            forecast: None,
            live: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub spec: RunSpec,
    pub stocks: Vec<StockRow>,
    pub views: Vec<ViewRow>,
    pub costs: Vec<StageCost>,
    pub stages: Vec<StageLog>,
    /// True when the timing figures come from the timing-metrics tables (the run finished),
    /// false when they were summed from the timing records found so far.
    pub timing_final: bool,
    pub prices: &'static str,
    /// Every timing record (one per unit that finished), in order of invocation.
    pub invocations: Vec<TimingRecord>,
}

fn scalar<'a>(df: &'a DataFrame, key: &str, name: &str) -> Result<Option<AnyValue<'a>>> {
    let col = df.column(name).map_err(|source| StageError::Table {
        key: key.to_string(),
        source,
    })?;
    Ok(col.get(0).ok().filter(|v| !v.is_null()))
}

fn f64_of(v: Option<AnyValue<'_>>) -> Option<f64> {
    v.and_then(|v| v.extract::<f64>())
}

fn u32_of(v: Option<AnyValue<'_>>) -> Option<u32> {
    v.and_then(|v| v.extract::<u32>())
}

/// The most recently started run in the store.
pub async fn latest_run(store: &dyn Store) -> Result<Option<RunId>> {
    let mut best: Option<(std::time::SystemTime, String)> = None;
    for m in store.list(layout::RUNS_PREFIX).await? {
        if !m.key.ends_with("/run.json") {
            continue;
        }
        let t = m.last_modified.unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(bt, _)| t > *bt) {
            best = Some((t, m.key.clone()));
        }
    }
    Ok(best.and_then(|(_, key)| {
        let id = key
            .strip_prefix(layout::RUNS_PREFIX)?
            .strip_prefix("run=")?
            .strip_suffix("/run.json")?
            .to_string();
        RunId::new(id).ok()
    }))
}

async fn stock_row(
    store: &dyn Store,
    run: &RunId,
    spec: &RunSpec,
    stock: &Symbol,
) -> Result<StockRow> {
    let mut row = StockRow::new(stock.as_str(), "not started");
    row.data = data_file(store, run, stock).await?;
    row.live = live_view(store, stock).await.map_err(|e| match e {
        groves_live::LiveError::Store(e) => StageError::Store(e),
        other => StageError::Invalid(format!("the live figures of {stock}: {other}")),
    })?;
    if row.data.is_some() {
        row.status = "processed".into();
    }
    match read_scores(store, run, spec, stock).await {
        Ok(s) => {
            row.settings = s;
            row.status = "scored".into();
        }
        Err(StageError::Missing { .. }) => {}
        Err(e) => return Err(e),
    }
    let key = layout::test_mse_key(run, stock);
    let what = format!("the test result of {stock}");
    match read_table(store, &key, &what, "run test-full for this stock first").await {
        Ok(df) => {
            row.feat = u32_of(scalar(&df, &key, "feat")?);
            row.samp = u32_of(scalar(&df, &key, "samp")?);
            row.validation_mse = f64_of(scalar(&df, &key, "validation_mse")?);
            row.test_mse = f64_of(scalar(&df, &key, "test_mse")?);
            row.naive_mse = f64_of(scalar(&df, &key, "naive_mse")?);
            row.skill_ratio = f64_of(scalar(&df, &key, "skill_ratio")?);
            row.rows_test = scalar(&df, &key, "rows_test")?.and_then(|v| v.extract::<u64>());
            row.missing_final = scalar(&df, &key, "missing")?
                .and_then(|v| v.get_str().map(str::to_string))
                .unwrap_or_default();
            row.status = if row.test_mse.is_some() {
                "done".into()
            } else {
                "final groves missing".into()
            };
            row.forecast = forecast(store, run, stock).await?;
        }
        Err(StageError::Missing { .. }) => {
            if let Ok(best) = read_best(store, run, stock).await {
                row.feat = Some(best.feat);
                row.samp = Some(best.samp);
                row.validation_mse = Some(best.mse);
                row.status = "best setting chosen".into();
            }
        }
        Err(e) => return Err(e),
    }
    Ok(row)
}

fn u64_of(v: Option<AnyValue<'_>>) -> u64 {
    v.and_then(|v| v.extract::<u64>()).unwrap_or(0)
}

fn str_of(v: Option<AnyValue<'_>>) -> String {
    v.and_then(|v| v.get_str().map(str::to_string))
        .unwrap_or_default()
}

/// The processing record of `stock`, if it was processed.
async fn data_file(store: &dyn Store, run: &RunId, stock: &Symbol) -> Result<Option<DataFile>> {
    let key = layout::processing_stats_key(run, stock);
    let df = match read_table(store, &key, "the processing record", "run processing first").await {
        Ok(df) => df,
        Err(StageError::Missing { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let source_key = str_of(scalar(&df, &key, "source_key")?);
    let bytes = store.head(&source_key).await?.map(|m| m.size);
    Ok(Some(DataFile {
        bytes,
        rows_read: u64_of(scalar(&df, &key, "rows_read")?),
        rows_kept: u64_of(scalar(&df, &key, "rows_kept")?),
        rows_train: u64_of(scalar(&df, &key, "rows_train")?),
        rows_validation: u64_of(scalar(&df, &key, "rows_validation")?),
        rows_test: u64_of(scalar(&df, &key, "rows_test")?),
        first_bar: str_of(scalar(&df, &key, "first_bar")?),
        last_bar: str_of(scalar(&df, &key, "last_bar")?),
        source_key,
    }))
}

/// The end of `stock`'s test forecast, if test-full wrote one.
async fn forecast(
    store: &dyn Store,
    run: &RunId,
    stock: &Symbol,
) -> Result<Option<ForecastWindow>> {
    let key = layout::test_forecast_key(run, stock);
    let df = match read_table(store, &key, "the test forecast", "run test-full first").await {
        Ok(df) => df,
        Err(StageError::Missing { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let n = df.height();
    let tail = df.slice(n.saturating_sub(FORECAST_WINDOW) as i64, FORECAST_WINDOW);
    let date_ms = tail
        .column(DATE)
        .and_then(|c| c.cast(&DataType::Int64))
        .map_err(table_err(&key))?
        .i64()
        .map_err(table_err(&key))?
        .iter()
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| StageError::Column {
            key: key.clone(),
            column: DATE.into(),
            problem: "empty cell (every forecast minute has a time)".into(),
        })?;
    Ok(Some(ForecastWindow {
        rows_total: n,
        date_ms,
        actual: f64_column(&tail, &key, "actual")?,
        naive: f64_column(&tail, &key, "naive")?,
        predicted: f64_column(&tail, &key, "predicted")?,
    }))
}

/// Renders the HTML report of `run` and writes it to [`layout::report_key`]; returns the key.
pub async fn write_html(store: &dyn Store, run: &RunId) -> Result<String> {
    let report = load(store, run).await?;
    let key = layout::report_key(run);
    store
        .put(&key, bytes::Bytes::from(html::render(&report)))
        .await?;
    Ok(key)
}

/// Gathers the report of `run`.
pub async fn load(store: &dyn Store, run: &RunId) -> Result<RunReport> {
    let spec = read_manifest(store, run).await?;
    let mut stocks = Vec::new();
    for s in &spec.stocks {
        stocks.push(stock_row(store, run, &spec, s).await?);
    }
    let mut stages = Vec::new();
    let halving = spec.search == SearchMethod::Halving;
    for &stage in RUN_STAGES {
        match stage {
            // A halving search's rounds: each round's param-preds, then its pred-mses.
            Stage::ParamPreds if halving => {
                for r in 0..spec.rounds().len() as u32 {
                    for st in [Stage::ParamPreds, Stage::PredMses] {
                        stages.extend(read_stage_log(store, run, st, Some(r)).await);
                    }
                }
            }
            Stage::PredMses if halving => {}
            _ => stages.extend(read_stage_log(store, run, stage, None).await),
        }
    }
    let timing_final = stages
        .iter()
        .any(|l| l.stage == Stage::TimingMetrics && l.finished_ms.is_some() && l.failed.is_empty());
    // The timing-metrics tables hold the same figures; summing the records again is cheap and
    // also works while the run is going on. Once the run is through timing-metrics, its
    // gathered table spares a GET per unit (thousands on S3).
    let mut records = match timing_final {
        true => match read_gathered_timings(store, run).await? {
            Some(r) => r,
            None => read_timings(store, run).await?,
        },
        false => read_timings(store, run).await?,
    };
    // Listing order is the store's; the report's is the run's.
    records.sort_by(|a, b| {
        (a.first_ms(), a.started_ms, &a.stage, &a.unit).cmp(&(
            b.first_ms(),
            b.started_ms,
            &b.stage,
            &b.unit,
        ))
    });
    let mut metrics = summarise(run, &records, spec.memory_mb);
    groves_stages::timing_metrics::bill_parent(
        &mut metrics,
        &groves_stages::timing_metrics::read_parent_invocations(store, run).await?,
    );
    Ok(RunReport {
        spec,
        stocks,
        views: metrics.views,
        costs: metrics.costs,
        stages,
        timing_final,
        prices: metrics.prices,
        invocations: records,
    })
}
