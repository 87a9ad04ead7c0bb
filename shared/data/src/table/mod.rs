//! Parquet encoding and decoding of the tables groves writes.

use std::io::Cursor;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use polars_core::prelude::*;
use polars_io::prelude::*;
use polars_parquet::parquet::page::DataPageHeader;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::write::{
    array_to_columns, compress, get_dtype_encoding, CompressedDataPage, CompressedPage, Encoding,
    Page, ParquetType, StatisticsOptions, Version, WriteOptions,
};

mod windows;
use windows::FragmentCache;

/// Rows per row group: the size polars' own writer cuts (512²).
const ROW_GROUP_ROWS: usize = 512 * 512;

/// Snappy: cheap to write, and every Parquet reader (Athena, DuckDB, pandas) reads it.
const COMPRESSION: ParquetCompression = ParquetCompression::Snappy;

/// A table that hands out its columns a row range at a time, so that a large table can be
/// encoded without ever being built whole.
pub trait ChunkedTable: Sync {
    /// Column names and types, in file order.
    fn schema(&self) -> Schema;
    fn height(&self) -> usize;
    /// Rows `rows` of column `index`; called once per row group, from any thread.
    fn column(&self, index: usize, rows: Range<usize>) -> PolarsResult<Series>;
    /// When rows `rows` of `f64` column `index` are consecutive values of a longer series that
    /// other columns take windows of too (a price and its lags), that series and where the
    /// window starts. The encoder then takes the values from there (not from `column`) and
    /// compresses the series once for all its windows.
    fn window(&self, index: usize, rows: Range<usize>) -> Option<Window<'_>> {
        let _ = (index, rows);
        None
    }
}

/// Rows of a column that are `series[start..]`, as many as the rows asked for.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub series: &'a [f64],
    pub start: usize,
}

impl ChunkedTable for DataFrame {
    fn schema(&self) -> Schema {
        self.schema().as_ref().clone()
    }
    fn height(&self) -> usize {
        self.height()
    }
    fn column(&self, index: usize, rows: Range<usize>) -> PolarsResult<Series> {
        let column = self.columns().get(index).ok_or_else(
            || polars_err!(ColumnNotFound: "column {index} of a {}-column table", self.width()),
        )?;
        Ok(column
            .slice(rows.start as i64, rows.len())
            .as_materialized_series()
            .clone())
    }
}

/// Encodes a table as Parquet (see [`to_parquet_each`]).
pub fn to_parquet(df: &DataFrame) -> PolarsResult<Vec<u8>> {
    let mut files = to_parquet_all(&[df])?;
    Ok(files.pop().unwrap_or_default())
}

/// Encodes several tables as Parquet files at once (see [`to_parquet_each`]); the files in
/// the tables' order.
pub fn to_parquet_all(tables: &[&dyn ChunkedTable]) -> PolarsResult<Vec<Vec<u8>>> {
    let files = Mutex::new(vec![Vec::new(); tables.len()]);
    to_parquet_each(tables, &|t, file| {
        files.lock().unwrap_or_else(PoisonError::into_inner)[t] = file;
    })?;
    Ok(files.into_inner().unwrap_or_else(PoisonError::into_inner))
}

