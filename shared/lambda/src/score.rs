//! The score function: notified of every object landing under `live/minutes/`, it settles that
//! stock's new minutes ([`groves_live::Scorer`]) and prints their metrics as CloudWatch
//! Embedded Metric Format lines. Fed by a Kafka event source instead (MSK or self-managed), it
//! lands each record's minute under `live/minutes/` and settles the same way
//! ([`groves_live::score_records`]). The scorer and its model cache are built once per cold
//! start.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::kafka::KafkaEvent;
use base64::Engine;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_live::metrics::emf_line;
use groves_live::settle::Retraining;
use groves_live::{LiveOptions, Retrainer, Scorer, SettleReport, StreamRecord};
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

/// Whether an event is a Kafka batch (MSK: `aws:kafka`; self-managed: `SelfManagedKafka`).
fn is_kafka(event: &Value) -> bool {
    matches!(
        event.get("eventSource").and_then(Value::as_str),
        Some("aws:kafka" | "SelfManagedKafka")
    )
}

/// A Kafka event's records, by topic, partition and offset (the event's map has no order).
pub fn kafka_records(event: Value) -> Result<Vec<StreamRecord>, StageError> {
    let event: KafkaEvent = serde_path_to_error::deserialize(event).map_err(|e| {
        StageError::Invalid(format!("Kafka event: field `{}`: {}", e.path(), e.inner()))
    })?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out: Vec<StreamRecord> = Vec::new();
    for r in event.records.into_values().flatten() {
        let mut problem = None;
        let mut decode = |what: &str, v: Option<String>| {
            v.and_then(|v| match b64.decode(v.as_bytes()) {
                Ok(b) => Some(b),
                Err(e) => {
                    problem.get_or_insert(format!("the record's {what} is not base64: {e}"));
                    None
                }
            })
        };
        let key = decode("key", r.key);
        let value = decode("value", r.value);
        out.push(StreamRecord {
            topic: r.topic.unwrap_or_default(),
            partition: r.partition,
            offset: r.offset,
            timestamp_ms: Some(r.timestamp.0.timestamp_millis()),
            key,
            value,
            problem,
        });
    }
    out.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    Ok(out)
}

fn settle_summary(key: Option<&str>, report: &SettleReport) -> Value {
    json!({
        "key": key,
        "stock": report.stock.as_str(),
        "objects": report.objects,
        "waiting": report.waiting,
        "forecasts": report.forecasts.len(),
        "outcomes": report.outcomes.len(),
        "skipped": report.skipped,
        "drift": report.drift,
    })
}

fn print_emf(report: &SettleReport) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    if let Some(line) = emf_line(report, now_ms) {
        // EMF is read from the raw log line: printed, not logged through tracing.
        println!("{line}");
    }
}

/// A Kafka batch: every record's minute landed, every stock settled once. A record that is not
/// a live minute is recorded and skipped (the batch's other minutes are stored); a store
/// failure fails the invocation, so Lambda delivers the batch again, and what was stored the
/// first time is not written twice.
async fn handle_kafka(scorer: &Scorer, event: Value) -> Result<Value, Failure> {
    let records = kafka_records(event)?;
    let report = groves_live::score_records(scorer, &records)
        .await
        .map_err(|e| Failure {
            kind: "StoreUnavailable",
            message: e.to_string(),
        })?;
    for s in &report.settles {
        print_emf(s);
    }
    Ok(json!({
        "records": report.records,
        "landed": report.landed,
        "existing": report.existing,
        "rejected": report.rejected.iter().map(|(key, why)| json!({"key": key, "error": why})).collect::<Vec<_>>(),
        "stocks": report.settles.iter().map(|s| settle_summary(None, s)).collect::<Vec<_>>(),
    }))
}

/// Settles the stock of every record. A record whose key is not a live minute is logged and
/// passed over (the notification's filter should make that impossible); a store failure fails
/// the invocation so Lambda retries it, and a retry writes nothing twice. A Kafka event goes
/// to [`handle_kafka`]. With `fed_by_kafka` (`GROVES_LIVE_SOURCE=kafka`), the bucket's
/// notifications are of minutes this function landed itself from a topic, already settled:
/// they are passed over at once.
pub async fn handle(
    scorer: &Scorer,
    bucket: &str,
    fed_by_kafka: bool,
    event: Value,
) -> Result<Value, Failure> {
    if is_kafka(&event) {
        return handle_kafka(scorer, event).await;
    }
    let notification = notification_from_value(event)?;
    let mut out = Vec::new();
    for record in &notification.records {
        let key = decoded_key(record)?;
        if fed_by_kafka {
            out.push(json!({"key": key, "passed_over": "the live minutes come from Kafka"}));
            continue;
        }
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
        print_emf(&report);
        out.push(settle_summary(Some(&key), &report));
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
    let fed_by_kafka = match std::env::var("GROVES_LIVE_SOURCE").as_deref() {
        Ok("kafka") => true,
        Ok("bucket" | "") | Err(_) => false,
        Ok(other) => return Err(format!("GROVES_LIVE_SOURCE={other:?}: bucket or kafka").into()),
    };
    let (scorer, bucket) = (&scorer, bucket.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        tracing::info!(request_id = %event.context.request_id, "live minutes landed");
        handle(scorer, bucket, fed_by_kafka, event.payload).await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_events_are_decoded_in_offset_order_and_bad_base64_is_named() {
        let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let rec = |p: i64, o: i64, v: &str| {
            json!({"topic": "ticks", "partition": p, "offset": o, "timestamp": 1_700_000_000_000i64 + o,
                   "timestampType": "CREATE_TIME", "key": b("TCS"), "value": v, "headers": []})
        };
        let event = json!({
            "eventSource": "SelfManagedKafka",
            "bootstrapServers": "127.0.0.1:9092",
            "records": {
                "ticks-1": [rec(1, 4, &b("x")), rec(1, 3, "%%%")],
                "ticks-0": [rec(0, 9, &b("y"))],
            }
        });
        assert!(is_kafka(&event));
        let r = kafka_records(event).unwrap();
        let order: Vec<(i64, i64)> = r.iter().map(|r| (r.partition, r.offset)).collect();
        assert_eq!(order, vec![(0, 9), (1, 3), (1, 4)]);
        assert_eq!(r[0].key.as_deref(), Some(&b"TCS"[..]));
        assert_eq!(r[0].value.as_deref(), Some(&b"y"[..]));
        assert_eq!(r[0].timestamp_ms, Some(1_700_000_000_009));
        assert!(r[1]
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("value is not base64")));
        assert!(r[2].problem.is_none());
        let e = kafka_records(
            json!({"eventSource": "aws:kafka", "records": {"t-0": [{"partition": "zero"}]}}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Kafka event") && e.contains("records"), "{e}");
        assert!(!is_kafka(&json!({"Records": []})));
    }
}
