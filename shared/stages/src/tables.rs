//! Reading and writing what the stages share: Parquet tables, the processed splits as a
//! feature matrix, the run's manifest.

use bytes::Bytes;
use forest::Matrix;
use groves_core::features::{self, Target, N_LAGS, ROW, TARGET, TYPPRICE};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Split};
use groves_core::spec::RunSpec;
use groves_data::table::{from_parquet, to_parquet};
use groves_store::{Store, StoreError};
use polars_core::prelude::*;

use crate::error::{Result, StageError};

/// Reads a Parquet object; a missing object is a [`StageError::Missing`] naming `what`.
pub async fn read_table(
    store: &dyn Store,
    key: &str,
    what: &str,
    hint: &'static str,
) -> Result<DataFrame> {
    let bytes = match store.get(key).await {
        Ok(b) => b,
        Err(StoreError::NotFound { .. }) => {
            return Err(StageError::Missing {
                what: what.to_string(),
                key: key.to_string(),
                hint,
            })
        }
        Err(e) => return Err(e.into()),
    };
    from_parquet(&bytes).map_err(|source| StageError::Table {
        key: key.to_string(),
        source,
    })
}

/// Encodes and writes a table.
pub async fn write_table(store: &dyn Store, key: &str, df: DataFrame) -> Result<()> {
    let bytes = to_parquet(&df).map_err(|source| StageError::Table {
        key: key.to_string(),
        source,
    })?;
    store.put(key, Bytes::from(bytes)).await?;
    Ok(())
}

/// A building error of a table about to be written under `key`.
pub fn table_err(key: &str) -> impl Fn(PolarsError) -> StageError + '_ {
    move |source| StageError::Table {
        key: key.to_string(),
        source,
    }
}

/// The values of a numeric column as `f64`, refusing nulls and NaN (a processed split has none).
pub fn f64_column(df: &DataFrame, key: &str, name: &str) -> Result<Vec<f64>> {
    let col_err = |problem: String| StageError::Column {
        key: key.to_string(),
        column: name.to_string(),
        problem,
    };
    let col = df
        .column(name)
        .map_err(|_| col_err("not in the table".into()))?;
    let cast = col
        .cast(&DataType::Float64)
        .map_err(|e| col_err(format!("not numeric: {e}")))?;
    let ca = cast
        .f64()
        .map_err(|e| col_err(format!("not numeric: {e}")))?;
    let mut out = Vec::with_capacity(ca.len());
    for (i, v) in ca.iter().enumerate() {
        match v {
            Some(x) if x.is_finite() => out.push(x),
            _ => return Err(col_err(format!("row {i} is empty or not finite"))),
        }
    }
    Ok(out)
}

/// The `row` column (position in the processed series).
pub fn row_column(df: &DataFrame, key: &str) -> Result<Vec<u32>> {
    let col_err = |problem: String| StageError::Column {
        key: key.to_string(),
        column: ROW.to_string(),
        problem,
    };
    let col = df
        .column(ROW)
        .map_err(|_| col_err("not in the table".into()))?;
    let cast = col
        .cast(&DataType::UInt32)
        .map_err(|e| col_err(e.to_string()))?;
    let ca = cast.u32().map_err(|e| col_err(e.to_string()))?;
    ca.iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| col_err(format!("row {i} is empty"))))
        .collect()
}

/// One split of a stock's processed table, and its key.
pub async fn read_split(
    store: &dyn Store,
    run: &RunId,
    stock: &Symbol,
    split: Split,
) -> Result<(String, DataFrame)> {
    let key = layout::features_key(run, split, stock);
    let df = read_table(
        store,
        &key,
        &format!("the {split} split of {stock}"),
        "run processing for this stock and run first",
    )
    .await?;
    Ok((key, df))
}

/// One or more splits of a stock, ready to train on or predict.
pub struct Xy {
    pub x: Matrix,
    /// What the forest learns ([`Target::learnt`]).
    pub y: Vec<f64>,
    /// The level to forecast (`TYPPRICE_TARGET`).
    pub level: Vec<f64>,
    /// `TYPPRICE` now: the naive forecast, and the base a predicted change is added to.
    pub typprice: Vec<f64>,
    pub rows: Vec<u32>,
}

