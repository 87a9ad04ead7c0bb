//! The original parent: one stage's units invoked, without waiting for them.

use groves_core::events::FanOutEvent;
use groves_core::stage::Stage;
use groves_core::timing::now_ms;
use groves_stages::tables::read_manifest;
use groves_stages::StageError;
use groves_store::Store;
use serde::Serialize;

use super::log::status;
use super::plan::{stage_units, stamp_invoked};
use crate::invoke::Invoker;

/// What a one-stage fan-out did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FanOutReport {
    pub stage: Stage,
    pub run: String,
    pub units: usize,
    pub already_done: usize,
    pub invoked: usize,
}

/// The original parent: invokes every unit of one stage that is not done yet, and returns
/// without waiting. The units come from the run's manifest.
pub async fn fan_out(
    store: &dyn Store,
    invoker: &dyn Invoker,
    e: &FanOutEvent,
    bucket: &str,
) -> Result<FanOutReport, StageError> {
    let spec = read_manifest(store, &e.run).await?;
    let units = stage_units(e.stage, &spec, &spec.stocks, bucket)?;
    let (done, _) = status(store, &e.run, e.stage).await?;
    let mut report = FanOutReport {
        stage: e.stage,
        run: e.run.to_string(),
        units: units.len(),
        already_done: 0,
        invoked: 0,
    };
    for (unit, mut event) in units {
        let name = unit.to_string();
        if done.contains(&name) {
            report.already_done += 1;
            continue;
        }
        stamp_invoked(&mut event, now_ms());
        invoker
            .invoke(e.stage, &name, event)
            .await
            .map_err(|err| StageError::Parent {
                stage: e.stage.to_string(),
                message: err.to_string(),
            })?;
        report.invoked += 1;
    }
    Ok(report)
}
