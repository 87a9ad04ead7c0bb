//! Parquet encoding and decoding of the tables groves writes.

use std::io::Cursor;

use polars::prelude::*;

/// Encodes a table as Parquet. Snappy: cheap to write, and every Parquet reader (Athena,
/// DuckDB, pandas) reads it. Unsigned integer columns are written as signed ones: Athena has no
/// unsigned types and cannot read Parquet's UINT_64 (a value beyond `i64` is an error here).
pub fn to_parquet(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut signed = signed_integers(df)?;
    let df = signed.as_mut().unwrap_or(df);
    let mut buf = Vec::with_capacity(df.estimated_size() / 2 + 1024);
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Snappy)
        .finish(df)?;
    Ok(buf)
}

/// The table with every unsigned column cast to the signed type that holds its range, or None
/// when it has none.
fn signed_integers(df: &DataFrame) -> PolarsResult<Option<DataFrame>> {
    let target = |dt: &DataType| match dt {
        DataType::UInt8 | DataType::UInt16 => Some(DataType::Int32),
        DataType::UInt32 | DataType::UInt64 => Some(DataType::Int64),
        _ => None,
    };
    if !df.columns().iter().any(|c| target(c.dtype()).is_some()) {
        return Ok(None);
    }
    let columns = df
        .columns()
        .iter()
        .map(|c| match target(c.dtype()) {
            Some(t) => c.strict_cast(&t).map_err(|e| {
                polars_err!(ComputeError: "column `{}` does not fit a signed integer: {e}", c.name())
            }),
            None => Ok(c.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(df.height(), columns).map(Some)
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

    #[test]
    fn unsigned_columns_are_written_signed_and_read_back_equal() {
        let mut df = df!(
            "row" => [0u32, 4_000_000_000],
            "n" => [1u64, i64::MAX as u64],
            "x" => [0.5f64, 1.5],
        )
        .unwrap();
        let back = from_parquet(&to_parquet(&mut df).unwrap()).unwrap();
        assert_eq!(back.column("row").unwrap().dtype(), &DataType::Int64);
        assert_eq!(back.column("n").unwrap().dtype(), &DataType::Int64);
        assert_eq!(back.column("x").unwrap().dtype(), &DataType::Float64);
        let rows: Vec<i64> = back
            .column("row")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(rows, [0, 4_000_000_000]);
        let mut too_big = df!("seed" => [u64::MAX]).unwrap();
        let e = to_parquet(&mut too_big).unwrap_err().to_string();
        assert!(e.contains("seed"), "{e}");
    }
}