/// Encodes several tables as Parquet files at once, Snappy-compressed, and hands each file to
/// `on_file(table index, bytes)` as soon as it is complete, from a worker thread, while later
/// tables are still being encoded (so the caller can store it meanwhile). Unsigned integer
/// columns are written as signed ones: Athena has no unsigned types and cannot read Parquet's
/// UINT_64 (a value beyond `i64` is an error here). On an error, tables not yet complete are
/// not handed out.
///
/// polars' writer encodes and compresses one column after another on the calling thread; here
/// every row group of every column of every table is a task for all the cores, so tables of
/// uneven size keep every core busy to the end, and a chunk is built, encoded and dropped
/// while it is still in the cache. Tasks are taken in table order: the first table is
/// complete first.
pub fn to_parquet_each(
    tables: &[&dyn ChunkedTable],
    on_file: &(dyn Fn(usize, Vec<u8>) + Sync),
) -> PolarsResult<()> {
    let schemas: Vec<Schema> = tables
        .iter()
        .map(|table| {
            table
                .schema()
                .iter()
                .map(|(name, dtype)| {
                    let written = signed_type(dtype).unwrap_or_else(|| dtype.clone());
                    Field::new(name.clone(), written)
                })
                .collect()
        })
        .collect();
    let mut chunks = Vec::new();
    // Each table's chunks: column by column, row group by row group.
    let mut first_chunk = Vec::with_capacity(tables.len());
    for (t, (table, schema)) in tables.iter().zip(&schemas).enumerate() {
        first_chunk.push(chunks.len());
        // Only the writer knows the Parquet type of a column; a throwaway one tells us.
        let types = ParquetWriter::new(Vec::new())
            .batched(schema)?
            .parquet_schema()
            .fields()
            .to_vec();
        for (index, ((name, dtype), ty)) in schema.iter().zip(types).enumerate() {
            for start in (0..table.height()).step_by(ROW_GROUP_ROWS) {
                chunks.push(ColumnChunk {
                    table: t,
                    index,
                    name: name.as_str(),
                    dtype,
                    rows: start..(start + ROW_GROUP_ROWS).min(table.height()),
                    ty: ty.clone(),
                });
            }
        }
    }
    first_chunk.push(chunks.len());
    let slots: Vec<Mutex<Option<Pages>>> = chunks.iter().map(|_| Mutex::new(None)).collect();
    let remaining: Vec<AtomicUsize> = first_chunk
        .windows(2)
        .map(|w| AtomicUsize::new(w[1] - w[0]))
        .collect();

    // Writes table `t`'s file from its encoded chunks.
    let assemble = |t: usize| -> PolarsResult<Vec<u8>> {
        let (table, schema) = (tables[t], &schemas[t]);
        let n_groups = table.height().div_ceil(ROW_GROUP_ROWS);
        let mut groups: Vec<Pages> = (0..n_groups).map(|_| Vec::new()).collect();
        let mut slot = slots[first_chunk[t]..first_chunk[t + 1]].iter();
        for _ in 0..schema.len() {
            for group in &mut groups {
                let pages = slot
                    .next()
                    .and_then(|s| s.lock().unwrap_or_else(PoisonError::into_inner).take());
                group.extend(pages.ok_or_else(
                    || polars_err!(ComputeError: "a column chunk of the table was not encoded"),
                )?);
            }
        }
        let pages: usize = groups.iter().flatten().flatten().map(page_bytes).sum();
        // Page headers and the footer are small next to the pages.
        let mut file = Vec::with_capacity(pages + pages / 64 + 64 * 1024);
        let mut writer = ParquetWriter::new(&mut file)
            .with_compression(COMPRESSION)
            .batched(schema)?;
        for (g, leaves) in groups.iter().enumerate() {
            let rows = (table.height() - g * ROW_GROUP_ROWS).min(ROW_GROUP_ROWS);
            writer.write_row_group(rows as u64, leaves)?;
        }
        writer.finish()?;
        drop(writer);
        Ok(file)
    };
    // Tables without chunks (no rows or no columns) are complete already.
    for (t, left) in remaining.iter().enumerate() {
        if left.load(Ordering::Relaxed) == 0 {
            on_file(t, assemble(t)?);
        }
    }

    let cache = FragmentCache::default();
    // The error of the earliest failed chunk (or table) seen; once set, no new work starts.
    let failure: Mutex<Option<(usize, PolarsError)>> = Mutex::new(None);
    let failed = AtomicBool::new(false);
    let fail = |i: usize, e: PolarsError| {
        failed.store(true, Ordering::Relaxed);
        let mut f = failure.lock().unwrap_or_else(PoisonError::into_inner);
        if f.as_ref().is_none_or(|(j, _)| i < *j) {
            *f = Some((i, e));
        }
    };
    let run = |i: usize| {
        let c = &chunks[i];
        match encode_chunk(tables, c, &cache) {
            Ok(pages) => {
                *slots[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(pages);
                // The last chunk of a table to finish completes its file.
                if remaining[c.table].fetch_sub(1, Ordering::AcqRel) == 1 {
                    match assemble(c.table) {
                        Ok(file) => on_file(c.table, file),
                        Err(e) => fail(i, e),
                    }
                }
            }
            Err(e) => fail(i, e),
        }
    };
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= chunks.len() || failed.load(Ordering::Relaxed) {
            return;
        }
        run(i);
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len());
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            for w in workers {
                w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            }
        });
    }
    match failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// The pages of each leaf of one encoded column chunk.
