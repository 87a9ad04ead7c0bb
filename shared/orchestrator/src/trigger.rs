//! S3-triggered runs: a raw file landing under `raw/` starts the processing of that file, or,
//! when configured, the whole search of its stock.
//!
//! Each upload is a run of its own, with an id derived from the configured search, the stock and
//! the object's version, so the same upload always maps to the same run and a corrected file to a
//! new one. A record under `triggers/` says the trigger acted on an object version; a repeated
//! notification for it (S3 delivers at least once) finds the record and starts nothing. The record
//! is written after the work was handed over: a trigger that dies in between is retried by Lambda
//! and hands the work over again, which every stage tolerates (a unit already done is skipped).

use std::sync::Arc;

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use groves_core::dataset;
use groves_core::events::parse_run_spec;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_core::timing::now_ms;
use groves_stages::{Buckets, StageError};
use groves_store::{Store, StoreError};

use crate::invoke::Invoker;
use crate::parent::{prepare_upload_run, stage_units, stamp_invoked};

/// What an upload starts.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerConfig {
    /// The whole search of the stock (true), or only the processing of the file (false).
    pub search: bool,
    /// The search's parameters (stocks and run id are filled in per upload).
    pub run: RunSpec,
}

impl TriggerConfig {
    /// `GROVES_TRIGGER_SEARCH` (`true`/`false`, default false) and `GROVES_TRIGGER_RUN` (a
    /// whole-run event without stocks or run id, default `{}`: the original method).
    pub const SEARCH_ENV: &'static str = "GROVES_TRIGGER_SEARCH";
    pub const RUN_ENV: &'static str = "GROVES_TRIGGER_RUN";

    pub fn from_env() -> Result<TriggerConfig, StageError> {
        let search = std::env::var(Self::SEARCH_ENV).unwrap_or_default();
        let run = std::env::var(Self::RUN_ENV).unwrap_or_else(|_| "{}".into());
        Self::parse(&search, &run)
    }

    pub fn parse(search: &str, run: &str) -> Result<TriggerConfig, StageError> {
        let search = match search.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" => false,
            "true" | "1" | "yes" => true,
            other => {
                return Err(StageError::Invalid(format!(
                    "{}: expected true or false, got {other:?}",
                    Self::SEARCH_ENV
                )))
            }
        };
        let run = parse_run_spec(run.as_bytes())
            .map_err(|e| StageError::Invalid(format!("{}: {e}", Self::RUN_ENV)))?;
        if !run.stocks.is_empty() || run.run.is_some() {
            return Err(StageError::Invalid(format!(
                "{}: must not name `stocks` or `run`: each upload is a run of its own stock",
                Self::RUN_ENV
            )));
        }
        Ok(TriggerConfig { search, run })
    }
}

/// What the trigger did with one notification record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordOutcome {
    pub bucket: String,
    pub key: String,
    pub stock: Option<String>,
    pub run: Option<RunId>,
    /// `processing started`, `search started`, `duplicate` (already acted on this version), or
    /// `ignored: …` (not an object creation, not a raw file).
    pub action: String,
}

/// The marker's content: enough to trace a run back to the upload that started it.
#[derive(Debug, Serialize)]
struct Marker<'a> {
    bucket: &'a str,
    key: &'a str,
    version: &'a str,
    size: Option<i64>,
    event_time: String,
    run: &'a RunId,
    action: &'a str,
}

/// Parses an S3 notification, naming the field that is wrong.
pub fn parse_notification(json: &[u8]) -> Result<S3Event, StageError> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(notification_error)
}

/// [`parse_notification`] of JSON the Lambda runtime has already decoded.
pub fn notification_from_value(json: Value) -> Result<S3Event, StageError> {
    serde_path_to_error::deserialize(json).map_err(notification_error)
}

fn notification_error(e: serde_path_to_error::Error<serde_json::Error>) -> StageError {
    StageError::Invalid(format!(
        "S3 notification: field `{}`: {}",
        e.path(),
        e.inner()
    ))
}

/// The key of a notification record, decoded (S3 sends keys form-encoded: `+` for a space).
pub fn decoded_key(record: &S3EventRecord) -> Result<String, StageError> {
    let raw = record.s3.object.key.as_deref().ok_or_else(|| {
        StageError::Invalid("S3 notification record without `s3.object.key`".into())
    })?;
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| StageError::Invalid(format!("S3 object key {raw:?}: {e}")))
}

