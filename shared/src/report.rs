//! What a run produced, gathered from the store at any time (during the run too): per stock the
//! winning setting and its scores, per stage the timing views and costs, and what failed.

use polars::prelude::*;
use serde::Serialize;

use crate::events::{RunSpec, Stage};
use crate::ids::{RunId, Symbol};
use crate::layout;
use crate::stages::common::{read_manifest, read_table, Result, StageError};
use crate::stages::parent::{read_stage_log, StageLog, RUN_STAGES};
use crate::stages::pred_mses::{read_scores, SettingScore};
use crate::stages::timing_metrics::{read_timings, summarise, StageCost, ViewRow};
use crate::store::Store;

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

async fn stock_row(store: &dyn Store, run: &RunId, stock: &Symbol) -> Result<StockRow> {
    let mut row = StockRow {
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
        status: "not started".into(),
    };
    let exists = |key: String| async move { store.head(&key).await.map(|m| m.is_some()) };
    if exists(layout::processing_stats_key(run, stock)).await? {
        row.status = "processed".into();
    }
    match read_scores(store, run, stock).await {
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
        }
        Err(StageError::Missing { .. }) => {
            if let Ok(best) = crate::stages::min_mse::read_best(store, run, stock).await {
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

/// Gathers the report of `run`.
pub async fn load(store: &dyn Store, run: &RunId) -> Result<RunReport> {
    let spec = read_manifest(store, run).await?;
    let mut stocks = Vec::new();
    for s in &spec.stocks {
        stocks.push(stock_row(store, run, s).await?);
    }
    let mut stages = Vec::new();
    for &stage in RUN_STAGES {
        stages.extend(read_stage_log(store, run, stage).await);
    }
    let timing_final = stages
        .iter()
        .any(|l| l.stage == Stage::TimingMetrics && l.finished_ms.is_some() && l.failed.is_empty());
    // The timing-metrics tables hold the same figures; summing the records again is cheap and
    // also works while the run is going on.
    let records = read_timings(store, run).await?;
    let metrics = summarise(run, &records, spec.memory_mb);
    Ok(RunReport {
        spec,
        stocks,
        views: metrics.views,
        costs: metrics.costs,
        stages,
        timing_final,
        prices: metrics.prices,
    })
}
