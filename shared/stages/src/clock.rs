//! A unit's read / compute / write time, and the timing record it leaves.

use std::time::Instant;

use bytes::Bytes;
use groves_core::ids::RunId;
use groves_core::layout::{self, Unit};
use groves_core::stage::Stage;
use groves_core::timing::{self, ms_since, TimingRecord};
use groves_data::table::to_parquet;
use groves_store::Store;

use crate::error::{Result, StageError};

/// Measures one unit's phases and writes its timing record.
pub struct Clock {
    pub started_ms: i64,
    pub invoked_at: Option<i64>,
    phase: Instant,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
}

impl Clock {
    pub fn start(invoked_at: Option<i64>) -> Clock {
        Clock {
            started_ms: timing::now_ms(),
            invoked_at,
            phase: Instant::now(),
            read_ms: 0.0,
            compute_ms: 0.0,
            write_ms: 0.0,
        }
    }
    pub fn read_done(&mut self) {
        self.read_ms += ms_since(self.phase);
        self.phase = Instant::now();
    }
    pub fn compute_done(&mut self) {
        self.compute_ms += ms_since(self.phase);
        self.phase = Instant::now();
    }
    pub fn write_done(&mut self) {
        self.write_ms += ms_since(self.phase);
        self.phase = Instant::now();
    }

    /// Ends a phase that read and computed in one go, `compute_ms` of it computing (processing
    /// parses while it reads).
    pub fn read_and_compute_done(&mut self, compute_ms: f64) {
        let both = ms_since(self.phase);
        self.read_ms += (both - compute_ms).max(0.0);
        self.compute_ms += compute_ms;
        self.phase = Instant::now();
    }

    /// Writes the timing record of `unit` (after the unit's results, so it measures them).
    pub async fn record(
        &mut self,
        store: &dyn Store,
        run: &RunId,
        stage: Stage,
        unit: &Unit,
        threads: usize,
    ) -> Result<()> {
        let record = TimingRecord {
            run: run.to_string(),
            stage: stage.as_str().into(),
            unit: unit.to_string(),
            stock: unit.stock().map(|s| s.to_string()),
            invoked_ms: self.invoked_at,
            started_ms: self.started_ms,
            finished_ms: timing::now_ms(),
            read_ms: self.read_ms,
            compute_ms: self.compute_ms,
            write_ms: self.write_ms,
            executor: timing::executor().into(),
            memory_mb: timing::lambda_memory_mb(),
            threads: threads as u32,
            cold_start: timing::cold_start(),
            s3: crate::unit::unit_requests(),
            arch: Some(std::env::consts::ARCH.into()),
            kernels: forest::kernels_in_use().ok().map(str::to_string),
        };
        let key = layout::timing_key(run, stage.as_str(), unit);
        let bytes = groves_data::timing::to_frame(&record)
            .and_then(|df| to_parquet(&df))
            .map_err(|source| StageError::Table {
                key: key.clone(),
                source,
            })?;
        store.put(&key, Bytes::from(bytes)).await?;
        Ok(())
    }
}
