//! pred-mses: per setting, averages the search groves' validation predictions and scores them.
//!
//! Knows from the run's manifest how many groves each setting should have, so a missing grove is
//! named, never silently averaged away: without `allow_missing` an incomplete setting gets no MSE.

use polars::prelude::*;
use serde::Serialize;

use super::common::{
    f64_column, read_manifest, read_split, read_table, row_column, table_err, write_table, Clock,
    Result, StageError,
};
use super::param_preds::mse;
use crate::events::{RunSpec, StockEvent};
use crate::features::TARGET;
use crate::ids::{RunId, Symbol};
use crate::layout::{self, Setting, Split, Unit};
use crate::store::{Store, StoreError};

pub const STAGE: &str = "pred-mses";

/// One setting's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingScore {
    pub feat: u32,
    pub samp: u32,
    pub groves_planned: u32,
    pub groves_found: u32,
    /// Grove numbers with no predictions.
    pub missing: Vec<u32>,
    /// Validation MSE of the averaged groves; None when no grove exists, or when some are
    /// missing and the run does not allow that.
    pub mse: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PredMsesReport {
    pub stock: String,
    pub rows_validation: usize,
    pub settings: Vec<SettingScore>,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
}

impl PredMsesReport {
    pub fn incomplete(&self) -> impl Iterator<Item = &SettingScore> {
        self.settings.iter().filter(|s| !s.missing.is_empty())
    }
}

/// The settings of the grid, in the order of the manifest (feat outer, samp inner).
pub fn grid(spec: &RunSpec) -> Vec<Setting> {
    spec.feat
        .iter()
        .flat_map(|&feat| spec.samp.iter().map(move |&samp| Setting { feat, samp }))
        .collect()
}

