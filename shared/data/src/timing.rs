//! The timing record of one unit of work as a one-row table (`timings/run=/stage=/<unit>.parquet`),
//! and back.

use groves_core::timing::TimingRecord;
use polars_core::prelude::*;

use crate::table::{datetime_ms_column, datetime_ms_column_opt};

/// What is wrong with a stored timing record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Table(#[from] PolarsError),
    #[error("timing record: {0}")]
    Missing(String),
}

pub fn to_frame(r: &TimingRecord) -> PolarsResult<DataFrame> {
    DataFrame::new(
        1,
        vec![
            Column::new("run".into(), [r.run.as_str()]),
            Column::new("stage".into(), [r.stage.as_str()]),
            Column::new("unit".into(), [r.unit.as_str()]),
            Column::new("stock".into(), [r.stock.as_deref()]),
            datetime_ms_column_opt("invoked_at", vec![r.invoked_ms]),
            datetime_ms_column("started_at", vec![r.started_ms]),
            datetime_ms_column("finished_at", vec![r.finished_ms]),
            Column::new("read_ms".into(), [r.read_ms]),
            Column::new("compute_ms".into(), [r.compute_ms]),
            Column::new("write_ms".into(), [r.write_ms]),
            Column::new("executor".into(), [r.executor.as_str()]),
            Column::new("memory_mb".into(), [r.memory_mb]),
            Column::new("threads".into(), [r.threads]),
            Column::new("cold_start".into(), [r.cold_start]),
        ],
    )
}

pub fn from_frame(df: &DataFrame) -> Result<TimingRecord, RecordError> {
    let bad = |what: &str| RecordError::Missing(what.to_string());
    let col = |name: &str, dt: DataType| df.column(name).and_then(|c| c.cast(&dt));
    let text = |name: &str| -> Result<Option<String>, RecordError> {
        Ok(col(name, DataType::String)?
            .str()?
            .get(0)
            .map(str::to_string))
    };
    let int = |name: &str| -> Result<Option<i64>, RecordError> {
        Ok(col(name, DataType::Int64)?.i64()?.get(0))
    };
    let float = |name: &str| -> Result<f64, RecordError> {
        col(name, DataType::Float64)?
            .f64()?
            .get(0)
            .ok_or_else(|| bad(name))
    };
    Ok(TimingRecord {
        run: text("run")?.ok_or_else(|| bad("run"))?,
        stage: text("stage")?.ok_or_else(|| bad("stage"))?,
        unit: text("unit")?.ok_or_else(|| bad("unit"))?,
        stock: text("stock")?,
        invoked_ms: int("invoked_at")?,
        started_ms: int("started_at")?.ok_or_else(|| bad("started_at"))?,
        finished_ms: int("finished_at")?.ok_or_else(|| bad("finished_at"))?,
        read_ms: float("read_ms")?,
        compute_ms: float("compute_ms")?,
        write_ms: float("write_ms")?,
        executor: text("executor")?.unwrap_or_default(),
        memory_mb: int("memory_mb")?.map(|m| m as u32),
        threads: int("threads")?.map_or(1, |t| t as u32),
        // Records written before the column existed have none.
        cold_start: match df.column("cold_start") {
            Ok(c) => c.cast(&DataType::Boolean)?.bool()?.get(0),
            Err(_) => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{from_parquet, to_parquet};

    fn record(cold_start: Option<bool>) -> TimingRecord {
        TimingRecord {
            run: "r".into(),
            stage: "param-preds".into(),
            unit: "TCS.f5_s5_g0".into(),
            stock: Some("TCS".into()),
            invoked_ms: Some(1_000),
            started_ms: 1_040,
            finished_ms: 2_000,
            read_ms: 10.5,
            compute_ms: 900.0,
            write_ms: 3.25,
            executor: "lambda".into(),
            memory_mb: Some(1769),
            threads: 1,
            cold_start,
        }
    }

    #[test]
    fn timing_records_read_back_with_their_cold_start() {
        for cold in [Some(true), Some(false), None] {
            let r = record(cold);
            let bytes = to_parquet(&to_frame(&r).unwrap()).unwrap();
            let back = from_frame(&from_parquet(&bytes).unwrap()).unwrap();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn records_from_before_the_cold_start_column_read_as_unknown() {
        let mut df = to_frame(&record(Some(true))).unwrap();
        df = df.drop("cold_start").unwrap();
        let bytes = to_parquet(&df).unwrap();
        let back = from_frame(&from_parquet(&bytes).unwrap()).unwrap();
        assert_eq!(back, record(None));
    }

    #[test]
    fn a_record_without_its_times_is_refused() {
        let df = to_frame(&record(None)).unwrap().drop("started_at").unwrap();
        assert!(from_frame(&df).is_err());
    }
}
