//! What the parent leaves of each stage in the store (`runs/run=<run>/stages/<stage>.json`), and
//! what it reads of the units' status records.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use groves_core::ids::RunId;
use groves_core::layout;
use groves_core::stage::Stage;
use groves_stages::StageError;
use groves_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A unit that failed for good (all its attempts used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitFailure {
    pub unit: String,
    pub stock: Option<String>,
    pub attempts: u32,
    pub error: String,
}

/// A unit invoked and not yet reported, as left by a parent that paused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    pub unit: String,
    pub attempts: u32,
    pub invoked_ms: i64,
}

/// What the parent saw of one stage: `runs/run=<run>/stages/<stage>.json` (one per round of a
/// halving search's param-preds and pred-mses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLog {
    pub stage: Stage,
    /// The round of a halving search; None for a stage that runs once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    pub units: usize,
    /// Units already done when this parent looked first (finished by an earlier parent).
    pub done_before: usize,
    pub done: usize,
    /// Invocations sent, retries included.
    pub invocations: u64,
    /// Units that needed more than one attempt and then succeeded: unit → attempts.
    pub retried: BTreeMap<String, u32>,
    /// Hand-overs the invoker refused for now (throttled): backed off and sent again, not
    /// counted as attempts. 0 in logs written before the field existed.
    #[serde(default)]
    pub throttled: u64,
    pub failed: Vec<UnitFailure>,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    /// Non-empty only while paused.
    #[serde(default)]
    pub in_flight: Vec<InFlight>,
    /// What built the parent that drove the stage ([`crate::CODE_VERSION`]); empty in logs
    /// written before the field existed.
    #[serde(default)]
    pub code_version: String,
}

impl StageLog {
    /// `param-preds`, or `param-preds round 1` for a round of a halving search.
    pub fn label(&self) -> String {
        match self.round {
            None => self.stage.to_string(),
            Some(r) => format!("{} round {r}", self.stage),
        }
    }
}

/// What is in a stage's status prefix: units done, units with a failure record.
pub(super) async fn status(
    store: &dyn Store,
    run: &RunId,
    stage: Stage,
) -> Result<(BTreeSet<String>, BTreeSet<String>), StageError> {
    let prefix = layout::status_prefix(run, stage.as_str());
    let (mut done, mut failed) = (BTreeSet::new(), BTreeSet::new());
    for m in store.list(&prefix).await? {
        let name = &m.key[prefix.len()..];
        if let Some(u) = name.strip_suffix(".done") {
            done.insert(u.to_string());
        } else if let Some(u) = name.strip_suffix(".failed") {
            failed.insert(u.to_string());
        }
    }
    Ok((done, failed))
}

pub(super) async fn failure_message(store: &dyn Store, key: &str) -> String {
    match store.get(key).await {
        Ok(b) => serde_json::from_slice::<Value>(&b)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&b).into_owned()),
        Err(e) => format!("(failure record unreadable: {e})"),
    }
}

/// A stage's log (of one round, for a halving search's rounds), if the parent wrote one and it
/// parses.
pub async fn read_stage_log(
    store: &dyn Store,
    run: &RunId,
    stage: Stage,
    round: Option<u32>,
) -> Option<StageLog> {
    let bytes = store
        .get(&layout::stage_log_key(run, stage.as_str(), round))
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(super) async fn write_stage_log(
    store: &dyn Store,
    run: &RunId,
    log: &StageLog,
) -> Result<(), StageError> {
    let json = serde_json::to_vec_pretty(log)
        .map_err(|e| StageError::Invalid(format!("encoding the stage log: {e}")))?;
    store
        .put(
            &layout::stage_log_key(run, log.stage.as_str(), log.round),
            Bytes::from(json),
        )
        .await?;
    Ok(())
}
