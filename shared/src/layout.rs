//! Every object key groves reads or writes is built here, and nowhere else.
//!
//! One bucket. Raw files keep their Kaggle names under `raw/`. Every table lives under its own
//! prefix with Hive-style partitions (`run=<run>/…/stock=<SYMBOL>/`) so Athena (or DuckDB) can
//! query it, and the run id keeps results of different runs apart.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{RunId, Symbol};

/// Prefix of the raw Kaggle CSV files.
pub const RAW_PREFIX: &str = "raw/";
/// Prefix of the processed feature table (one Parquet file per run, split and stock).
pub const FEATURES_PREFIX: &str = "features/";
/// Prefix of the per-stock processing record (row counts, drops and their reasons, timings).
pub const PROCESSING_STATS_PREFIX: &str = "processing_stats/";
/// Prefix of the per-invocation timing records of every stage.
pub const TIMINGS_PREFIX: &str = "timings/";

/// Name of the single data file inside a partition: one writer per partition, so one file.
const PART_FILE: &str = "part-0.parquet";

/// The three parts of a processed series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `raw/<SYMBOL>_minute_data_with_indicators.csv`
pub fn raw_key(symbol: &Symbol) -> String {
    format!(
        "{RAW_PREFIX}{}",
        datagen::layout::raw_file_name(symbol.as_str())
    )
}

/// The symbol a raw key names, if the key is a raw file of the Kaggle layout.
pub fn symbol_from_raw_key(key: &str) -> Option<&str> {
    let name = key.strip_prefix(RAW_PREFIX)?;
    if name.contains('/') {
        return None;
    }
    datagen::layout::symbol_from_file_name(name)
}

/// `features/run=<run>/split=<split>/stock=<SYMBOL>/part-0.parquet`
pub fn features_key(run: &RunId, split: Split, stock: &Symbol) -> String {
    format!("{FEATURES_PREFIX}run={run}/split={split}/stock={stock}/{PART_FILE}")
}

/// `processing_stats/run=<run>/stock=<SYMBOL>/part-0.parquet`
pub fn processing_stats_key(run: &RunId, stock: &Symbol) -> String {
    format!("{PROCESSING_STATS_PREFIX}run={run}/stock={stock}/{PART_FILE}")
}

/// `timings/run=<run>/stage=<stage>/<unit>.parquet` — one record per unit of work, named by the
/// unit so that a retried invocation overwrites its own record instead of adding a second one.
pub fn timing_key(run: &RunId, stage: &str, unit: &str) -> String {
    format!("{TIMINGS_PREFIX}run={run}/stage={stage}/{unit}.parquet")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::new(s).unwrap()
    }

    #[test]
    fn raw_keys_round_trip() {
        let key = raw_key(&sym("M&M"));
        assert_eq!(key, "raw/M&M_minute_data_with_indicators.csv");
        assert_eq!(symbol_from_raw_key(&key), Some("M&M"));
        assert_eq!(
            symbol_from_raw_key("raw/sub/X_minute_data_with_indicators.csv"),
            None
        );
        assert_eq!(symbol_from_raw_key("raw/notes.txt"), None);
        assert_eq!(
            symbol_from_raw_key("features/X_minute_data_with_indicators.csv"),
            None
        );
    }

    #[test]
    fn table_keys_are_hive_partitioned_by_run_and_stock() {
        let run = RunId::new("r1").unwrap();
        assert_eq!(
            features_key(&run, Split::Validation, &sym("TCS")),
            "features/run=r1/split=validation/stock=TCS/part-0.parquet"
        );
        assert_eq!(
            processing_stats_key(&run, &sym("TCS")),
            "processing_stats/run=r1/stock=TCS/part-0.parquet"
        );
        assert_eq!(
            timing_key(&run, "processing", "TCS"),
            "timings/run=r1/stage=processing/TCS.parquet"
        );
    }
}
