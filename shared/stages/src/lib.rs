//! groves' stages: one module per stage of the search, each a plain function over a store,
//! plus the unit protocol every stage follows (done at most once, outcome recorded).
//!
//! | stage | module |
//! |---|---|
//! | processing | [`processing`] |
//! | param-preds | [`param_preds`] |
//! | pred-mses | [`pred_mses`] (a halving search's rounds: [`halving`]) |
//! | min-mse | [`min_mse`] |
//! | train-full | [`train_full`] |
//! | test-full | [`test_full`] |
//! | timing-metrics | [`timing_metrics`] |
//!
//! [`promote`] points a stock's serving model at a finished run's final groves.
//!
//! Each module's `handle` is what the stage's Lambda function and the in-process pool run;
//! [`dispatch`] runs any stage's event in this process.

pub mod clock;
pub mod dispatch;
pub mod error;
pub mod halving;
pub mod min_mse;
pub mod param_preds;
pub mod pred_mses;
pub mod predictions;
pub mod processing;
pub mod promote;
pub mod tables;
pub mod test_full;
pub mod timing_metrics;
pub mod train_full;
pub mod unit;

pub use error::StageError;
pub use unit::{Buckets, OneStore, UnitContext};
