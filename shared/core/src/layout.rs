//! Every object key groves reads or writes is built here, and nowhere else.
//!
//! One bucket. Raw files keep their Kaggle names under `raw/`. Every table lives under its own
//! prefix with Hive-style partitions (`run=<run>/…/stock=<SYMBOL>/`) so Athena (or DuckDB) can
//! query it, and the run id keeps results of different runs apart.

use crate::dataset;
use crate::ids::{RunId, Symbol};
pub use crate::spec::Split;
pub use crate::unit::{Setting, Unit};

/// Prefix of the raw Kaggle CSV files.
pub const RAW_PREFIX: &str = "raw/";
/// Prefix of the processed feature table (one Parquet file per run, split and stock).
pub const FEATURES_PREFIX: &str = "features/";
/// Prefix of the per-stock processing record (row counts, drops and their reasons, timings).
pub const PROCESSING_STATS_PREFIX: &str = "processing_stats/";
/// Prefix of the per-invocation timing records of every stage.
pub const TIMINGS_PREFIX: &str = "timings/";

/// Prefix of each run's manifest (its resolved whole-run event) and the parent's stage log.
pub const RUNS_PREFIX: &str = "runs/";
/// Prefix of the completion and failure records the parent waits on.
pub const STATUS_PREFIX: &str = "status/";
/// Prefix of each search grove's validation predictions.
pub const VAL_PREDS_PREFIX: &str = "val_preds/";
/// Prefix of the per-setting validation MSE table.
pub const PRED_MSES_PREFIX: &str = "pred_mses/";
/// Prefix of the winning setting per stock.
pub const MIN_MSE_PREFIX: &str = "min_mse/";
/// Prefix of each final grove's test predictions.
pub const TEST_PREDS_PREFIX: &str = "test_preds/";
/// Prefix of the persisted final groves.
pub const MODELS_PREFIX: &str = "models/";
/// Prefix of the per-stock test result (test MSE, naive MSE, skill).
pub const TEST_MSE_PREFIX: &str = "test_mse/";
/// Prefix of the averaged test forecast beside the actual and naive values.
pub const TEST_FORECAST_PREFIX: &str = "test_forecast/";
/// Prefix of the run's timing tables (per stage: actual, fully parallel, sequential; cost).
pub const TIMING_METRICS_PREFIX: &str = "timing_metrics/";

/// Prefix of the S3 trigger's record of each raw upload it acted on (one per object version).
pub const TRIGGERS_PREFIX: &str = "triggers/";
/// Prefix of each run's HTML report.
pub const REPORTS_PREFIX: &str = "reports/";

/// Name of the single data file inside a partition: one writer per partition, so one file.
const PART_FILE: &str = "part-0.parquet";

/// `raw/<SYMBOL>_minute_data_with_indicators.csv`
pub fn raw_key(symbol: &Symbol) -> String {
    format!("{RAW_PREFIX}{}", dataset::raw_file_name(symbol.as_str()))
}

