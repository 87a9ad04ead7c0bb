//! Processing: one raw minute file → the feature table (`TYPPRICE`, its 10 lags, the next
//! minute's `TYPPRICE` as target, calendar parts), cut into train / validation / test.

use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use polars::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use crate::events::{LagScope, ProcessingEvent, SplitMethod};
use crate::features::{self, N_LAGS, ROW, TARGET, TYPPRICE};
use crate::ids::{RunId, Symbol};
use crate::layout::{self, Split};
use crate::raw::{civil_from_days, read_raw, BarTime, RawError, RawSeries};
use crate::store::{Store, StoreError};
use crate::table::{datetime_ms_column, to_parquet, to_parquet_each, ChunkedTable, Window};
use crate::timing::{self, ms_since, TimingRecord};

const DAY_MS: i64 = 86_400_000;

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
    /// When the parent invoked this unit (Unix ms), for the timing record.
    pub invoked_at: Option<i64>,
}

impl Default for ProcessingOptions {
    fn default() -> Self {
        ProcessingOptions {
            run: RunId::default(),
            split: SplitMethod::default(),
            seed: crate::events::DEFAULT_SEED,
            lags: LagScope::default(),
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
    /// The last row: no next minute to forecast.
    pub no_next_row: u64,
    /// A lag or the target falls on a row with a missing `TYPPRICE`.
    pub neighbour_missing: u64,
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

/// The three parts of the processed series, each in time order. Their feature columns are
/// not built here: [`write_processed`] builds them a row group at a time as it encodes them.
#[derive(Debug)]
pub struct Splits {
    bars: Bars,
    /// Per split, in `Split::ALL` order: positions among the kept rows (the `row` column),
    /// ascending.
    positions: [Vec<u32>; 3],
    /// Per split, the same rows as indices into `bars`.
    at: [Vec<u32>; 3],
}

impl Splits {
    /// The feature table of one split, ready to be encoded.
    fn table(&self, split: Split) -> FeatureTable<'_> {
        // Fields are in `Split::ALL` order, the order `Split` declares its variants.
        let i = split as usize;
        FeatureTable {
            bars: &self.bars,
            positions: &self.positions[i],
            at: &self.at[i],
        }
    }
}

/// Resolves the `file` of a processing event: a Kaggle file name (taken under `raw/`) or a key
/// whose last segment is one. Returns the key and the stock it names.
pub fn raw_key_and_symbol(file: &str) -> Result<(String, Symbol), String> {
    let key = if file.contains('/') {
        file.to_string()
    } else {
        format!("{}{file}", layout::RAW_PREFIX)
    };
    crate::store::validate_key(&key).map_err(|e| e.to_string())?;
    let name = key.rsplit('/').next().unwrap_or(&key);
    let symbol = datagen::layout::symbol_from_file_name(name).ok_or_else(|| {
        format!(
            "{file:?} is not named <SYMBOL>{}, so the stock is unknown",
            datagen::layout::FILE_SUFFIX
        )
    })?;
    let symbol = Symbol::new(symbol).map_err(|e| format!("{file:?}: {e}"))?;
    Ok((key, symbol))
}

/// The stage as a Lambda or the CLI runs it: read the raw file from `input`, write the split
/// tables, the processing record and the timing record to `output`.
pub async fn run_processing(
    input: &dyn Store,
    output: &dyn Store,
    event: &ProcessingEvent,
) -> Result<ProcessingReport, ProcessingError> {
    let (key, stock) =
        raw_key_and_symbol(&event.file).map_err(|message| ProcessingError::Invalid {
            file: event.file.clone(),
            message,
        })?;
    process_key(input, output, &key, &stock, &ProcessingOptions::from(event)).await
}

/// Processes the raw object `key` of `stock`.
pub async fn process_key(
    input: &dyn Store,
    output: &dyn Store,
    key: &str,
    stock: &Symbol,
    opts: &ProcessingOptions,
) -> Result<ProcessingReport, ProcessingError> {
    let started_ms = timing::now_ms();
    let t_read = Instant::now();
    let local = input.fetch_to_file(key).await?;
    let label = format!("{}/{key}", input.describe());
    let (stock2, opts2, key2) = (stock.clone(), opts.clone(), key.to_string());
    let path = local.path().to_path_buf();
    // Parsing and sorting are CPU-bound: keep them off the async workers.
    let (splits, mut report) = tokio::task::spawn_blocking(move || {
        let mut r = process_file(&path, &label, &key2, &stock2, &opts2);
        if let Ok((_, rep)) = &mut r {
            // process_file measured parse time as read; add the download.
            rep.read_ms = ms_since(t_read) - rep.compute_ms;
        }
        r
    })
    .await
    .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
    drop(local);
    write_processed(output, stock, opts, splits, &mut report, started_ms).await?;
    Ok(report)
}

/// Writes the split tables, then the processing record (its presence means the splits are all
/// there), then the timing record; fills in `report.write_ms`, which includes building the
/// feature columns (they are built a row group at a time as they are encoded). Each split is
/// stored as soon as it is encoded, while the others are still being encoded (on Lambda the
/// upload overlaps the work); a failure leaves no processing record, and a retry writes the
/// same bytes again.
pub async fn write_processed(
    output: &dyn Store,
    stock: &Symbol,
    opts: &ProcessingOptions,
    splits: Splits,
    report: &mut ProcessingReport,
    started_ms: i64,
) -> Result<(), ProcessingError> {
    let t_write = Instant::now();
    let file = report.source_key.clone();
    let table_err = |source| ProcessingError::Table {
        file: file.clone(),
        source,
    };
    let keys = Split::ALL.map(|split| layout::features_key(&opts.run, split, stock));
    let (done, files) = tokio::sync::mpsc::unbounded_channel();
    let encoding = tokio::task::spawn_blocking(move || {
        let tables = Split::ALL.map(|split| splits.table(split));
        let tables: Vec<&dyn ChunkedTable> =
            tables.iter().map(|t| t as &dyn ChunkedTable).collect();
        // The receiver is only gone once a put has failed, and then the error is that one.
        to_parquet_each(&tables, &|t, file| {
            let _ = done.send((t, file));
        })
    });
    // Each file is put as it arrives; the first failed put ends the write.
    let (mut files, mut puts) = (files, FuturesUnordered::new());
    loop {
        tokio::select! {
            file = files.recv() => match file {
                Some((t, file)) => puts.push(output.put(&keys[t], Bytes::from(file))),
                None => break,
            },
            Some(stored) = puts.next(), if !puts.is_empty() => stored?,
        }
    }
    // The channel closed: encoding is over, successfully or not.
    encoding
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
        .map_err(table_err)?;
    while let Some(stored) = puts.next().await {
        stored?;
    }
    let stats = to_parquet(&report_frame(report).map_err(table_err)?).map_err(table_err)?;
    // The record after the splits, as its presence means they are all there.
    output
        .put(
            &layout::processing_stats_key(&opts.run, stock),
            Bytes::from(stats),
        )
        .await?;
    report.write_ms = ms_since(t_write);

    let record = TimingRecord {
        run: opts.run.to_string(),
        stage: "processing".into(),
        unit: stock.to_string(),
        stock: Some(stock.to_string()),
        invoked_ms: opts.invoked_at,
        started_ms,
        finished_ms: timing::now_ms(),
        read_ms: report.read_ms,
        compute_ms: report.compute_ms,
        write_ms: report.write_ms,
        executor: timing::executor().into(),
        memory_mb: timing::lambda_memory_mb(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        cold_start: timing::cold_start(),
    };
    let timing_bytes = to_parquet(&record.to_frame().map_err(table_err)?).map_err(table_err)?;
    output
        .put(
            &layout::timing_key(&opts.run, "processing", &layout::Unit::Stock(stock.clone())),
            Bytes::from(timing_bytes),
        )
        .await?;
    Ok(())
}

/// The pure part: a raw file on disk → the split tables and the report (timings of read and
/// compute filled in, write left at 0).
pub fn process_file(
    path: &Path,
    label: &str,
    source_key: &str,
    stock: &Symbol,
    opts: &ProcessingOptions,
) -> Result<(Splits, ProcessingReport), ProcessingError> {
    let t0 = Instant::now();
    let raw = read_raw(path, label)?;
    let read_ms = ms_since(t0);
    let t1 = Instant::now();
    let layout_name = raw.layout.as_str();
    let (bars, mut report) = build_bars(raw, opts);
    let kept = bars.rows.len();
    report.rows_kept = kept as u64;
    if kept < 3 {
        return Err(ProcessingError::TooFewRows {
            file: label.to_string(),
            kept,
        });
    }
    let idx = split_indices(kept, opts.split, opts.seed);
    let at = |positions: &[u32]| -> Vec<u32> {
        positions.iter().map(|&p| bars.rows[p as usize]).collect()
    };
    let at = [at(&idx.train), at(&idx.validation), at(&idx.test)];
    report.rows_train = idx.train.len() as u64;
    report.rows_validation = idx.validation.len() as u64;
    report.rows_test = idx.test.len() as u64;
    report.first_bar = format_local(bars.times[bars.rows[0] as usize].local_ms);
    report.last_bar = format_local(bars.times[bars.rows[kept - 1] as usize].local_ms);
    report.run = opts.run.to_string();
    report.stock = stock.to_string();
    report.source_key = source_key.to_string();
    report.layout = layout_name;
    report.read_ms = read_ms;
    report.compute_ms = ms_since(t1);
    let splits = Splits {
        bars,
        positions: [idx.train, idx.validation, idx.test],
        at,
    };
    Ok((splits, report))
}

/// The bars after sorting and de-duplication, and which of them are kept.
#[derive(Debug)]
struct Bars {
    times: Vec<BarTime>,
    /// `TYPPRICE` by bar, `NaN` where missing (kept rows never read one: every price of their
    /// window is present).
    prices: Vec<f64>,
    /// Indices into `times` of the kept rows, ascending.
    rows: Vec<u32>,
}

fn build_bars(raw: RawSeries, opts: &ProcessingOptions) -> (Bars, ProcessingReport) {
    let n = raw.times.len();
    let mut dropped = DropCounts {
        truncated_last_line: u64::from(raw.truncated_last_line),
        ..DropCounts::default()
    };
    let rows_out_of_order = raw
        .times
        .windows(2)
        .filter(|w| w[1].utc_ms < w[0].utc_ms)
        .count() as u64;
    let repeated = raw.times.windows(2).any(|w| w[1].utc_ms == w[0].utc_ms);
    let mut conflicting = 0u64;
    let (times, typprice) = if rows_out_of_order == 0 && !repeated {
        // The usual file: already in order, nothing to drop, nothing to copy.
        (raw.times, raw.typprice)
    } else {
        // Stable: among equal timestamps the first in file order comes first and is kept.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| raw.times[i as usize].utc_ms);
        let mut times: Vec<BarTime> = Vec::with_capacity(n);
        let mut typprice: Vec<Option<f64>> = Vec::with_capacity(n);
        for &i in &order {
            let (t, p) = (raw.times[i as usize], raw.typprice[i as usize]);
            if times.last().is_some_and(|last| last.utc_ms == t.utc_ms) {
                dropped.duplicate_timestamp += 1;
                if typprice.last().copied().flatten() != p {
                    conflicting += 1;
                }
                continue;
            }
            times.push(t);
            typprice.push(p);
        }
        (times, typprice)
    };

    let m = times.len();
    let day = |i: usize| times[i].local_ms.div_euclid(DAY_MS);
    let mut rows = Vec::with_capacity(m);
    for i in 0..m {
        if typprice[i].is_none() {
            dropped.missing_typprice += 1;
        } else if i < N_LAGS {
            dropped.warmup += 1;
        } else if i + 1 >= m {
            dropped.no_next_row += 1;
        } else if typprice[i - N_LAGS..=i + 1].iter().any(Option::is_none) {
            dropped.neighbour_missing += 1;
        } else if opts.lags == LagScope::WithinDay && day(i - N_LAGS) != day(i + 1) {
            dropped.day_boundary += 1;
        } else {
            // A raw file's rows are counted in u32 (the scanner's limit).
            rows.push(i as u32);
        }
    }
    let report = ProcessingReport {
        run: String::new(),
        stock: String::new(),
        source_key: String::new(),
        layout: "",
        split_method: opts.split.as_str(),
        seed: opts.seed,
        lags: opts.lags.as_str(),
        rows_read: raw.rows_read,
        rows_out_of_order,
        duplicates_conflicting: conflicting,
        dropped,
        rows_kept: 0,
        rows_train: 0,
        rows_validation: 0,
        rows_test: 0,
        first_bar: String::new(),
        last_bar: String::new(),
        read_ms: 0.0,
        compute_ms: 0.0,
        write_ms: 0.0,
    };
    (
        Bars {
            times,
            prices: typprice.iter().map(|p| p.unwrap_or(f64::NAN)).collect(),
            rows,
        },
        report,
    )
}

/// One split's feature table: `row`, `date`, the calendar parts, `TYPPRICE`, its lags and
/// the target, built a row range at a time from the bars.
struct FeatureTable<'a> {
    bars: &'a Bars,
    positions: &'a [u32],
    at: &'a [u32],
}

/// Columns of the feature table after `row`, `date` and the calendar parts.
const FIRST_PRICE_COLUMN: usize = 2 + features::CALENDAR.len();

impl ChunkedTable for FeatureTable<'_> {
    fn schema(&self) -> Schema {
        let price = |name: &str| Field::new(name.into(), DataType::Float64);
        let mut fields = vec![
            Field::new(ROW.into(), DataType::Int64),
            Field::new(
                features::DATE.into(),
                DataType::Datetime(TimeUnit::Milliseconds, None),
            ),
        ];
        fields.extend(
            features::CALENDAR
                .iter()
                .map(|name| Field::new((*name).into(), DataType::Int8)),
        );
        fields.push(price(TYPPRICE));
        fields.extend((1..=N_LAGS).map(|k| price(&features::lag_name(k))));
        fields.push(price(TARGET));
        fields.into_iter().collect()
    }

    fn height(&self) -> usize {
        self.at.len()
    }

    fn column(&self, index: usize, rows: Range<usize>) -> PolarsResult<polars::prelude::Series> {
        let at = &self.at[rows.clone()];
        let local_ms = || at.iter().map(|&i| self.bars.times[i as usize].local_ms);
        let calendar = |name: &str, part: fn(i64) -> i8| {
            let values: Vec<i8> = local_ms().map(part).collect();
            polars::prelude::Series::new(name.into(), values)
        };
        let price = |name: &str, at_row: &dyn Fn(usize) -> usize| {
            let values: Vec<f64> = at
                .iter()
                .map(|&i| self.bars.prices[at_row(i as usize)])
                .collect();
            polars::prelude::Series::new(name.into(), values)
        };
        let names = features::CALENDAR;
        Ok(match index {
            0 => {
                let values: Vec<i64> = self.positions[rows].iter().map(|&p| p as i64).collect();
                polars::prelude::Series::new(ROW.into(), values)
            }
            1 => {
                datetime_ms_column(features::DATE, local_ms().collect()).take_materialized_series()
            }
            2 => calendar(names[0], |ms| {
                civil_from_days(ms.div_euclid(DAY_MS)).1 as i8
            }),
            3 => calendar(names[1], |ms| {
                civil_from_days(ms.div_euclid(DAY_MS)).2 as i8
            }),
            4 => calendar(names[2], |ms| (ms.rem_euclid(DAY_MS) / 3_600_000) as i8),
            5 => calendar(names[3], |ms| (ms.rem_euclid(DAY_MS) / 60_000 % 60) as i8),
            // 0 = Monday, as pandas' dayofweek; 1970-01-01 was a Thursday.
            6 => calendar(names[4], |ms| {
                (ms.div_euclid(DAY_MS) + 3).rem_euclid(7) as i8
            }),
            FIRST_PRICE_COLUMN => price(TYPPRICE, &|i| i),
            i if i <= FIRST_PRICE_COLUMN + N_LAGS => {
                let k = i - FIRST_PRICE_COLUMN;
                price(&features::lag_name(k), &|i| i - k)
            }
            i if i == FIRST_PRICE_COLUMN + N_LAGS + 1 => price(TARGET, &|i| i + 1),
            i => polars_bail!(ColumnNotFound: "the feature table has no column {i}"),
        })
    }

    /// Price columns are windows of the bars' prices wherever the rows are consecutive bars
    /// (every row group of a chronological split without gaps).
    fn window(&self, index: usize, rows: Range<usize>) -> Option<Window<'_>> {
        let at = &self.at[rows];
        let (&first, &last) = (at.first()?, at.last()?);
        // `at` ascends strictly: the rows are consecutive bars when the ends are len - 1 apart.
        if (last - first) as usize != at.len() - 1 {
            return None;
        }
        let first = first as usize;
        let start = match index {
            FIRST_PRICE_COLUMN => first,
            i if i > FIRST_PRICE_COLUMN && i <= FIRST_PRICE_COLUMN + N_LAGS => {
                first.checked_sub(i - FIRST_PRICE_COLUMN)?
            }
            i if i == FIRST_PRICE_COLUMN + N_LAGS + 1 => first + 1,
            _ => return None,
        };
        (start + at.len() <= self.bars.prices.len()).then_some(Window {
            series: &self.bars.prices,
            start,
        })
    }
}

