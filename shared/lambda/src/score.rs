//! The score function: notified of every object landing under `live/minutes/`, it settles that
//! stock's new minutes ([`groves_live::Scorer`]) and prints their metrics as CloudWatch
//! Embedded Metric Format lines. The scorer and its model cache are built once per cold start.

use std::sync::Arc;

use async_trait::async_trait;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_live::metrics::emf_line;
use groves_live::settle::Retraining;
use groves_live::{LiveOptions, Retrainer, Scorer};
use groves_orchestrator::invoke::Invoker;
use groves_orchestrator::trigger::{decoded_key, notification_from_value};
use groves_serving::ModelCache;
use groves_stages::StageError;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

use crate::{init_tracing, model_cache_options, Aws, Error, Failure};

/// `GROVES_LATENESS_MIN`, `GROVES_WINDOW`, `GROVES_DRIFT_TOLERANCE` (see [`LiveOptions`]).
fn live_options() -> Result<LiveOptions, String> {
    let mut o = LiveOptions::default();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let bad = |name: &str, v: &str| format!("{name}={v:?} is not a number");
    if let Some(v) = var("GROVES_LATENESS_MIN") {
        o.lateness_minutes = v.parse().map_err(|_| bad("GROVES_LATENESS_MIN", &v))?;
    }
    if let Some(v) = var("GROVES_WINDOW") {
        o.window = v.parse().map_err(|_| bad("GROVES_WINDOW", &v))?;
    }
    if let Some(v) = var("GROVES_DRIFT_TOLERANCE") {
        o.drift_tolerance = v.parse().map_err(|_| bad("GROVES_DRIFT_TOLERANCE", &v))?;
    }
    Ok(o)
}

/// Starts a retraining run by invoking the parent with its whole-run event (asynchronously,
/// as the trigger starts a search).
struct ParentRetrainer<I> {
    invoker: I,
    bucket: String,
}

#[async_trait]
impl<I: Invoker> Retrainer for ParentRetrainer<I> {
    async fn start(&self, mut spec: RunSpec) -> Result<(), String> {
        spec.bucket = Some(self.bucket.clone());
        let payload = serde_json::to_value(&spec).map_err(|e| e.to_string())?;
        self.invoker
            .invoke(Stage::Parent, "parent", payload)
            .await
            .map_err(|e| e.to_string())?;
        match self.invoker.settle().await.first() {
            Some(f) => Err(f.message.clone()),
            None => Ok(()),
        }
    }
}

/// `GROVES_RETRAIN_RUN`: the whole-run event (grid, grove counts) a drift episode's retraining
/// run starts from; unset or empty: no retraining on drift.
fn retraining(aws: &Aws, bucket: &str) -> Result<Option<Retraining>, String> {
    let Some(json) = std::env::var("GROVES_RETRAIN_RUN")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let base: RunSpec = groves_core::events::decode_value(
        Stage::Parent,
        serde_json::from_str(&json).map_err(|e| format!("GROVES_RETRAIN_RUN: {e}"))?,
    )
    .map_err(|e| format!("GROVES_RETRAIN_RUN: {e}"))?;
    Ok(Some(Retraining {
        retrainer: Arc::new(ParentRetrainer {
            invoker: crate::parent::lambda_invoker(aws),
            bucket: bucket.to_string(),
        }),
        base,
    }))
}

/// Settles the stock of every record. A record whose key is not a live minute is logged and
/// passed over (the notification's filter should make that impossible); a store failure fails
/// the invocation so Lambda retries it, and a retry writes nothing twice.
pub async fn handle(scorer: &Scorer, bucket: &str, event: Value) -> Result<Value, Failure> {
    let notification = notification_from_value(event)?;
    let mut out = Vec::new();
    for record in &notification.records {
        let key = decoded_key(record)?;
        if let Some(b) = record.s3.bucket.name.as_deref().filter(|b| *b != bucket) {
            return Err(StageError::Invalid(format!(
                "notification for bucket {b:?}; this function scores {bucket:?}"
            ))
            .into());
        }
        let report = match scorer.score_object(&key).await {
            Ok(r) => r,
            Err(groves_live::LiveError::NotALiveKey(k)) => {
                tracing::warn!(key = %k, "not a live minute: passed over");
                out.push(json!({"key": key, "passed_over": true}));
                continue;
            }
            Err(e) => {
                return Err(Failure {
                    kind: "StoreUnavailable",
                    message: format!("{key}: {e}"),
                })
            }
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        if let Some(line) = emf_line(&report, now_ms) {
            // EMF is read from the raw log line: printed, not logged through tracing.
            println!("{line}");
        }
        out.push(json!({
            "key": key,
            "stock": report.stock.as_str(),
            "objects": report.objects,
            "waiting": report.waiting,
            "forecasts": report.forecasts.len(),
            "outcomes": report.outcomes.len(),
            "skipped": report.skipped,
            "drift": report.drift,
        }));
    }
    Ok(json!({ "records": out }))
}

pub async fn serve() -> Result<(), Error> {
    init_tracing();
    let bucket = std::env::var("GROVES_BUCKET").map_err(|_| "GROVES_BUCKET is not set")?;
    let options = live_options()?;
    let aws = Aws::from_env().await;
    let store: Arc<dyn groves_store::Store> = Arc::new(aws.store(&bucket));
    let cache = Arc::new(ModelCache::new(Arc::clone(&store), model_cache_options()));
    let mut scorer = Scorer::new(store, cache, options);
    if let Some(r) = retraining(&aws, &bucket)? {
        scorer = scorer.with_retraining(r);
    }
    let (scorer, bucket) = (&scorer, bucket.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        tracing::info!(request_id = %event.context.request_id, "live minutes landed");
        handle(scorer, bucket, event.payload).await
    }))
    .await
}