/// Handles every record of a notification. Records are independent: one that fails does not stop
/// the others, and the error (naming every failed key) makes Lambda retry the event; records done
/// before are then recognised as duplicates.
pub async fn handle(
    buckets: &dyn Buckets,
    invoker: &dyn Invoker,
    config: &TriggerConfig,
    event: &S3Event,
) -> Result<Vec<RecordOutcome>, StageError> {
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for record in &event.records {
        match handle_record(buckets, invoker, config, record).await {
            Ok(o) => outcomes.push(o),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(outcomes)
    } else {
        Err(StageError::Invalid(format!(
            "S3 trigger: {} of {} records failed: {}",
            errors.len(),
            event.records.len(),
            errors.join("; ")
        )))
    }
}

async fn handle_record(
    buckets: &dyn Buckets,
    invoker: &dyn Invoker,
    config: &TriggerConfig,
    record: &S3EventRecord,
) -> Result<RecordOutcome, StageError> {
    let bucket = record.s3.bucket.name.clone().ok_or_else(|| {
        StageError::Invalid("S3 notification record without `s3.bucket.name`".into())
    })?;
    let key = decoded_key(record)?;
    let mut outcome = RecordOutcome {
        bucket: bucket.clone(),
        key: key.clone(),
        stock: None,
        run: None,
        action: String::new(),
    };
    let event_name = record.event_name.as_deref().unwrap_or_default();
    if !event_name.starts_with("ObjectCreated") {
        outcome.action = format!("ignored: {event_name:?} is not an object creation");
        return Ok(outcome);
    }
    let Some(symbol) = layout::symbol_from_raw_key(&key) else {
        outcome.action = format!(
            "ignored: not a raw file ({}<SYMBOL>{})",
            layout::RAW_PREFIX,
            dataset::FILE_SUFFIX
        );
        return Ok(outcome);
    };
    let stock = Symbol::new(symbol).map_err(|e| StageError::Invalid(format!("{key}: {e}")))?;
    outcome.stock = Some(stock.to_string());
    let object = &record.s3.object;
    let version = object
        .version_id
        .as_deref()
        .filter(|v| !v.is_empty() && *v != "null")
        .or(object.e_tag.as_deref().filter(|v| !v.is_empty()))
        .ok_or_else(|| {
            StageError::Invalid(format!(
                "S3 notification for {key}: no `versionId` or `eTag`, so a repeated notification could not be told apart"
            ))
        })?
        .trim_matches('"')
        .to_string();
    let store: Arc<dyn Store> = buckets.open(&bucket);
    let marker_key = layout::trigger_marker_key(&stock, &version);
    match store.get(&marker_key).await {
        Ok(previous) => {
            tracing::info!(key = %key, marker = %marker_key, "duplicate notification: already acted on");
            outcome.run = serde_json::from_slice::<Value>(&previous)
                .ok()
                .as_ref()
                .and_then(|v| v.get("run"))
                .and_then(Value::as_str)
                .and_then(|r| RunId::new(r).ok());
            outcome.action = "duplicate".into();
            return Ok(outcome);
        }
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }

    let mut spec = config.run.clone();
    spec.stocks = vec![stock.clone()];
    spec.run = None;
    let spec = prepare_upload_run(store.as_ref(), &spec, &version).await?;
    let run = spec
        .run
        .clone()
        .ok_or_else(|| StageError::Invalid("prepared run without an id".into()))?;
    let action = if config.search {
        let mut event = spec.clone();
        event.bucket = Some(bucket.clone());
        let payload = serde_json::to_value(&event)
            .map_err(|e| StageError::Invalid(format!("encoding the run event: {e}")))?;
        invoker
            .invoke(Stage::Parent, "parent", payload)
            .await
            .map_err(|e| StageError::Invalid(e.to_string()))?;
        "search started"
    } else {
        for (unit, mut payload) in stage_units(
            Stage::Processing,
            &spec,
            std::slice::from_ref(&stock),
            &bucket,
        )? {
            stamp_invoked(&mut payload, now_ms());
            invoker
                .invoke(Stage::Processing, &unit.to_string(), payload)
                .await
                .map_err(|e| StageError::Invalid(e.to_string()))?;
        }
        "processing started"
    };
    let failures = invoker.settle().await;
    if let Some(f) = failures.first() {
        return Err(StageError::Invalid(format!(
            "{key}: handing {} {} over failed: {}",
            f.stage, f.unit, f.message
        )));
    }
    let marker = Marker {
        bucket: &bucket,
        key: &key,
        version: &version,
        size: object.size,
        event_time: record.event_time.to_rfc3339(),
        run: &run,
        action,
    };
    let json = serde_json::to_vec_pretty(&marker)
        .map_err(|e| StageError::Invalid(format!("encoding the trigger record: {e}")))?;
    store.put_if_absent(&marker_key, Bytes::from(json)).await?;
    tracing::info!(key = %key, run = %run, action, "upload acted on");
    outcome.run = Some(run);
    outcome.action = action.into();
    Ok(outcome)
}
