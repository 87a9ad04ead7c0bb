//! The timing record every invocation leaves: what the run-level timing tables are built from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Where a unit of work ran.
pub fn executor() -> &'static str {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        "lambda"
    } else {
        "local"
    }
}

/// Memory size of the Lambda function, when running on Lambda.
pub fn lambda_memory_mb() -> Option<u32> {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// Events this process has started handling (Lambda runs one at a time per process).
static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

/// Called by the Lambda handler as each event arrives, before any work.
pub fn invocation_started() {
    INVOCATIONS.fetch_add(1, Ordering::Relaxed);
}

/// On Lambda: whether the current event is the first this process handles (a cold start: the
/// process, its clients and its page cache are new). None when the unit did not run on Lambda.
pub fn cold_start() -> Option<bool> {
    (executor() == "lambda").then(|| INVOCATIONS.load(Ordering::Relaxed) <= 1)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The S3 requests one unit made through its store (the work, not its own timing and
/// completion records).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct S3Requests {
    pub get: u64,
    pub put: u64,
    pub list: u64,
    pub head: u64,
    pub delete: u64,
}

impl S3Requests {
    pub fn total(&self) -> u64 {
        self.get + self.put + self.list + self.head + self.delete
    }
}

/// Read / compute / write time of one unit of work.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimingRecord {
    pub run: String,
    pub stage: String,
    /// The unit of work within the stage (for processing: the stock).
    pub unit: String,
    pub stock: Option<String>,
    /// When the parent invoked the unit (Unix ms), if it was invoked by a parent.
    pub invoked_ms: Option<i64>,
    /// Wall-clock start and end, Unix milliseconds.
    pub started_ms: i64,
    pub finished_ms: i64,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
    /// `local` or `lambda`.
    pub executor: String,
    pub memory_mb: Option<u32>,
    /// Threads the unit's computation used.
    pub threads: u32,
    /// On Lambda, whether this was the process's first event; None elsewhere, and in records
    /// written before the field existed.
    pub cold_start: Option<bool>,
    /// Its S3 (or local store) requests; None in records written before the field existed.
    pub s3: Option<S3Requests>,
    /// The CPU architecture it ran on (`x86_64`, `aarch64`): what its GB-seconds are priced at.
    /// None in records written before the field existed (priced as arm64, as they were).
    pub arch: Option<String>,
    /// The forest kernels the process would run (`avx512`, `avx2`, `neon`, `portable`).
    pub kernels: Option<String>,
}

impl TimingRecord {
    /// From the parent's invocation to the unit's start (0 when not invoked by a parent).
    pub fn invoke_ms(&self) -> f64 {
        self.invoked_ms
            .map(|i| (self.started_ms - i).max(0) as f64)
            .unwrap_or(0.0)
    }

    /// What Lambda bills: start to end.
    pub fn duration_ms(&self) -> f64 {
        (self.finished_ms - self.started_ms).max(0) as f64
    }

    /// The invocation, or the start if there was none.
    pub fn first_ms(&self) -> i64 {
        self.invoked_ms
            .unwrap_or(self.started_ms)
            .min(self.started_ms)
    }
}

/// Milliseconds since `t`, as a float for sub-millisecond stages.
pub fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// One invocation of the Lambda parent: from its start to its pause, or to the start of the
/// timing-metrics stage (its last seconds, the report, come after the tables are made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentInvocation {
    pub started_ms: i64,
    pub ended_ms: i64,
    pub memory_mb: u32,
    pub arch: String,
}
