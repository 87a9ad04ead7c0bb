//! `groves invoke <stage> --event FILE`: one stage, locally, from its JSON event.

use std::io::Read;

use anyhow::{bail, Context, Result};
use shared::events::{parse_event, Stage, StageEvent};
use shared::stages::processing::run_processing;

use super::StoreRef;
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
    let result = match &event {
        StageEvent::Processing(e) => {
            serde_json::to_value(run_processing(store.as_ref(), store.as_ref(), e).await?)?
        }
        other => bail!(
            "stage {} is not implemented yet: only processing runs in this version",
            other.stage()
        ),
    };
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
