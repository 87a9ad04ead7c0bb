//! Parquet encoding and decoding of the tables groves writes.

use std::io::Cursor;

use polars::prelude::*;

/// Encodes a table as Parquet. Snappy: cheap to write, and every Parquet reader (Athena,
/// DuckDB, pandas) reads it.
pub fn to_parquet(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut buf = Vec::with_capacity(df.estimated_size() / 2 + 1024);
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Snappy)
        .finish(df)?;
    Ok(buf)
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
