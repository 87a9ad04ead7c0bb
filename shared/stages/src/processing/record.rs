//! What processing one file is asked to do, what it reports, and why it can fail.

use groves_core::events::ProcessingEvent;
use groves_core::ids::RunId;
use groves_core::spec::{LagScope, SplitMethod, DEFAULT_SEED};
use groves_data::raw::RawError;
use groves_store::StoreError;
use polars_core::prelude::*;
use serde::Serialize;

/// Why processing a file failed. Nothing is written when it fails.
#[derive(Debug, thiserror::Error)]
pub enum ProcessingError {
    #[error(transparent)]
    Raw(#[from] RawError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: only {kept} complete rows after processing; at least 3 are needed to split into train, validation and test")]
    TooFewRows { file: String, kept: usize },
    #[error("{file}: building the output tables: {source}")]
    Table {
        file: String,
        #[source]
        source: PolarsError,
    },
}

/// How to process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessingOptions {
    pub run: RunId,
    pub split: SplitMethod,
    pub seed: u64,
    pub lags: LagScope,
    /// Minutes ahead the target is.
    pub horizon: u32,
    /// Extra raw columns kept as features.
    pub features: Vec<String>,
    /// Only bars up to this minute (wall-clock ms), the stock's live minutes after the raw
    /// file's last bar included.
    pub until_ms: Option<i64>,
    /// When the parent invoked this unit (Unix ms), for the timing record.
    pub invoked_at: Option<i64>,
}

impl Default for ProcessingOptions {
    fn default() -> Self {
        ProcessingOptions {
            run: RunId::default(),
            split: SplitMethod::default(),
            seed: DEFAULT_SEED,
            lags: LagScope::default(),
            horizon: 1,
            features: Vec::new(),
            until_ms: None,
            invoked_at: None,
        }
    }
}

impl From<&ProcessingEvent> for ProcessingOptions {
    fn from(e: &ProcessingEvent) -> Self {
        ProcessingOptions {
            run: e.run.clone(),
            split: e.split,
            seed: e.seed,
            lags: e.lags,
            horizon: e.horizon,
            features: e.features.clone(),
            // Checked when the event was decoded.
            until_ms: e
                .until
                .as_deref()
                .and_then(|u| groves_core::calendar::parse_wall(u).ok()),
            invoked_at: e.invoked_at,
        }
    }
}

/// Rows dropped, by reason. Each dropped row counts once, under the first reason that applies
/// in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DropCounts {
    /// A later row with the same timestamp (the first one in file order is kept).
    pub duplicate_timestamp: u64,
    /// The row's own `TYPPRICE` is empty or NaN.
    pub missing_typprice: u64,
    /// One of the first 10 rows: not all lags exist.
    pub warmup: u64,
    /// One of the last `horizon` rows: no minute to forecast.
    pub no_next_row: u64,
    /// A lag or the target falls on a row with a missing `TYPPRICE`.
    pub neighbour_missing: u64,
    /// An extra feature column is empty or NaN on the row (an indicator's look-back window
    /// not yet full).
    pub missing_feature: u64,
    /// `within-day` lags only: a lag or the target is on another trading day.
    pub day_boundary: u64,
    /// The file's last line was cut off mid-write.
    pub truncated_last_line: u64,
}

impl DropCounts {
    pub fn total(&self) -> u64 {
        self.duplicate_timestamp
            + self.missing_typprice
            + self.warmup
            + self.no_next_row
            + self.neighbour_missing
            + self.missing_feature
            + self.day_boundary
            + self.truncated_last_line
    }
}

/// What processing one file did: the record written to `processing_stats/` (deterministic:
/// the same input and options give the same record) plus the timings of this invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessingReport {
    pub run: String,
    pub stock: String,
    pub source_key: String,
    pub layout: &'static str,
    pub split_method: &'static str,
    pub seed: u64,
    pub lags: &'static str,
    pub horizon: u32,
    /// Extra feature columns, comma-separated.
    pub features: String,
    /// Data rows in the file (header excluded, a truncated last line included).
    pub rows_read: u64,
    /// Rows whose timestamp is earlier than the row before them in the file.
    pub rows_out_of_order: u64,
    /// Duplicate timestamps whose `TYPPRICE` differs from the kept row's.
    pub duplicates_conflicting: u64,
    pub dropped: DropCounts,
    pub rows_kept: u64,
    pub rows_train: u64,
    pub rows_validation: u64,
    pub rows_test: u64,
    /// First and last kept bar, India wall clock, `YYYY-MM-DD HH:MM`.
    pub first_bar: String,
    pub last_bar: String,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
}

/// The processing record as a one-row table (counts only: deterministic across retries).
pub(super) fn report_frame(r: &ProcessingReport) -> PolarsResult<DataFrame> {
    let d = &r.dropped;
    let u = |name: &str, v: u64| Column::new(name.into(), [v]);
    let s = |name: &str, v: &str| Column::new(name.into(), [v]);
    DataFrame::new(
        1,
        vec![
            s("run", &r.run),
            s("stock", &r.stock),
            s("source_key", &r.source_key),
            s("layout", r.layout),
            s("split_method", r.split_method),
            u("seed", r.seed),
            s("lags", r.lags),
            Column::new("horizon".into(), [r.horizon]),
            s("features", &r.features),
            u("rows_read", r.rows_read),
            u("rows_out_of_order", r.rows_out_of_order),
            u("duplicates_conflicting", r.duplicates_conflicting),
            u("dropped_duplicate_timestamp", d.duplicate_timestamp),
            u("dropped_missing_typprice", d.missing_typprice),
            u("dropped_warmup", d.warmup),
            u("dropped_no_next_row", d.no_next_row),
            u("dropped_neighbour_missing", d.neighbour_missing),
            u("dropped_missing_feature", d.missing_feature),
            u("dropped_day_boundary", d.day_boundary),
            u("dropped_truncated_last_line", d.truncated_last_line),
            u("rows_kept", r.rows_kept),
            u("rows_train", r.rows_train),
            u("rows_validation", r.rows_validation),
            u("rows_test", r.rows_test),
            s("first_bar", &r.first_bar),
            s("last_bar", &r.last_bar),
        ],
    )
}
