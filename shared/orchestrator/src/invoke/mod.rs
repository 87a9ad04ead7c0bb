//! How the parent starts units of work: one interface, two implementations.
//!
//! [`LocalPool`] (the embedded default) runs units as tokio tasks whose CPU work goes to the
//! blocking pool, at most one per core at a time. `groves_lambda::invoker::LambdaInvoker` sends
//! each unit to its Lambda function with `InvocationType=Event` (it lives with the Lambda glue,
//! so the `groves` command does not build the Lambda SDK). Either way the parent learns that a
//! unit finished only from the unit's completion record in the store.

mod faults;
mod local;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use faults::FaultPlan;
pub use local::LocalPool;

use groves_core::stage::Stage;

#[derive(Debug, thiserror::Error)]
#[error("invoking {stage} {unit} through {invoker}: {message}")]
pub struct InvokeError {
    pub invoker: String,
    pub stage: Stage,
    pub unit: String,
    pub message: String,
    /// The invoker refused for now (Lambda's 429 `TooManyRequestsException`): the unit never
    /// ran, so the parent backs off and tries again without counting an attempt.
    pub throttled: bool,
}

/// A unit whose hand-over failed after `invoke` returned (the call went on in the background).
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffFailure {
    pub stage: Stage,
    pub unit: String,
    pub message: String,
    /// As [`InvokeError::throttled`].
    pub throttled: bool,
}

#[async_trait]
pub trait Invoker: Send + Sync {
    fn describe(&self) -> String;

    /// Units this invoker runs at once; the parent keeps no more than this many in flight, so
    /// a unit's deadline counts from when it really starts.
    fn capacity(&self) -> usize;

    /// Whether units go on running when the parent stops (Lambda: yes; the in-process pool: no).
    /// A resumed parent waits for the units a previous parent left in flight only if they do.
    fn units_outlive_parent(&self) -> bool;

    /// Hands one unit's event over and returns; it does not wait for the unit to finish.
    async fn invoke(&self, stage: Stage, unit: &str, event: Value) -> Result<(), InvokeError>;

    /// Returns once a unit this invoker ran may have finished, or after `at_most`: when the
    /// parent lists the store again. Only a hint; what finished is still read from the store.
    /// By default it just waits `at_most` (Lambda tells the parent nothing).
    async fn wait_for_news(&self, at_most: Duration) {
        tokio::time::sleep(at_most).await;
    }

    /// Hand-overs that failed in the background since the last call.
    fn take_failures(&self) -> Vec<HandoffFailure> {
        Vec::new()
    }

    /// Waits until every hand-over so far has been answered, then returns the failed ones. For
    /// a caller that ends right after invoking (the S3 trigger), so no call is left behind.
    async fn settle(&self) -> Vec<HandoffFailure> {
        self.take_failures()
    }
}
