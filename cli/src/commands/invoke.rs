//! `groves invoke <stage> --event FILE`: one stage, locally, from its JSON event — as its
//! Lambda function would run it (a parent event drives or fans out over the in-process pool).

use std::io::Read;
use std::sync::Arc;

use anyhow::{Context, Result};
use groves_core::events::{parse_event, ParentEvent, StageEvent};
use groves_core::stage::Stage;
use groves_orchestrator::invoke::{FaultPlan, LocalPool};
use groves_orchestrator::parent::{drive_run, fan_out, DriveOptions, DriveOutcome};
use groves_stages::dispatch::run_unit;
use groves_stages::{OneStore, UnitContext};

use super::StoreRef;
use crate::progress::StageBars;
use crate::InvokeArgs;

pub async fn invoke(store: &StoreRef, args: &InvokeArgs) -> Result<()> {
    let stage: Stage = args.stage.parse()?;
    let json = if args.event.as_os_str() == "-" {
        let mut s = Vec::new();
        std::io::stdin()
            .read_to_end(&mut s)
            .context("reading the event from standard input")?;
        s
    } else {
        std::fs::read(&args.event)
            .with_context(|| format!("reading event file {}", args.event.display()))?
    };
    let event = parse_event(stage, &json)
        .with_context(|| format!("event file {}", args.event.display()))?;
    // Locally the --store is the bucket: the event's bucket names are what a Lambda would use.
    let ctx = UnitContext {
        buckets: Arc::new(OneStore(store.clone())),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let result = match &event {
        StageEvent::Parent(parent) => {
            let pool = LocalPool::new(
                UnitContext { threads: 1, ..ctx },
                LocalPool::default_slots(),
            )
            .with_faults(FaultPlan::from_env().map_err(anyhow::Error::msg)?);
            match parent {
                ParentEvent::Run(spec) => {
                    let bucket = spec.bucket.clone().unwrap_or_else(|| "groves-data".into());
                    let bars = StageBars::new();
                    let out = drive_run(
                        store.as_ref(),
                        &pool,
                        spec,
                        &bucket,
                        &DriveOptions::default(),
                        &bars,
                    )
                    .await?;
                    drop(bars);
                    match out {
                        DriveOutcome::Finished(o) => {
                            groves_report::write_html(store.as_ref(), &o.run).await?;
                            let v = serde_json::to_value(&o)?;
                            o.check()?;
                            v
                        }
                        DriveOutcome::Paused { stage, .. } => {
                            serde_json::json!({"paused_in": stage})
                        }
                    }
                }
                ParentEvent::FanOut(e) => {
                    let bucket = e.bucket.clone().unwrap_or_else(|| "groves-data".into());
                    let report = fan_out(store.as_ref(), &pool, e, &bucket).await?;
                    // The units run in this process: wait for them before exiting.
                    pool.wait_idle().await;
                    serde_json::to_value(report)?
                }
            }
        }
        other => run_unit(&ctx, other).await?,
    };
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
