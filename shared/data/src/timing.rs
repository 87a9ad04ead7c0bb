//! The timing record of one unit of work as a one-row table (`timings/run=/stage=/<unit>.parquet`),
//! and back.

use groves_core::timing::{S3Requests, TimingRecord};
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
    to_frame_all(std::slice::from_ref(r))
}

/// Many records as one table, a row each in the given order (the run's gathered timings).
pub fn to_frame_all(rs: &[TimingRecord]) -> PolarsResult<DataFrame> {
    let text = |f: fn(&TimingRecord) -> &str| rs.iter().map(f).collect::<Vec<_>>();
    DataFrame::new(
        rs.len(),
        vec![
            Column::new("run".into(), text(|r| r.run.as_str())),
            Column::new("stage".into(), text(|r| r.stage.as_str())),
            Column::new("unit".into(), text(|r| r.unit.as_str())),
            Column::new(
                "stock".into(),
                rs.iter().map(|r| r.stock.as_deref()).collect::<Vec<_>>(),
            ),
            datetime_ms_column_opt("invoked_at", rs.iter().map(|r| r.invoked_ms).collect()),
            datetime_ms_column("started_at", rs.iter().map(|r| r.started_ms).collect()),
            datetime_ms_column("finished_at", rs.iter().map(|r| r.finished_ms).collect()),
            Column::new(
                "read_ms".into(),
                rs.iter().map(|r| r.read_ms).collect::<Vec<_>>(),
            ),
            Column::new(
                "compute_ms".into(),
                rs.iter().map(|r| r.compute_ms).collect::<Vec<_>>(),
            ),
            Column::new(
                "write_ms".into(),
                rs.iter().map(|r| r.write_ms).collect::<Vec<_>>(),
            ),
            Column::new("executor".into(), text(|r| r.executor.as_str())),
            Column::new(
                "memory_mb".into(),
                rs.iter().map(|r| r.memory_mb).collect::<Vec<_>>(),
            ),
            Column::new(
                "threads".into(),
                rs.iter().map(|r| r.threads).collect::<Vec<_>>(),
            ),
            Column::new(
                "cold_start".into(),
                rs.iter().map(|r| r.cold_start).collect::<Vec<_>>(),
            ),
            s3_column("s3_get", rs, |q| q.get),
            s3_column("s3_put", rs, |q| q.put),
            s3_column("s3_list", rs, |q| q.list),
            s3_column("s3_head", rs, |q| q.head),
            s3_column("s3_delete", rs, |q| q.delete),
            Column::new(
                "arch".into(),
                rs.iter().map(|r| r.arch.as_deref()).collect::<Vec<_>>(),
            ),
            Column::new(
                "kernels".into(),
                rs.iter().map(|r| r.kernels.as_deref()).collect::<Vec<_>>(),
            ),
        ],
    )
}

/// One kind of S3 request per record, as a signed 64-bit column (Athena's bigint).
fn s3_column(name: &str, rs: &[TimingRecord], f: fn(&S3Requests) -> u64) -> Column {
    Column::new(
        name.into(),
        rs.iter()
            .map(|r| r.s3.as_ref().map(|q| f(q) as i64))
            .collect::<Vec<_>>(),
    )
}

/// The first row's record (a unit's own timing file has one).
pub fn from_frame(df: &DataFrame) -> Result<TimingRecord, RecordError> {
    from_frame_row(df, 0)
}

/// Every row's record.
pub fn from_frame_all(df: &DataFrame) -> Result<Vec<TimingRecord>, RecordError> {
    (0..df.height()).map(|i| from_frame_row(df, i)).collect()
}

fn from_frame_row(df: &DataFrame, i: usize) -> Result<TimingRecord, RecordError> {
    let bad = |what: &str| RecordError::Missing(what.to_string());
    let col = |name: &str, dt: DataType| df.column(name).and_then(|c| c.cast(&dt));
    let text = |name: &str| -> Result<Option<String>, RecordError> {
        Ok(col(name, DataType::String)?
            .str()?
            .get(i)
            .map(str::to_string))
    };
    let int = |name: &str| -> Result<Option<i64>, RecordError> {
        Ok(col(name, DataType::Int64)?.i64()?.get(i))
    };
    // Records written before the column existed have none.
    let optional_text = |name: &str| -> Result<Option<String>, RecordError> {
        match df.column(name) {
            Ok(_) => text(name),
            Err(_) => Ok(None),
        }
    };
    let float = |name: &str| -> Result<f64, RecordError> {
        col(name, DataType::Float64)?
            .f64()?
            .get(i)
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
            Ok(c) => c.cast(&DataType::Boolean)?.bool()?.get(i),
            Err(_) => None,
        },
        // Records written before the columns existed have none.
        s3: match df.column("s3_get") {
            Ok(_) => {
                let n = |name: &str| -> Result<Option<u64>, RecordError> {
                    Ok(int(name)?.map(|v| v.max(0) as u64))
                };
                match (n("s3_get")?, n("s3_put")?, n("s3_list")?, n("s3_head")?) {
                    (Some(get), Some(put), Some(list), Some(head)) => Some(S3Requests {
                        get,
                        put,
                        list,
                        head,
                        delete: n("s3_delete")?.unwrap_or(0),
                    }),
                    _ => None,
                }
            }
            Err(_) => None,
        },
        arch: optional_text("arch")?,
        kernels: optional_text("kernels")?,
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
            s3: cold_start.map(|_| S3Requests {
                get: 3,
                put: 2,
                list: 1,
                head: 0,
                delete: 0,
            }),
            arch: cold_start.map(|_| "aarch64".into()),
            kernels: cold_start.map(|_| "neon".into()),
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
        for c in [
            "s3_get",
            "s3_put",
            "s3_list",
            "s3_head",
            "s3_delete",
            "arch",
            "kernels",
        ] {
            df = df.drop(c).unwrap();
        }
        let bytes = to_parquet(&df).unwrap();
        let back = from_frame(&from_parquet(&bytes).unwrap()).unwrap();
        assert_eq!(back, record(None));
    }

    #[test]
    fn many_records_make_one_table_and_read_back_in_order() {
        let mut rs = vec![record(Some(true)), record(None), record(Some(false))];
        rs[1].stock = None;
        rs[1].invoked_ms = None;
        rs[2].unit = "TCS.f7_s5_g1".into();
        let bytes = to_parquet(&to_frame_all(&rs).unwrap()).unwrap();
        assert_eq!(from_frame_all(&from_parquet(&bytes).unwrap()).unwrap(), rs);
        // One record alone is the same table as a unit's own file.
        assert_eq!(
            to_parquet(&to_frame_all(&rs[..1]).unwrap()).unwrap(),
            to_parquet(&to_frame(&rs[0]).unwrap()).unwrap()
        );
    }

    #[test]
    fn a_record_without_its_times_is_refused() {
        let df = to_frame(&record(None)).unwrap().drop("started_at").unwrap();
        assert!(from_frame(&df).is_err());
    }
}