type Pages = Vec<Vec<CompressedPage>>;

/// One row group's slice of one column, to be built, encoded and compressed.
struct ColumnChunk<'a> {
    table: usize,
    index: usize,
    name: &'a str,
    /// The type written (unsigned integers already mapped to signed ones).
    dtype: &'a DataType,
    rows: Range<usize>,
    ty: ParquetType,
}

/// A data page's compressed bytes; dictionary pages (small ones, of low-cardinality columns)
/// count 0, as the file's capacity is only a hint.
fn page_bytes(page: &CompressedPage) -> usize {
    match page {
        CompressedPage::Data(p) => p.compressed_size(),
        CompressedPage::Dict(_) => 0,
    }
}

/// The signed type that holds every value of an unsigned one, or None for other types.
fn signed_type(dtype: &DataType) -> Option<DataType> {
    match dtype {
        DataType::UInt8 | DataType::UInt16 => Some(DataType::Int32),
        DataType::UInt32 | DataType::UInt64 => Some(DataType::Int64),
        _ => None,
    }
}

/// Encodings of a column's leaves. Wide numbers (prices, times, row numbers) are all distinct
/// values: a dictionary never pays for them, and polars would estimate every such column's
/// cardinality only to write it plain anyway. Other columns get polars' choice.
fn encodings_of(dtype: &DataType) -> Vec<Encoding> {
    match dtype {
        DataType::Float32
        | DataType::Float64
        | DataType::Int64
        | DataType::Datetime(..)
        | DataType::Duration(_) => vec![Encoding::Plain],
        other => get_dtype_encoding(&other.to_arrow(CompatLevel::newest())),
    }
}

/// How a column chunk is written. Floating columns (prices, predictions, errors) get no
/// min/max statistics: no query filters on them, and they cost as much as the plain encoding.
fn write_options(dtype: &DataType) -> WriteOptions {
    let floating = matches!(dtype, DataType::Float32 | DataType::Float64);
    WriteOptions {
        statistics: StatisticsOptions {
            min_value: !floating,
            max_value: !floating,
            ..StatisticsOptions::default()
        },
        version: Version::V1,
        compression: COMPRESSION.into(),
        data_page_size: None,
    }
}

/// Builds, encodes and compresses one chunk.
fn encode_chunk(
    tables: &[&dyn ChunkedTable],
    c: &ColumnChunk,
    cache: &FragmentCache,
) -> PolarsResult<Pages> {
    if let Some(window) = tables[c.table].window(c.index, c.rows.clone()) {
        return encode_window(c, window, cache);
    }
    let series = tables[c.table].column(c.index, c.rows.clone())?;
    let series = if series.dtype() == c.dtype {
        series
    } else {
        series.strict_cast(c.dtype).map_err(
            |e| polars_err!(ComputeError: "column `{}` does not fit a signed integer: {e}", c.name),
        )?
    };
    polars_ensure!(
        series.len() == c.rows.len(),
        ComputeError: "column `{}` gave {} rows for {} requested", c.name, series.len(), c.rows.len()
    );
    let array = series.rechunk().to_arrow(0, CompatLevel::newest());
    let options = write_options(c.dtype);
    array_to_columns(array, c.ty.clone(), options, &encodings_of(c.dtype))?
        .into_iter()
        .map(|pages| {
            pages
                .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                .collect()
        })
        .collect()
}