/// Reads one grove's predictions, checking they cover exactly `rows` in order. None if absent.
pub async fn read_grove_preds(
    store: &dyn Store,
    key: &str,
    rows: &[u32],
) -> Result<Option<Vec<f64>>> {
    let bytes = match store.get(key).await {
        Ok(b) => b,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let df = crate::table::from_parquet(&bytes).map_err(table_err(key))?;
    if row_column(&df, key)? != rows {
        return Err(StageError::Invalid(format!(
            "{key}: its rows are not those of the split it predicts (was the stock processed again after this grove ran?)"
        )));
    }
    Ok(Some(f64_column(&df, key, "pred")?))
}

/// The target and row numbers of one split.
pub async fn split_target(
    store: &dyn Store,
    run: &RunId,
    stock: &Symbol,
    split: Split,
) -> Result<(DataFrame, Vec<f64>, Vec<u32>)> {
    let (key, df) = read_split(store, run, stock, split).await?;
    let y = f64_column(&df, &key, TARGET)?;
    let rows = row_column(&df, &key)?;
    Ok((df, y, rows))
}

/// Sums the predictions of the groves stored under `keys` (in order), checking each covers
/// `rows`. Returns the sum, how many groves were found and the indices of the missing ones.
pub async fn sum_groves(
    store: &dyn Store,
    keys: impl Iterator<Item = (u32, String)>,
    rows: &[u32],
) -> Result<(Vec<f64>, u32, Vec<u32>)> {
    let mut sum = vec![0.0; rows.len()];
    let (mut found, mut missing) = (0, Vec::new());
    for (g, key) in keys {
        match read_grove_preds(store, &key, rows).await? {
            Some(p) => {
                found += 1;
                for (s, v) in sum.iter_mut().zip(p) {
                    *s += v;
                }
            }
            None => missing.push(g),
        }
    }
    Ok((sum, found, missing))
}

/// Averages groves' predictions in grove order (sum, then one division: the same result
/// whatever the order the groves finished in).
pub fn average(sum: &mut [f64], count: u32) {
    let n = count as f64;
    for v in sum {
        *v /= n;
    }
}

pub async fn pred_mses(store: &dyn Store, e: &StockEvent) -> Result<PredMsesReport> {
    let mut clock = Clock::start(e.invoked_at);
    let spec = read_manifest(store, &e.run).await?;
    let (_, y, rows) = split_target(store, &e.run, &e.stock, Split::Validation).await?;
    let mut settings = Vec::new();
    for setting in grid(&spec) {
        let keys =
            (0..spec.groves).map(|g| (g, layout::val_preds_key(&e.run, &e.stock, setting, g)));
        let (mut sum, found, missing) = sum_groves(store, keys, &rows).await?;
        let usable = found > 0 && (missing.is_empty() || spec.allow_missing);
        let mse = usable.then(|| {
            average(&mut sum, found);
            mse(&sum, &y)
        });
        settings.push(SettingScore {
            feat: setting.feat,
            samp: setting.samp,
            groves_planned: spec.groves,
            groves_found: found,
            missing,
            mse,
        });
    }
    // Reading and averaging interleave; count it all as compute after the split was read.
    clock.compute_done();

    let key = layout::pred_mses_key(&e.run, &e.stock);
    let df = scores_frame(&e.stock, y.len(), &settings).map_err(table_err(&key))?;
    write_table(store, &key, df).await?;
    clock.write_done();
    clock
        .record(store, &e.run, STAGE, &Unit::Stock(e.stock.clone()), 1)
        .await?;
    Ok(PredMsesReport {
        stock: e.stock.to_string(),
        rows_validation: y.len(),
        settings,
        read_ms: clock.read_ms,
        compute_ms: clock.compute_ms,
        write_ms: clock.write_ms,
    })
}

fn join_groves(g: &[u32]) -> String {
    g.iter()
        .map(|g| format!("g{g}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn scores_frame(stock: &Symbol, rows: usize, s: &[SettingScore]) -> PolarsResult<DataFrame> {
    let n = s.len();
    DataFrame::new(
        n,
        vec![
            Column::new("stock".into(), vec![stock.as_str(); n]),
            Column::new("feat".into(), s.iter().map(|x| x.feat).collect::<Vec<_>>()),
            Column::new("samp".into(), s.iter().map(|x| x.samp).collect::<Vec<_>>()),
            Column::new("mse".into(), s.iter().map(|x| x.mse).collect::<Vec<_>>()),
            Column::new(
                "groves_planned".into(),
                s.iter().map(|x| x.groves_planned).collect::<Vec<_>>(),
            ),
            Column::new(
                "groves_found".into(),
                s.iter().map(|x| x.groves_found).collect::<Vec<_>>(),
            ),
            Column::new(
                "missing".into(),
                s.iter()
                    .map(|x| join_groves(&x.missing))
                    .collect::<Vec<_>>(),
            ),
            Column::new("rows_validation".into(), vec![rows as u64; n]),
        ],
    )
}

/// Reads a stock's pred-mses table back.
pub async fn read_scores(
    store: &dyn Store,
    run: &RunId,
    stock: &Symbol,
) -> Result<Vec<SettingScore>> {
    let key = layout::pred_mses_key(run, stock);
    let df = read_table(
        store,
        &key,
        &format!("the validation MSEs of {stock}"),
        "run pred-mses for this stock first",
    )
    .await?;
    let col = |name: &str| {
        df.column(name)
            .and_then(|c| c.cast(&DataType::UInt32))
            .map_err(table_err(&key))
    };
    let (feat, samp, planned, found) = (
        col("feat")?,
        col("samp")?,
        col("groves_planned")?,
        col("groves_found")?,
    );
    let mse = df
        .column("mse")
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(table_err(&key))?;
    let missing = df.column("missing").map_err(table_err(&key))?;
    let (feat, samp, planned, found, mse, missing) = (
        feat.u32().map_err(table_err(&key))?,
        samp.u32().map_err(table_err(&key))?,
        planned.u32().map_err(table_err(&key))?,
        found.u32().map_err(table_err(&key))?,
        mse.f64().map_err(table_err(&key))?,
        missing.str().map_err(table_err(&key))?,
    );
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let bad = || StageError::Invalid(format!("{key}: row {i} has an empty cell"));
        out.push(SettingScore {
            feat: feat.get(i).ok_or_else(bad)?,
            samp: samp.get(i).ok_or_else(bad)?,
            groves_planned: planned.get(i).ok_or_else(bad)?,
            groves_found: found.get(i).ok_or_else(bad)?,
            missing: missing
                .get(i)
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|g| g.strip_prefix('g').and_then(|n| n.parse().ok()))
                .collect(),
            mse: mse.get(i),
        });
    }
    Ok(out)
}
