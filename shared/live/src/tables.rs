//! The live tables as Parquet: `live_forecasts` (a forecast per settled minute) and
//! `live_outcomes` (its realised error beside the naive forecast's, written when the minute it
//! was for is settled). One small file per live object, compacted into one file per stock and
//! day once the day is two days behind the frontier.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_data::table::{datetime_ms_column, from_parquet, to_parquet};
use groves_store::Store;
use polars_core::prelude::*;

use crate::LiveError;

/// A forecast made at `minute_ms` for `horizon` rows ahead.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastRow {
    pub minute_ms: i64,
    pub price: f64,
    pub forecast: f64,
    pub horizon: u32,
    pub target: String,
    pub model_run: String,
}

/// The forecast made at `minute_ms`, realised at `realised_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRow {
    pub minute_ms: i64,
    pub realised_ms: i64,
    pub price: f64,
    pub actual: f64,
    pub forecast: f64,
    pub model_run: String,
}

impl OutcomeRow {
    pub fn error(&self) -> f64 {
        self.forecast - self.actual
    }

    /// The naive forecast (the price at the minute of the forecast) minus the actual.
    pub fn naive_error(&self) -> f64 {
        self.price - self.actual
    }
}

fn enc(what: &str, r: PolarsResult<Vec<u8>>) -> Result<Bytes, LiveError> {
    r.map(Bytes::from).map_err(|e| LiveError::Table {
        table: what.to_string(),
        message: e.to_string(),
    })
}

pub fn forecasts_parquet(rows: &[ForecastRow]) -> Result<Bytes, LiveError> {
    let df = DataFrame::new(
        rows.len(),
        vec![
            datetime_ms_column("minute", rows.iter().map(|r| r.minute_ms).collect()),
            Column::new(
                "price".into(),
                rows.iter().map(|r| r.price).collect::<Vec<_>>(),
            ),
            Column::new(
                "forecast".into(),
                rows.iter().map(|r| r.forecast).collect::<Vec<_>>(),
            ),
            // The naive forecast is the price now, written out so a query needs no knowledge of it.
            Column::new(
                "naive_forecast".into(),
                rows.iter().map(|r| r.price).collect::<Vec<_>>(),
            ),
            Column::new(
                "horizon".into(),
                rows.iter().map(|r| r.horizon as i32).collect::<Vec<_>>(),
            ),
            Column::new(
                "target".into(),
                rows.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "model_run".into(),
                rows.iter()
                    .map(|r| r.model_run.as_str())
                    .collect::<Vec<_>>(),
            ),
        ],
    );
    enc("live_forecasts", df.and_then(|df| to_parquet(&df)))
}

pub fn outcomes_parquet(rows: &[OutcomeRow]) -> Result<Bytes, LiveError> {
    let df = DataFrame::new(
        rows.len(),
        vec![
            datetime_ms_column("minute", rows.iter().map(|r| r.minute_ms).collect()),
            datetime_ms_column(
                "realised_minute",
                rows.iter().map(|r| r.realised_ms).collect(),
            ),
            Column::new(
                "price".into(),
                rows.iter().map(|r| r.price).collect::<Vec<_>>(),
            ),
            Column::new(
                "actual".into(),
                rows.iter().map(|r| r.actual).collect::<Vec<_>>(),
            ),
            Column::new(
                "forecast".into(),
                rows.iter().map(|r| r.forecast).collect::<Vec<_>>(),
            ),
            Column::new(
                "error".into(),
                rows.iter().map(|r| r.error()).collect::<Vec<_>>(),
            ),
            Column::new(
                "naive_error".into(),
                rows.iter().map(|r| r.naive_error()).collect::<Vec<_>>(),
            ),
            Column::new(
                "model_run".into(),
                rows.iter()
                    .map(|r| r.model_run.as_str())
                    .collect::<Vec<_>>(),
            ),
        ],
    );
    enc("live_outcomes", df.and_then(|df| to_parquet(&df)))
}

/// Requests a compaction or a table read keeps in flight: a day is up to 375 small files per
/// table, which one request at a time would make seconds of round trips on S3.
const CONCURRENCY: usize = 32;

/// The files at `keys`, decoded and stacked in the order given.
async fn read_stacked(store: &dyn Store, keys: &[&str]) -> Result<Option<DataFrame>, LiveError> {
    let frames: Vec<DataFrame> = futures::stream::iter(keys.iter().copied())
        .map(|key| async move { decode(key, &store.get(key).await?) })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut out: Option<DataFrame> = None;
    for (df, key) in frames.into_iter().zip(keys) {
        match out.as_mut() {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut(&df).map_err(|e| LiveError::Table {
                    table: key.to_string(),
                    message: e.to_string(),
                })?;
            }
        }
    }
    if let Some(df) = out.as_mut() {
        df.rechunk_mut();
    }
    Ok(out)
}

/// Every row of one live table for a stock: the compacted days and the minute files, in time
/// order.
pub async fn read_table(
    store: &dyn Store,
    table_prefix: &str,
    stock: &Symbol,
) -> Result<Option<DataFrame>, LiveError> {
    let prefix = format!("{table_prefix}stock={stock}/");
    let objects = store.list(&prefix).await?;
    // A day both compacted and still holding minute files (its compaction was cut short) is
    // read from the compacted file only.
    let compacted: std::collections::HashSet<&str> = objects
        .iter()
        .filter_map(|o| o.key.strip_suffix(layout::LIVE_DAY_FILE))
        .collect();
    let keys: Vec<&str> = objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| {
            k.ends_with(layout::LIVE_DAY_FILE)
                || !k
                    .rsplit_once('/')
                    .is_some_and(|(day, _)| compacted.contains(format!("{day}/").as_str()))
        })
        .collect();
    read_stacked(store, &keys).await
}

fn decode(key: &str, bytes: &[u8]) -> Result<DataFrame, LiveError> {
    from_parquet(bytes).map_err(|e| LiveError::Table {
        table: key.to_string(),
        message: e.to_string(),
    })
}

/// Compacts one day of one live table: its minute files (in key order, which is time order)
/// into `day.parquet`, then removes them. Safe to repeat and to resume: the day file is
/// written once, and a day file already there only has its leftover minute files removed.
/// Returns the minute files removed.
pub async fn compact_day(
    store: &dyn Store,
    table_prefix: &str,
    stock: &Symbol,
    day_ms: i64,
) -> Result<usize, LiveError> {
    let prefix = layout::live_table_day_prefix(table_prefix, stock, day_ms);
    let day_key = layout::live_day_key(table_prefix, stock, day_ms);
    let objects = store.list(&prefix).await?;
    let minute_files: Vec<&str> = objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| *k != day_key)
        .collect();
    if minute_files.is_empty() {
        return Ok(0);
    }
    if !objects.iter().any(|o| o.key == day_key) {
        if let Some(df) = read_stacked(store, &minute_files).await? {
            let bytes = enc(&day_key, to_parquet(&df))?;
            store.put_if_absent(&day_key, bytes).await?;
        }
    }
    futures::stream::iter(minute_files.iter().copied())
        .map(|key| store.delete(key))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await?;
    Ok(minute_files.len())
}