/// The symbol a raw key names, if the key is a raw file of the Kaggle layout.
pub fn symbol_from_raw_key(key: &str) -> Option<&str> {
    let name = key.strip_prefix(RAW_PREFIX)?;
    if name.contains('/') {
        return None;
    }
    dataset::symbol_from_file_name(name)
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
pub fn timing_key(run: &RunId, stage: &str, unit: &Unit) -> String {
    format!("{TIMINGS_PREFIX}run={run}/stage={stage}/{unit}.parquet")
}

/// `runs/run=<run>/run.json`: the resolved whole-run event.
pub fn run_manifest_key(run: &RunId) -> String {
    format!("{RUNS_PREFIX}run={run}/run.json")
}

/// `runs/run=<run>/parent.json`: the Lambda parent's invocations so far (what it is billed for).
pub fn parent_invocations_key(run: &RunId) -> String {
    format!("{RUNS_PREFIX}run={run}/parent.json")
}

/// `runs/run=<run>/stages/`: every stage log of a run.
pub fn stage_logs_prefix(run: &RunId) -> String {
    format!("{RUNS_PREFIX}run={run}/stages/")
}

/// `runs/run=<run>/stages/<stage>.json`: what the parent saw of one stage (attempts, failures);
/// `<stage>.round-<r>.json` for one round of a halving search.
pub fn stage_log_key(run: &RunId, stage: &str, round: Option<u32>) -> String {
    let prefix = stage_logs_prefix(run);
    match round {
        None => format!("{prefix}{stage}.json"),
        Some(r) => format!("{prefix}{stage}.round-{r}.json"),
    }
}

/// `status/run=<run>/stage=<stage>/`: where a stage's units report.
pub fn status_prefix(run: &RunId, stage: &str) -> String {
    format!("{STATUS_PREFIX}run={run}/stage={stage}/")
}

/// Written by a unit after all its outputs: its presence means the unit is done.
pub fn done_key(run: &RunId, stage: &str, unit: &Unit) -> String {
    format!("{}{unit}.done", status_prefix(run, stage))
}

/// Written by a unit that failed, with the error; removed by the parent before a retry.
pub fn failed_key(run: &RunId, stage: &str, unit: &Unit) -> String {
    format!("{}{unit}.failed", status_prefix(run, stage))
}

/// `val_preds/run=<run>/stock=<SYMBOL>/f<feat>_s<samp>_g<grove>.parquet`
pub fn val_preds_key(run: &RunId, stock: &Symbol, setting: Setting, grove: u32) -> String {
    format!("{VAL_PREDS_PREFIX}run={run}/stock={stock}/{setting}_g{grove}.parquet")
}

/// `pred_mses/run=<run>/stock=<SYMBOL>/part-0.parquet`
pub fn pred_mses_key(run: &RunId, stock: &Symbol) -> String {
    format!("{PRED_MSES_PREFIX}run={run}/stock={stock}/{PART_FILE}")
}

/// `pred_mses/run=<run>/stock=<SYMBOL>/round-<r>.parquet`: one round of a halving search. The
/// rounds' files sit where a grid's one file does, so the Athena table reads them all (each row
/// says its round).
pub fn pred_mses_round_key(run: &RunId, stock: &Symbol, round: u32) -> String {
    format!("{PRED_MSES_PREFIX}run={run}/stock={stock}/round-{round}.parquet")
}

/// `min_mse/run=<run>/stock=<SYMBOL>/part-0.parquet`
pub fn min_mse_key(run: &RunId, stock: &Symbol) -> String {
    format!("{MIN_MSE_PREFIX}run={run}/stock={stock}/{PART_FILE}")
}

/// `test_preds/run=<run>/stock=<SYMBOL>/g<grove>.parquet`
pub fn test_preds_key(run: &RunId, stock: &Symbol, grove: u32) -> String {
    format!("{TEST_PREDS_PREFIX}run={run}/stock={stock}/g{grove}.parquet")
}

/// `models/run=<run>/stock=<SYMBOL>/g<grove>.grove`: a final grove in the forest crate's
/// versioned binary format.
pub fn model_key(run: &RunId, stock: &Symbol, grove: u32) -> String {
    format!("{MODELS_PREFIX}run={run}/stock={stock}/g{grove}.grove")
}

/// Prefix of the serving pointers: which run's final groves serve each stock.
pub const CURRENT_MODELS_PREFIX: &str = "models/current/";

/// `models/current/stock=<SYMBOL>.json`: the stock's serving model ([`crate::serving`]).
pub fn serving_pointer_key(stock: &Symbol) -> String {
    format!("{CURRENT_MODELS_PREFIX}stock={stock}.json")
}

/// The stock a serving pointer's key names.
pub fn symbol_from_serving_pointer_key(key: &str) -> Option<&str> {
    key.strip_prefix(CURRENT_MODELS_PREFIX)?
        .strip_prefix("stock=")?
        .strip_suffix(".json")
}

/// `test_mse/run=<run>/stock=<SYMBOL>/part-0.parquet`
pub fn test_mse_key(run: &RunId, stock: &Symbol) -> String {
    format!("{TEST_MSE_PREFIX}run={run}/stock={stock}/{PART_FILE}")
}

/// `test_forecast/run=<run>/stock=<SYMBOL>/part-0.parquet`
pub fn test_forecast_key(run: &RunId, stock: &Symbol) -> String {
    format!("{TEST_FORECAST_PREFIX}run={run}/stock={stock}/{PART_FILE}")
}

/// `timing_metrics/<views|costs>/run=<run>/part-0.parquet`: the two tables have different
/// columns, so each has a prefix of its own (one Athena table each).
pub fn timing_metrics_key(run: &RunId, table: &str) -> String {
    format!("{TIMING_METRICS_PREFIX}{table}/run={run}/{PART_FILE}")
}

/// `reports/run=<run>/index.html`: the run's report, one self-contained HTML file.
pub fn report_key(run: &RunId) -> String {
    format!("{REPORTS_PREFIX}run={run}/index.html")
}

/// `timings/run=<run>/`: every timing record of a run.
pub fn timings_prefix(run: &RunId) -> String {
    format!("{TIMINGS_PREFIX}run={run}/")
}

/// `triggers/stock=<SYMBOL>/<version>.json`: the trigger acted on this version of the stock's raw
/// file (`version` is the object's version id, else its ETag), so a repeated notification does
/// not start the work again.
pub fn trigger_marker_key(stock: &Symbol, version: &str) -> String {
    // Version ids and ETags are plain ASCII; anything else is replaced so the key stays valid.
    let version: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{TRIGGERS_PREFIX}stock={stock}/{version}.json")
}

/// Prefix of everything the live path writes: minutes as they arrive, the scorer's state, its
/// forecasts, their realised outcomes and the objects it could not read.
pub const LIVE_PREFIX: &str = "live/";
/// Prefix of the live minute objects (what `groves replay` writes, what the score function is
/// notified of). Nothing else is written under it, so a notification on it cannot loop.
pub const LIVE_MINUTES_PREFIX: &str = "live/minutes/";
/// Prefix of the live forecasts (Athena table `live_forecasts`).
pub const LIVE_FORECASTS_PREFIX: &str = "live/forecasts/";
/// Prefix of the realised outcomes of live forecasts (Athena table `live_outcomes`).
pub const LIVE_OUTCOMES_PREFIX: &str = "live/outcomes/";
/// Prefix of the drift episodes.
pub const DRIFT_PREFIX: &str = "drift/";
/// File name of a day's compacted table inside its `date=` partition.
pub const LIVE_DAY_FILE: &str = "day.parquet";

/// `YYYY-MM-DD` and `HHMM` of a wall-clock millisecond count.
fn date_and_hhmm(local_ms: i64) -> (String, String) {
    let (y, m, d) = crate::calendar::civil_from_days(local_ms.div_euclid(crate::calendar::DAY_MS));
    let mins = local_ms.rem_euclid(crate::calendar::DAY_MS) / 60_000;
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}{:02}", mins / 60, mins % 60),
    )
}

