//! The in-process pool: the embedded default.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use groves_core::events::parse_event;
use groves_core::stage::Stage;
use groves_stages::dispatch::{fail_unit, run_unit};
use groves_stages::{StageError, UnitContext};
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};

use super::{FaultPlan, InvokeError, Invoker};

/// Runs units as tokio tasks, at most `slots` at a time; each unit's forest uses
/// `ctx.threads` threads (1 by default, as a one-vCPU Lambda would).
pub struct LocalPool {
    ctx: Arc<UnitContext>,
    slots: Arc<Semaphore>,
    capacity: usize,
    faults: Option<Arc<FaultPlan>>,
    /// Signalled as each unit ends, so the parent lists the store at once rather than at its
    /// next poll: with units of a few milliseconds the polls, not the units, set the pace.
    finished: Arc<Notify>,
}

impl LocalPool {
    pub fn new(ctx: UnitContext, slots: usize) -> LocalPool {
        let slots = slots.max(1);
        LocalPool {
            ctx: Arc::new(ctx),
            slots: Arc::new(Semaphore::new(slots)),
            capacity: slots,
            faults: None,
            finished: Arc::new(Notify::new()),
        }
    }

    /// Makes the units `faults` names fail on purpose (see [`FaultPlan`]).
    pub fn with_faults(mut self, faults: Option<FaultPlan>) -> LocalPool {
        self.faults = faults.map(Arc::new);
        self
    }

    /// Waits until every unit handed over has finished.
    pub async fn wait_idle(&self) {
        // Holding every slot at once means no unit is running.
        if let Ok(all) = self.slots.acquire_many(self.capacity as u32).await {
            drop(all);
        }
    }

    /// One slot per core.
    pub fn default_slots() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    }
}

#[async_trait]
impl Invoker for LocalPool {
    fn describe(&self) -> String {
        format!(
            "in-process pool ({} at a time, {} thread(s) each)",
            self.capacity, self.ctx.threads
        )
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn units_outlive_parent(&self) -> bool {
        false
    }

    async fn wait_for_news(&self, at_most: Duration) {
        // A unit that ended since the last wait left a permit: no news is lost.
        let _ = tokio::time::timeout(at_most, self.finished.notified()).await;
    }

    async fn invoke(&self, stage: Stage, unit: &str, event: Value) -> Result<(), InvokeError> {
        let err = |message: String| InvokeError {
            invoker: "in-process pool".into(),
            stage,
            unit: unit.to_string(),
            message,
            throttled: false,
        };
        let bytes = serde_json::to_vec(&event).map_err(|e| err(e.to_string()))?;
        // The event goes through the same parsing a Lambda function does.
        let event = parse_event(stage, &bytes).map_err(|e| err(e.to_string()))?;
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| err(e.to_string()))?;
        let ctx = self.ctx.clone();
        let finished = self.finished.clone();
        let unit = unit.to_string();
        let injected = self
            .faults
            .as_ref()
            .is_some_and(|f| f.should_fail(stage, &unit));
        tokio::spawn(async move {
            let _slot = permit;
            let outcome = if injected {
                let error = StageError::Injected {
                    stage: stage.to_string(),
                    unit: unit.clone(),
                };
                fail_unit(&ctx, &event, error).await
            } else {
                run_unit(&ctx, &event).await
            };
            // The unit's failure record tells the parent; here it is only logged.
            if let Err(e) = outcome {
                tracing::warn!(%stage, %unit, error = %e, "unit failed");
            }
            finished.notify_one();
        });
        Ok(())
    }
}