/// Row positions of each split, each ascending (time order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    pub train: Vec<u32>,
    pub validation: Vec<u32>,
    pub test: Vec<u32>,
}

/// Split sizes as scikit-learn's `train_test_split` gives them when applied twice with
/// `test_size=0.2` (the original's method): test = ⌈n/5⌉, validation = ⌈(n − test)/5⌉, the
/// rest (≈ 64 %) is train.
pub fn split_sizes(n: usize) -> (usize, usize, usize) {
    let test = n.div_ceil(5);
    let validation = (n - test).div_ceil(5);
    (n - test - validation, validation, test)
}

pub fn split_indices(n: usize, method: SplitMethod, seed: u64) -> SplitIndices {
    let (n_train, n_val, _) = split_sizes(n);
    let mut ids: Vec<u32> = (0..n as u32).collect();
    if method == SplitMethod::Random {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        ids.shuffle(&mut rng);
    }
    let mut train = ids[..n_train].to_vec();
    let mut validation = ids[n_train..n_train + n_val].to_vec();
    let mut test = ids[n_train + n_val..].to_vec();
    train.sort_unstable();
    validation.sort_unstable();
    test.sort_unstable();
    SplitIndices {
        train,
        validation,
        test,
    }
}

fn format_local(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let mins = ms.rem_euclid(DAY_MS) / 60_000;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", mins / 60, mins % 60)
}