/// `live/minutes/stock=<SYMBOL>/`: every live minute object of a stock, in time order.
pub fn live_minutes_prefix(stock: &Symbol) -> String {
    format!("{LIVE_MINUTES_PREFIX}stock={stock}/")
}

/// `live/minutes/stock=<SYMBOL>/date=<YYYY-MM-DD>/<HHMM>.csv`: the live object whose first
/// minute is `local_ms` (India wall clock). Keys sort in time order.
pub fn live_minute_key(stock: &Symbol, local_ms: i64) -> String {
    let (date, hhmm) = date_and_hhmm(local_ms);
    format!("{LIVE_MINUTES_PREFIX}stock={stock}/date={date}/{hhmm}.csv")
}

/// The stock and first minute (wall-clock ms) a live minute key names.
pub fn parse_live_minute_key(key: &str) -> Option<(&str, i64)> {
    let rest = key
        .strip_prefix(LIVE_MINUTES_PREFIX)?
        .strip_prefix("stock=")?;
    let (stock, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("date=")?;
    let (date, file) = rest.split_once('/')?;
    let hhmm = file.strip_suffix(".csv")?;
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || hhmm.len() != 4 {
        return None;
    }
    let n = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, m, d) = (n(&date[0..4])?, n(&date[5..7])?, n(&date[8..10])?);
    let (h, mi) = (n(&hhmm[0..2])?, n(&hhmm[2..4])?);
    if !(1..=12).contains(&m) || d == 0 || d > 31 || h > 23 || mi > 59 || stock.is_empty() {
        return None;
    }
    let days = crate::calendar::days_from_civil(i64::from(y), m, d);
    Some((stock, (days * 24 * 60 + i64::from(h * 60 + mi)) * 60_000))
}