impl Xy {
    /// The level forecasts from the forest's predictions on these rows.
    pub fn to_level(&self, target: Target, predicted: &mut [f64]) {
        for (p, &now) in predicted.iter_mut().zip(&self.typprice) {
            *p = target.level(*p, now);
        }
    }
}

/// The extra feature columns of a processed split: those that are neither the fixed columns
/// nor the target, in table order.
pub fn extra_feature_columns(df: &DataFrame) -> Vec<String> {
    let fixed: Vec<String> = [ROW, features::DATE, TARGET]
        .iter()
        .chain(features::CALENDAR.iter())
        .map(|s| s.to_string())
        .chain(features::feature_names())
        .collect();
    df.get_column_names()
        .into_iter()
        .map(|n| n.to_string())
        .filter(|n| !fixed.contains(n))
        .collect()
}

/// Reads `splits` of `stock` (concatenated in the given order) as the feature matrix of
/// `target`, what it learns, the level and the row numbers.
pub async fn load_xy(
    store: &dyn Store,
    run: &RunId,
    stock: &Symbol,
    splits: &[Split],
    target: Target,
) -> Result<Xy> {
    let mut extras: Option<Vec<String>> = None;
    let mut prices: Vec<Vec<f64>> = vec![Vec::new(); N_LAGS + 1];
    let mut extra_columns: Vec<Vec<f64>> = Vec::new();
    let (mut level, mut rows) = (Vec::new(), Vec::new());
    for split in splits {
        let (key, df) = read_split(store, run, stock, *split).await?;
        let names = extra_feature_columns(&df);
        match &extras {
            None => {
                extra_columns = vec![Vec::new(); names.len()];
                extras = Some(names);
            }
            Some(first) if *first != names => {
                return Err(StageError::Invalid(format!(
                    "{key}: extra feature columns {names:?} differ from the other splits' {first:?}"
                )))
            }
            Some(_) => {}
        }
        for (k, col) in prices.iter_mut().enumerate() {
            let name = if k == 0 {
                TYPPRICE.to_string()
            } else {
                features::lag_name(k)
            };
            col.extend(f64_column(&df, &key, &name)?);
        }
        for (col, name) in extra_columns.iter_mut().zip(extras.iter().flatten()) {
            col.extend(f64_column(&df, &key, name)?);
        }
        level.extend(f64_column(&df, &key, TARGET)?);
        rows.extend(row_column(&df, &key)?);
    }
    let extras = extras.unwrap_or_default();
    let typprice = prices[0].clone();
    let base: Vec<Vec<f64>> = match target {
        Target::Level => prices,
        // The same subtraction as `features::base_row`, which serving uses.
        Target::Change => (1..=N_LAGS)
            .map(|k| {
                prices[0]
                    .iter()
                    .zip(&prices[k])
                    .map(|(now, lag)| now - lag)
                    .collect()
            })
            .collect(),
    };
    let names = features::model_inputs(target, &extras);
    let columns = base.into_iter().chain(extra_columns).collect();
    let x = Matrix::from_columns(names, columns).map_err(|source| StageError::Forest {
        stock: stock.to_string(),
        source,
    })?;
    let y = level
        .iter()
        .zip(&typprice)
        .map(|(&l, &now)| target.learnt(l, now))
        .collect();
    Ok(Xy {
        x,
        y,
        level,
        typprice,
        rows,
    })
}

/// Reads the run's manifest.
pub async fn read_manifest(store: &dyn Store, run: &RunId) -> Result<RunSpec> {
    let key = layout::run_manifest_key(run);
    let bytes = match store.get(&key).await {
        Ok(b) => b,
        Err(StoreError::NotFound { .. }) => return Err(StageError::Missing {
            what: format!("the manifest of run {run}"),
            key,
            hint:
                "start the run with a whole-run parent event ({\"type\": \"run\"}) or `groves run`",
        }),
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&bytes).map_err(|e| StageError::Invalid(format!("{key}: {e}")))
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

/// Runs CPU-bound work off the async workers; a panic in it is re-raised here.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}
