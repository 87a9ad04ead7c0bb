//! Parquet encoding and decoding of the tables groves writes.

use std::io::Cursor;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;
use polars_parquet::write::{
    array_to_columns, compress, get_dtype_encoding, CompressedPage, Encoding, ParquetType,
    StatisticsOptions, Version, WriteOptions,
};

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

/// Encodes a table as Parquet (see [`to_parquet_all`]).
pub fn to_parquet(df: &DataFrame) -> PolarsResult<Vec<u8>> {
    let mut files = to_parquet_all(&[df])?;
    Ok(files.pop().unwrap_or_default())
}

/// Encodes several tables as Parquet files at once, Snappy-compressed. Unsigned integer
/// columns are written as signed ones: Athena has no unsigned types and cannot read Parquet's
/// UINT_64 (a value beyond `i64` is an error here).
///
/// polars' writer encodes and compresses one column after another on the calling thread; here
/// every row group of every column of every table is a task for all the cores, so tables of
/// uneven size keep every core busy to the end, and a chunk is built, encoded and dropped
/// while it is still in the cache.
pub fn to_parquet_all(tables: &[&dyn ChunkedTable]) -> PolarsResult<Vec<Vec<u8>>> {
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
    for (t, (table, schema)) in tables.iter().zip(&schemas).enumerate() {
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
    let mut encoded = encode_in_parallel(tables, &chunks)?.into_iter();

    // Chunks were laid out table by table, column by column, row group by row group.
    let mut files = Vec::with_capacity(tables.len());
    for (table, schema) in tables.iter().zip(&schemas) {
        let n_groups = table.height().div_ceil(ROW_GROUP_ROWS);
        let mut groups: Vec<Vec<Vec<CompressedPage>>> = (0..n_groups).map(|_| Vec::new()).collect();
        for _ in 0..schema.len() {
            for group in &mut groups {
                group.extend(encoded.next().ok_or_else(
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
        files.push(file);
    }
    Ok(files)
}

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

/// Builds, encodes and compresses every chunk on every core; the pages of each chunk's leaves,
/// in the chunks' order.
fn encode_in_parallel(
    tables: &[&dyn ChunkedTable],
    chunks: &[ColumnChunk],
) -> PolarsResult<Vec<Vec<Vec<CompressedPage>>>> {
    let encode = |c: &ColumnChunk| -> PolarsResult<Vec<Vec<CompressedPage>>> {
        let series = tables[c.table].column(c.index, c.rows.clone())?;
        let series = if series.dtype() == c.dtype {
            series
        } else {
            series.strict_cast(c.dtype).map_err(|e| {
                polars_err!(ComputeError: "column `{}` does not fit a signed integer: {e}", c.name)
            })?
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
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len());
    if threads <= 1 {
        return chunks.iter().map(encode).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, PolarsResult<_>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else {
                            return out;
                        };
                        out.push((i, encode(chunk)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, pages)| pages).collect()
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