/// `live/state/stock=<SYMBOL>/`: the scorer's state snapshots of a stock.
pub fn live_state_prefix(stock: &Symbol) -> String {
    format!("{LIVE_PREFIX}state/stock={stock}/")
}

/// `live/state/stock=<SYMBOL>/<YYYY-MM-DD>T<HHMM>.json`: the scorer's state once every minute
/// up to `local_ms` is settled. Named by that minute, never overwritten: the newest is the
/// state.
pub fn live_state_key(stock: &Symbol, local_ms: i64) -> String {
    let (date, hhmm) = date_and_hhmm(local_ms);
    format!("{LIVE_PREFIX}state/stock={stock}/{date}T{hhmm}.json")
}

/// `live/<forecasts|outcomes>/stock=<SYMBOL>/date=<YYYY-MM-DD>/`
pub fn live_table_day_prefix(table_prefix: &str, stock: &Symbol, local_ms: i64) -> String {
    let (date, _) = date_and_hhmm(local_ms);
    format!("{table_prefix}stock={stock}/date={date}/")
}

/// `live/forecasts/stock=<SYMBOL>/date=<YYYY-MM-DD>/<HHMM>.parquet`: the forecast made at the
/// minute `local_ms`.
pub fn live_forecast_key(stock: &Symbol, local_ms: i64) -> String {
    let (_, hhmm) = date_and_hhmm(local_ms);
    format!(
        "{}{hhmm}.parquet",
        live_table_day_prefix(LIVE_FORECASTS_PREFIX, stock, local_ms)
    )
}

/// `live/outcomes/stock=<SYMBOL>/date=<YYYY-MM-DD>/<HHMM>.parquet`: the realised error of the
/// forecast made at `local_ms` (written when the minute it was for arrives).
pub fn live_outcome_key(stock: &Symbol, local_ms: i64) -> String {
    let (_, hhmm) = date_and_hhmm(local_ms);
    format!(
        "{}{hhmm}.parquet",
        live_table_day_prefix(LIVE_OUTCOMES_PREFIX, stock, local_ms)
    )
}

/// `live/<table>/stock=<SYMBOL>/date=<YYYY-MM-DD>/day.parquet`: a day's minute files compacted
/// into one.
pub fn live_day_key(table_prefix: &str, stock: &Symbol, local_ms: i64) -> String {
    format!(
        "{}{LIVE_DAY_FILE}",
        live_table_day_prefix(table_prefix, stock, local_ms)
    )
}

/// `live/errors/stock=<SYMBOL>/date=<YYYY-MM-DD>/<HHMM>.json`: why the live object of that
/// minute was skipped (unreadable, or arrived after its minute was settled).
pub fn live_error_key(stock: &Symbol, local_ms: i64) -> String {
    let (date, hhmm) = date_and_hhmm(local_ms);
    format!("{LIVE_PREFIX}errors/stock={stock}/date={date}/{hhmm}.json")
}