/// Encodes a chunk whose values are a window of a series, its pages compressed from the
/// series' shared fragments (see `windows`).
fn encode_window(c: &ColumnChunk, window: Window, cache: &FragmentCache) -> PolarsResult<Pages> {
    polars_ensure!(
        c.dtype == &DataType::Float64,
        ComputeError: "column `{}` is a window of an f64 series but has type {}", c.name, c.dtype
    );
    let values = window
        .series
        .get(window.start..window.start + c.rows.len())
        .ok_or_else(|| {
            polars_err!(ComputeError: "column `{}`: window {}..+{} outside its series of {} values",
                c.name, window.start, c.rows.len(), window.series.len())
        })?;
    let array = Series::new(c.name.into(), values.to_vec()).to_arrow(0, CompatLevel::newest());
    let options = write_options(c.dtype);
    let mut first = window.start;
    array_to_columns(array, c.ty.clone(), options, &[Encoding::Plain])?
        .into_iter()
        .map(|pages| {
            pages
                .map(|page| {
                    let page = match page? {
                        // Version::V1 pages: their level bytes, then the plain values (no nulls).
                        Page::Data(page) if matches!(page.header(), DataPageHeader::V1(_)) => page,
                        _ => polars_bail!(
                            ComputeError: "column `{}`: a window page must be a V1 data page", c.name
                        ),
                    };
                    let n = page.num_values();
                    let bytes = page.buffer();
                    polars_ensure!(
                        bytes.len() >= 8 * n,
                        ComputeError: "column `{}`: a page of {n} values has {} bytes", c.name, bytes.len()
                    );
                    let (levels, plain) = bytes.split_at(bytes.len() - 8 * n);
                    debug_assert!(plain
                        .chunks_exact(8)
                        .zip(&window.series[first..first + n])
                        .all(|(b, v)| b == v.to_le_bytes()));
                    let compressed = windows::compress_window(cache, window.series, first, n, levels)
                        .map_err(|e| polars_err!(ComputeError: "column `{}`: {e}", c.name))?;
                    first += n;
                    Ok(CompressedPage::Data(CompressedDataPage::new(
                        page.header().clone(),
                        CowBuffer::Owned(compressed),
                        options.compression.into(),
                        bytes.len(),
                        page.descriptor.clone(),
                        page.num_rows.unwrap_or(n),
                    )))
                })
                .collect()
        })
        .collect()
}

/// Decodes a Parquet object held in memory.
pub fn from_parquet(bytes: &[u8]) -> PolarsResult<DataFrame> {
    ParquetReader::new(Cursor::new(bytes)).finish()
}

/// A datetime column at millisecond precision (Athena cannot read nanosecond timestamps).
pub fn datetime_ms_column(name: &str, ms: Vec<i64>) -> Column {
    Int64Chunked::from_vec(name.into(), ms)
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_series()
        .into()
}

