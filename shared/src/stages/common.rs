//! What the search stages share: their error type, reading the processed splits and the run
//! manifest, and writing tables and timing records.

use std::time::Instant;

use bytes::Bytes;
use polars::prelude::*;

use crate::events::RunSpec;
use crate::features::{self, ROW, TARGET};
use crate::forest::{ForestError, Matrix};
use crate::ids::{RunId, Symbol};
use crate::layout::{self, Split, Unit};
use crate::store::{Store, StoreError};
use crate::table::{from_parquet, to_parquet};
use crate::timing::{self, ms_since, TimingRecord};

/// Why a stage failed. Each names the stock, the object or the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Processing(#[from] super::processing::ProcessingError),
    #[error("{key}: {source}")]
    Table {
        key: String,
        #[source]
        source: PolarsError,
    },
    #[error("{key}: column `{column}`: {problem}")]
    Column {
        key: String,
        column: String,
        problem: String,
    },
    #[error("{stock}: {source}")]
    Forest {
        stock: String,
        #[source]
        source: ForestError,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{what} is missing: {key} does not exist ({hint})")]
    Missing {
        what: String,
        key: String,
        hint: &'static str,
    },
    #[error("{stage} {unit}: injected failure (GROVES_FAULT)")]
    Injected { stage: String, unit: String },
    #[error("{stage}: {message}")]
    Parent { stage: String, message: String },
}

pub type Result<T, E = StageError> = std::result::Result<T, E>;

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
    pub y: Vec<f64>,
    pub rows: Vec<u32>,
}

/// Reads `splits` of `stock` (concatenated in the given order) as the feature matrix, the target
/// and the row numbers.
pub async fn load_xy(
    store: &dyn Store,
    run: &RunId,
    stock: &Symbol,
    splits: &[Split],
) -> Result<Xy> {
    let names = features::feature_names();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let (mut y, mut rows) = (Vec::new(), Vec::new());
    for split in splits {
        let (key, df) = read_split(store, run, stock, *split).await?;
        for (col, name) in columns.iter_mut().zip(&names) {
            col.extend(f64_column(&df, &key, name)?);
        }
        y.extend(f64_column(&df, &key, TARGET)?);
        rows.extend(row_column(&df, &key)?);
    }
    let x = Matrix::from_columns(names, columns).map_err(|source| StageError::Forest {
        stock: stock.to_string(),
        source,
    })?;
    Ok(Xy { x, y, rows })
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

/// Runs CPU-bound work off the async workers; a panic in it is re-raised here.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

/// Measures one unit's phases and writes its timing record.
pub struct Clock {
    pub started_ms: i64,
    pub invoked_at: Option<i64>,
    phase: Instant,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
}

impl Clock {
    pub fn start(invoked_at: Option<i64>) -> Clock {
        Clock {
            started_ms: timing::now_ms(),
            invoked_at,
            phase: Instant::now(),
            read_ms: 0.0,
            compute_ms: 0.0,
            write_ms: 0.0,
        }
    }
    pub fn read_done(&mut self) {
        self.read_ms += ms_since(self.phase);
        self.phase = Instant::now();
    }
    pub fn compute_done(&mut self) {
        self.compute_ms += ms_since(self.phase);
        self.phase = Instant::now();
    }
    pub fn write_done(&mut self) {
        self.write_ms += ms_since(self.phase);
        self.phase = Instant::now();
    }

    /// Writes the timing record of `unit` (after the unit's results, so it measures them).
    pub async fn record(
        &mut self,
        store: &dyn Store,
        run: &RunId,
        stage: &str,
        unit: &Unit,
        threads: usize,
    ) -> Result<()> {
        let record = TimingRecord {
            run: run.to_string(),
            stage: stage.into(),
            unit: unit.to_string(),
            stock: unit.stock().map(|s| s.to_string()),
            invoked_ms: self.invoked_at,
            started_ms: self.started_ms,
            finished_ms: timing::now_ms(),
            read_ms: self.read_ms,
            compute_ms: self.compute_ms,
            write_ms: self.write_ms,
            executor: timing::executor().into(),
            memory_mb: timing::lambda_memory_mb(),
            threads: threads as u32,
            cold_start: timing::cold_start(),
        };
        let key = layout::timing_key(run, stage, unit);
        let df = record.to_frame().map_err(table_err(&key))?;
        write_table(store, &key, df).await
    }
}