/// `live/errors/stock=<SYMBOL>/`
pub fn live_errors_prefix(stock: &Symbol) -> String {
    format!("{LIVE_PREFIX}errors/stock={stock}/")
}

/// `live/errors/stream/topic=<TOPIC>/partition=<P>/<OFFSET>.json`: why a stream (Kafka)
/// record could not become a live minute (no stock key, no readable minute). Named by the
/// record's place in the topic, so a redelivered record writes the same key. Characters a
/// Kafka topic name cannot hold are replaced by `_`.
pub fn live_stream_error_key(topic: &str, partition: i64, offset: i64) -> String {
    let topic: String = topic
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{LIVE_PREFIX}errors/stream/topic={topic}/partition={partition}/{offset:020}.json")
}

/// `drift/stock=<SYMBOL>/<YYYY-MM-DD>T<HHMM>.json`: a drift episode of a stock, named by the
/// minute it began; written once, so whatever acts on it acts once per episode.
pub fn drift_key(stock: &Symbol, local_ms: i64) -> String {
    let (date, hhmm) = date_and_hhmm(local_ms);
    format!("{DRIFT_PREFIX}stock={stock}/{date}T{hhmm}.json")
}

/// `drift/stock=<SYMBOL>/`
pub fn drift_prefix(stock: &Symbol) -> String {
    format!("{DRIFT_PREFIX}stock={stock}/")
}

/// Prefix of the store's own temporary area (the local store stages writes there); never a
/// key of an object.
pub const TMP_PREFIX: &str = ".groves-tmp";

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid object key {key:?}: {reason}")]
pub struct KeyError {
    pub key: String,
    pub reason: &'static str,
}

