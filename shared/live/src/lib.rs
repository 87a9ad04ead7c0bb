//! groves' live path: the bucket is the stream.
//!
//! - [`replay`]: rows of a raw file written into the bucket as they would arrive live, one
//!   object per minute (or per batch of minutes) under `live/minutes/`, in the format
//!   `groves_data::raw::minutes` reads;
//! - [`settle`]: the scorer. Each new object is settled in time order with the stock's serving
//!   model: a forecast per minute, and once the minute it was for arrives, its realised error
//!   beside the naive forecast's; a rolling skill and drift episodes;
//! - [`state`]: what the scorer keeps between objects (an immutable snapshot per settle);
//! - [`tables`]: the `live_forecasts` and `live_outcomes` Parquet tables and their compaction;
//! - [`drift`]: drift episodes, their records, and the retraining run an episode starts;
//! - [`metrics`]: CloudWatch Embedded Metric Format lines;
//! - [`status`]: per-stock rolling figures for `groves live`;
//! - [`stream`]: minutes from a stream (Kafka records) landed in the bucket and settled by the
//!   same scorer.

pub mod drift;
pub mod metrics;
pub mod replay;
pub mod settle;
pub mod state;
pub mod status;
pub mod stream;
pub mod tables;

pub use drift::{DriftRecord, Retrainer};
pub use settle::{LiveOptions, Retraining, Scorer, SettleReport};
pub use state::LiveState;
pub use stream::{score_records, StreamRecord, StreamReport, StreamTotals};

use groves_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{table}: {message}")]
    Table { table: String, message: String },
    #[error("{key}: {message}")]
    State { key: String, message: String },
    #[error("{0}")]
    Model(String),
    #[error("{file}: {message}")]
    Source { file: String, message: String },
    #[error("retraining run {run} could not be started: {message}")]
    Retrain { run: String, message: String },
    #[error("the stream: {0}")]
    Stream(String),
    #[error("not a live minute key: {0:?} (expected live/minutes/stock=SYMBOL/date=YYYY-MM-DD/HHMM.csv)")]
    NotALiveKey(String),
}

#[cfg(test)]
mod tests;