/// The processing record as a one-row table (counts only: deterministic across retries).
fn report_frame(r: &ProcessingReport) -> PolarsResult<DataFrame> {
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
            u("rows_read", r.rows_read),
            u("rows_out_of_order", r.rows_out_of_order),
            u("duplicates_conflicting", r.duplicates_conflicting),
            u("dropped_duplicate_timestamp", d.duplicate_timestamp),
            u("dropped_missing_typprice", d.missing_typprice),
            u("dropped_warmup", d.warmup),
            u("dropped_no_next_row", d.no_next_row),
            u("dropped_neighbour_missing", d.neighbour_missing),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_follow_train_test_split_twice() {
        assert_eq!(split_sizes(100), (64, 16, 20));
        assert_eq!(split_sizes(3), (1, 1, 1));
        let (a, b, c) = split_sizes(700_001);
        assert_eq!(a + b + c, 700_001);
        assert_eq!(c, 140_001);
    }

    #[test]
    fn splits_are_disjoint_and_cover() {
        for method in [SplitMethod::Random, SplitMethod::Chronological] {
            let s = split_indices(1000, method, 7);
            let mut all: Vec<u32> = s
                .train
                .iter()
                .chain(&s.validation)
                .chain(&s.test)
                .copied()
                .collect();
            all.sort_unstable();
            assert_eq!(all, (0..1000).collect::<Vec<u32>>());
        }
        let c = split_indices(10, SplitMethod::Chronological, 0);
        assert_eq!(c.train, (0..6).collect::<Vec<u32>>());
        assert_eq!(c.validation, vec![6, 7]);
        assert_eq!(c.test, vec![8, 9]);
        assert_eq!(
            split_indices(500, SplitMethod::Random, 1),
            split_indices(500, SplitMethod::Random, 1)
        );
        assert_ne!(
            split_indices(500, SplitMethod::Random, 1),
            split_indices(500, SplitMethod::Random, 2)
        );
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
}