/// Refuses keys that could escape the bucket or that S3 and a file system would treat
/// differently.
pub fn validate_key(key: &str) -> Result<(), KeyError> {
    let bad = |reason| {
        Err(KeyError {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.starts_with('/') {
        return bad("starts with '/'");
    }
    if key.ends_with('/') {
        return bad("ends with '/'");
    }
    if key.contains('\\') || key.contains('\0') {
        return bad("contains '\\' or NUL");
    }
    for part in key.split('/') {
        if part.is_empty() {
            return bad("has an empty path segment");
        }
        if part == "." || part == ".." {
            return bad("has a '.' or '..' segment");
        }
    }
    if key.starts_with(TMP_PREFIX) {
        return bad("is in the store's temporary area");
    }
    Ok(())
}

/// Resolves the `file` of a processing event: a Kaggle file name (taken under `raw/`) or a key
/// whose last segment is one. Returns the key and the stock it names.
pub fn raw_key_and_symbol(file: &str) -> Result<(String, Symbol), String> {
    let key = if file.contains('/') {
        file.to_string()
    } else {
        format!("{RAW_PREFIX}{file}")
    };
    validate_key(&key).map_err(|e| e.to_string())?;
    let name = key.rsplit('/').next().unwrap_or(&key);
    let symbol = dataset::symbol_from_file_name(name).ok_or_else(|| {
        format!(
            "{file:?} is not named <SYMBOL>{}, so the stock is unknown",
            dataset::FILE_SUFFIX
        )
    })?;
    let symbol = Symbol::new(symbol).map_err(|e| format!("{file:?}: {e}"))?;
    Ok((key, symbol))
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
    fn keys_that_escape_or_confuse_are_refused() {
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "a/../b",
            "./a",
            "a\\b",
            ".groves-tmp/x",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        for ok in [
            "a",
            "raw/M&M_minute_data_with_indicators.csv",
            "t/run=1/x.parquet",
        ] {
            assert!(validate_key(ok).is_ok(), "{ok:?} refused");
        }
    }

    #[test]
    fn raw_file_names_resolve_to_keys_and_stocks() {
        let (k, s) = raw_key_and_symbol("TCS_minute_data_with_indicators.csv").unwrap();
        assert_eq!(k, "raw/TCS_minute_data_with_indicators.csv");
        assert_eq!(s.as_str(), "TCS");
        let (k, s) = raw_key_and_symbol("raw/M&M_minute_data_with_indicators.csv").unwrap();
        assert_eq!(
            (k.as_str(), s.as_str()),
            ("raw/M&M_minute_data_with_indicators.csv", "M&M")
        );
        assert!(raw_key_and_symbol("TCS.csv").is_err());
        assert!(raw_key_and_symbol("../TCS_minute_data_with_indicators.csv").is_err());
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
            timing_key(&run, "processing", &Unit::Stock(sym("TCS"))),
            "timings/run=r1/stage=processing/TCS.parquet"
        );
        let grove = Unit::Grove {
            stock: sym("M&M"),
            setting: Setting { feat: 7, samp: 15 },
            grove: 2,
        };
        assert_eq!(
            done_key(&run, "param-preds", &grove),
            "status/run=r1/stage=param-preds/M&M.f7_s15_g2.done"
        );
        assert_eq!(
            val_preds_key(&run, &sym("TCS"), Setting { feat: 5, samp: 25 }, 0),
            "val_preds/run=r1/stock=TCS/f5_s25_g0.parquet"
        );
    }

    #[test]
    fn live_keys_sort_in_time_order_and_parse_back() {
        let t = crate::calendar::parse_bar_time("2015-02-02 09:15:00+05:30")
            .unwrap()
            .local_ms;
        let k = live_minute_key(&sym("M&M"), t);
        assert_eq!(k, "live/minutes/stock=M&M/date=2015-02-02/0915.csv");
        assert_eq!(parse_live_minute_key(&k), Some(("M&M", t)));
        assert!(live_minute_key(&sym("M&M"), t + 60_000) > k);
        assert!(live_minute_key(&sym("M&M"), t + crate::calendar::DAY_MS - 3_600_000) > k);
        assert_eq!(
            parse_live_minute_key("live/minutes/stock=X/date=2015-02-02/915.csv"),
            None
        );
        assert_eq!(
            parse_live_minute_key("live/minutes/stock=X/date=2015-13-02/0915.csv"),
            None
        );
        assert_eq!(
            live_state_key(&sym("TCS"), t),
            "live/state/stock=TCS/2015-02-02T0915.json"
        );
        assert_eq!(
            live_forecast_key(&sym("TCS"), t),
            "live/forecasts/stock=TCS/date=2015-02-02/0915.parquet"
        );
        assert_eq!(
            live_day_key(LIVE_OUTCOMES_PREFIX, &sym("TCS"), t),
            "live/outcomes/stock=TCS/date=2015-02-02/day.parquet"
        );
        assert_eq!(
            drift_key(&sym("TCS"), t),
            "drift/stock=TCS/2015-02-02T0915.json"
        );
        // The minutes' prefix is not a prefix of anything else the live path writes.
        for other in [
            live_state_key(&sym("TCS"), t),
            live_forecast_key(&sym("TCS"), t),
            live_error_key(&sym("TCS"), t),
            live_stream_error_key("ticks", 0, 7),
        ] {
            assert!(!other.starts_with(LIVE_MINUTES_PREFIX), "{other}");
        }
        assert_eq!(
            live_stream_error_key("nse.minutes/../x", 3, 42),
            "live/errors/stream/topic=nse.minutes_.._x/partition=3/00000000000000000042.json"
        );
        assert!(live_stream_error_key("t", 0, 10) > live_stream_error_key("t", 0, 9));
        // A stream error is not under any stock's errors.
        assert!(!live_stream_error_key("t", 0, 1).starts_with(&live_errors_prefix(&sym("stream"))));
    }
}