/// A datetime column at millisecond precision that may have empty cells.
pub fn datetime_ms_column_opt(name: &str, ms: Vec<Option<i64>>) -> Column {
    Int64Chunked::from_iter_options(name.into(), ms.into_iter())
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_series()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i64_values(df: &DataFrame, name: &str) -> Vec<i64> {
        let column = df.column(name).unwrap();
        column.i64().unwrap().into_no_null_iter().collect()
    }

    #[test]
    fn unsigned_columns_are_written_signed_and_read_back_equal() {
        let df = df!(
            "row" => [0u32, 4_000_000_000],
            "n" => [1u64, i64::MAX as u64],
            "x" => [0.5f64, 1.5],
        )
        .unwrap();
        let back = from_parquet(&to_parquet(&df).unwrap()).unwrap();
        assert_eq!(back.column("row").unwrap().dtype(), &DataType::Int64);
        assert_eq!(back.column("n").unwrap().dtype(), &DataType::Int64);
        assert_eq!(back.column("x").unwrap().dtype(), &DataType::Float64);
        assert_eq!(i64_values(&back, "row"), [0, 4_000_000_000]);
        let too_big = df!("seed" => [u64::MAX]).unwrap();
        let e = to_parquet(&too_big).unwrap_err().to_string();
        assert!(e.contains("seed"), "{e}");
    }

    /// Over two row groups of every column type the stages write, through the parallel path.
    #[test]
    fn tables_over_several_row_groups_read_back_equal() {
        let n = 2 * ROW_GROUP_ROWS + 1234;
        let ms: Vec<i64> = (0..n as i64)
            .map(|i| 1_420_000_000_000 + 60_000 * i)
            .collect();
        let df = DataFrame::new(
            n,
            vec![
                Column::new("row".into(), (0..n as u32).collect::<Vec<_>>()),
                datetime_ms_column("date", ms),
                Column::new(
                    "minute".into(),
                    (0..n).map(|i| (i % 60) as i8).collect::<Vec<_>>(),
                ),
                Column::new(
                    "price".into(),
                    (0..n).map(|i| 1000.0 + i as f64 / 3.0).collect::<Vec<_>>(),
                ),
                Column::new(
                    "name".into(),
                    (0..n).map(|i| format!("s{}", i % 7)).collect::<Vec<_>>(),
                ),
            ],
        )
        .unwrap();
        let small = df!("x" => [1.5f64, 2.5], "n" => [3u64, 4]).unwrap();
        let files = to_parquet_all(&[&df, &small]).unwrap();
        // Encoding tables together or one by one gives the same files.
        assert_eq!(files[0], to_parquet(&df).unwrap());
        assert_eq!(files[1], to_parquet(&small).unwrap());

        let back = from_parquet(&files[0]).unwrap();
        assert_eq!(back.height(), n);
        assert_eq!(back.column("row").unwrap().dtype(), &DataType::Int64);
        let row = i64_values(&back, "row");
        assert!(row.iter().enumerate().all(|(i, &r)| r == i as i64));
        for name in ["date", "minute", "price", "name"] {
            assert!(
                back.column(name).unwrap().equals(df.column(name).unwrap()),
                "column {name} changed"
            );
        }
        let back = from_parquet(&files[1]).unwrap();
        assert!(back.column("x").unwrap().equals(small.column("x").unwrap()));
    }

    /// Two columns that are windows of one series, one row group of which is not a window
    /// (as a gap in the rows makes it): every value reads back, and every table, the empty one
    /// too, is handed out once.
    #[test]
    fn window_columns_read_back_equal_and_each_file_is_handed_out_once() {
        struct Lagged {
            series: Vec<f64>,
            n: usize,
        }
        impl Lagged {
            /// Column 0 is `series[row + 3]`, column 1 `series[row + 2]`.
            fn start(index: usize, row: usize) -> usize {
                row + 3 - index
            }
        }
        impl ChunkedTable for Lagged {
            fn schema(&self) -> Schema {
                ["p", "lag"]
                    .into_iter()
                    .map(|name| Field::new(name.into(), DataType::Float64))
                    .collect()
            }
            fn height(&self) -> usize {
                self.n
            }
            fn column(&self, index: usize, rows: Range<usize>) -> PolarsResult<Series> {
                let first = Self::start(index, rows.start);
                let values = self.series[first..first + rows.len()].to_vec();
                Ok(Series::new("x".into(), values))
            }
            fn window(&self, index: usize, rows: Range<usize>) -> Option<Window<'_>> {
                (rows.start != ROW_GROUP_ROWS).then(|| Window {
                    series: &self.series,
                    start: Self::start(index, rows.start),
                })
            }
        }
        let n = 3 * ROW_GROUP_ROWS + 777;
        let series: Vec<f64> = (0..n + 3)
            .map(|i| 1000.0 + ((i * 7919) % 100_003) as f64 / 3.0)
            .collect();
        let table = Lagged { series, n };
        let empty = Lagged {
            series: Vec::new(),
            n: 0,
        };
        let handed = Mutex::new(Vec::new());
        to_parquet_each(&[&table, &empty], &|t, file| {
            handed.lock().unwrap().push((t, file));
        })
        .unwrap();
        let mut handed = handed.into_inner().unwrap();
        handed.sort_by_key(|(t, _)| *t);
        assert_eq!(handed.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [0, 1]);
        let back = from_parquet(&handed[0].1).unwrap();
        for (index, name) in ["p", "lag"].into_iter().enumerate() {
            let got: Vec<f64> = back
                .column(name)
                .unwrap()
                .f64()
                .unwrap()
                .into_no_null_iter()
                .collect();
            let start = Lagged::start(index, 0);
            assert_eq!(got, table.series[start..start + n], "column {name}");
        }
        assert_eq!(from_parquet(&handed[1].1).unwrap().height(), 0);
    }

    /// A table whose chunk has the wrong length is an error naming the column, not a file.
    #[test]
    fn a_chunk_of_the_wrong_length_is_an_error() {
        struct Short;
        impl ChunkedTable for Short {
            fn schema(&self) -> Schema {
                [Field::new("x".into(), DataType::Float64)]
                    .into_iter()
                    .collect()
            }
            fn height(&self) -> usize {
                10
            }
            fn column(&self, _: usize, rows: Range<usize>) -> PolarsResult<Series> {
                Ok(Series::new("x".into(), vec![0.0f64; rows.len() - 1]))
            }
        }
        let e = to_parquet_all(&[&Short]).unwrap_err().to_string();
        assert!(e.contains("`x`") && e.contains("9 rows"), "{e}");
    }
}
