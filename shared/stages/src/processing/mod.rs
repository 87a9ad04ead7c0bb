//! processing: one raw minute file → the feature table (`TYPPRICE`, its 10 lags, the next
//! minute's `TYPPRICE` as target, calendar parts), cut into train / validation / test.
//!
//! The raw file is read by `groves_data::raw`; here the bars are sorted and cleaned
//! ([`bars`]), the rows split ([`split`]), and the splits' tables built as they are encoded
//! ([`feature_table`]).

mod bars;
mod feature_table;
mod live_minutes;
mod record;
mod split;

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use groves_core::calendar::format_wall;
use groves_core::events::ProcessingEvent;
use groves_core::ids::Symbol;
use groves_core::layout::{self, Split, Unit};
use groves_core::stage::Stage;
use groves_core::timing::ms_since;
use groves_data::raw::{read_raw, RawSeries};
use groves_data::table::{to_parquet, to_parquet_each, ChunkedTable};
use groves_store::Store;
use serde_json::Value;

pub use feature_table::Splits;
pub use record::{DropCounts, ProcessingError, ProcessingOptions, ProcessingReport};
pub use split::{split_indices, split_sizes, SplitIndices};

use crate::clock::Clock;
use crate::error::{Result, StageError};
use crate::unit::{counted, counting, run_recorded, UnitContext};

/// The unit of work, as its Lambda function and the in-process pool run it: the raw file from
/// the event's input bucket, the tables into its output bucket.
pub async fn handle(ctx: &UnitContext, e: &ProcessingEvent) -> Result<Value> {
    let (key, stock) = e.source().map_err(|message| ProcessingError::Invalid {
        file: e.file.clone(),
        message,
    })?;
    let (input, in_count) = counted(ctx.buckets.open(&e.inbucket));
    let (output, out_count) = counted(ctx.buckets.open(&e.outbucket));
    let opts = ProcessingOptions::from(e);
    let unit = Unit::Stock(stock.clone());
    let work = run_recorded(output.as_ref(), &e.run, Stage::Processing, &unit, async {
        process_key(input.as_ref(), output.as_ref(), &key, &stock, &opts)
            .await
            .map_err(StageError::from)
    });
    counting(vec![in_count, out_count], work).await
}

/// Processes the raw object `key` of `stock` from `input` into `output`: the split tables, the
/// processing record and the timing record.
pub async fn process_key(
    input: &dyn Store,
    output: &dyn Store,
    key: &str,
    stock: &Symbol,
    opts: &ProcessingOptions,
) -> Result<ProcessingReport, ProcessingError> {
    let mut clock = Clock::start(opts.invoked_at);
    let local = input.fetch_to_file(key).await?;
    let label = format!("{}/{key}", input.describe());
    let (stock2, opts2, key2) = (stock.clone(), opts.clone(), key.to_string());
    let path = local.path().to_path_buf();
    let (splits, mut report) = match opts.until_ms {
        None => blocking(move || process_file(&path, &label, &key2, &stock2, &opts2)).await?,
        Some(until) => {
            // Data up to a minute: the raw file, then the live minutes after its last bar.
            let (label2, extras) = (label.clone(), opts.features.clone());
            let t0 = Instant::now();
            let mut raw = blocking(move || read_raw(&path, &label2, &extras)).await?;
            let read_ms = ms_since(t0);
            live_minutes::append(input, stock, &opts.features, until, &mut raw).await?;
            raw.keep_until(until);
            blocking(move || process_series(raw, read_ms, &label, &key2, &stock2, &opts2)).await?
        }
    };
    // Read is the download and the parse; process_file measured the parse as its read.
    clock.read_and_compute_done(report.compute_ms);
    report.read_ms = clock.read_ms;
    drop(local);
    write_processed(output, stock, opts, splits, &mut report, &mut clock).await?;
    Ok(report)
}

/// Runs CPU-bound parsing and sorting off the async workers (a panic stays a panic).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

/// Writes the split tables, then the processing record (its presence means the splits are all
/// there), then the timing record; fills in `report.write_ms` (time since the clock's last
/// phase), which includes building the feature columns (they are built a row group at a time
/// as they are encoded). Each split is stored as soon as it is encoded, while the others are
/// still being encoded (on Lambda the upload overlaps the work); a failure leaves no processing
/// record, and a retry writes the same bytes again.
pub async fn write_processed(
    output: &dyn Store,
    stock: &Symbol,
    opts: &ProcessingOptions,
    splits: Splits,
    report: &mut ProcessingReport,
    clock: &mut Clock,
) -> Result<(), ProcessingError> {
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
    let stats = to_parquet(&record::report_frame(report).map_err(table_err)?).map_err(table_err)?;
    // The record after the splits, as its presence means they are all there.
    output
        .put(
            &layout::processing_stats_key(&opts.run, stock),
            Bytes::from(stats),
        )
        .await?;
    clock.write_done();
    report.write_ms = clock.write_ms;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let unit = Unit::Stock(stock.clone());
    clock
        .record(output, &opts.run, Stage::Processing, &unit, threads)
        .await
        .map_err(|e| match e {
            StageError::Store(e) => ProcessingError::Store(e),
            StageError::Table { source, .. } => table_err(source),
            other => ProcessingError::Invalid {
                file: file.clone(),
                message: other.to_string(),
            },
        })
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
    let raw = read_raw(path, label, &opts.features)?;
    process_series(raw, ms_since(t0), label, source_key, stock, opts)
}

/// [`process_file`] after the read: `raw` read in `read_ms`.
pub fn process_series(
    raw: RawSeries,
    read_ms: f64,
    label: &str,
    source_key: &str,
    stock: &Symbol,
    opts: &ProcessingOptions,
) -> Result<(Splits, ProcessingReport), ProcessingError> {
    let t1 = Instant::now();
    let layout_name = raw.layout.as_str();
    let (bars, mut report) = bars::build_bars(raw, opts);
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
    report.first_bar = format_wall(bars.times[bars.rows[0] as usize].local_ms);
    report.last_bar = format_wall(bars.times[bars.rows[kept - 1] as usize].local_ms);
    report.run = opts.run.to_string();
    report.stock = stock.to_string();
    report.source_key = source_key.to_string();
    report.layout = layout_name;
    report.read_ms = read_ms;
    report.compute_ms = ms_since(t1);
    let splits = Splits {
        horizon: opts.horizon.max(1) as usize,
        extra_names: opts.features.clone(),
        bars,
        positions: [idx.train, idx.validation, idx.test],
        at,
    };
    Ok((splits, report))
}
