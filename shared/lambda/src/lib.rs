//! What every groves Lambda function does the same way: JSON logs and the AWS clients set up
//! once per cold start, the event decoded (from the JSON the runtime already parsed) and
//! checked, handed to its stage's function, and a failure returned as a Lambda diagnostic whose
//! error type says what kind of failure it is (`InvalidEvent`, `MissingInput`,
//! `StoreUnavailable`, … — see [`groves_stages::StageError::kind`]).
//!
//! A function crate's `main` wires its own stage: [`serve_unit`] for a unit of work,
//! [`parent::serve`] for the parent, [`trigger::serve`] for the S3 trigger, [`predict::serve`]
//! for the prediction API behind a Function URL, [`score::serve`] for the live scorer.

pub mod invoker;
pub mod parent;
pub mod predict;
pub mod score;
pub mod trigger;

use std::future::Future;
use std::sync::Arc;

use groves_core::events::{decode_value, Event, EventError};
use groves_core::stage::Stage;
use groves_stages::{Buckets, StageError, UnitContext};
use groves_store::{s3_client, sdk_config_from_env, S3Store, Store};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

pub use lambda_runtime::Error;

/// JSON logs (CloudWatch parses them), level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore a second initialisation (tests may call this more than once).
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line itself
        .with_target(false)
        .try_init();
}

/// The AWS configuration and S3 client of this instance, built once per cold start.
pub struct Aws {
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
}

impl Aws {
    pub async fn from_env() -> Aws {
        let sdk = sdk_config_from_env().await;
        let s3 = s3_client(&sdk);
        Aws { sdk, s3 }
    }

    pub fn store(&self, bucket: &str) -> S3Store {
        S3Store::new(self.s3.clone(), bucket)
    }
}

/// The model cache of the predict and score functions: `GROVES_CACHE_MB` (stored megabytes of
/// loaded groves kept; default two fifths of the function's memory, as a model's resident size
/// is about 1.8× its stored size), `GROVES_REFRESH_S` (seconds before a model's pointer is
/// read again, default 60).
pub(crate) fn model_cache_options() -> groves_serving::CacheOptions {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let memory_mb = env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or(1769);
    let limit_mb = env("GROVES_CACHE_MB").unwrap_or(memory_mb * 2 / 5);
    groves_serving::CacheOptions {
        limit_bytes: (limit_mb as usize).saturating_mul(1 << 20),
        refresh: std::time::Duration::from_secs(env("GROVES_REFRESH_S").unwrap_or(60)),
    }
}

/// Each bucket named in an event is an S3 bucket, reached with the one client of this instance.
pub struct S3Buckets(pub aws_sdk_s3::Client);

impl Buckets for S3Buckets {
    fn open(&self, bucket: &str) -> Arc<dyn Store> {
        Arc::new(S3Store::new(self.0.clone(), bucket))
    }
}

/// A failed invocation as Lambda reports it: a kind to filter on, and the message.
#[derive(Debug)]
pub struct Failure {
    pub kind: &'static str,
    pub message: String,
}

impl From<StageError> for Failure {
    fn from(e: StageError) -> Self {
        Failure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<EventError> for Failure {
    fn from(e: EventError) -> Self {
        StageError::from(e).into()
    }
}

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Diagnostic {
        Diagnostic {
            error_type: f.kind.into(),
            error_message: f.message,
        }
    }
}

/// The one line every function logs per event (tests count them to see each unit ran once).
fn log_event(stage: &str, request_id: &str) {
    tracing::info!(stage, request_id, "event");
    groves_core::timing::invocation_started();
}

/// Runs the Lambda function of a unit-of-work stage: each event decoded as `E`, checked, and
/// handed to `handler` with the instance's context (S3 buckets, threads = the vCPUs Lambda
/// gives this memory size).
pub async fn serve_unit<E, F, Fut>(stage: Stage, handler: F) -> Result<(), Error>
where
    E: Event,
    F: Fn(&'static UnitContext, E) -> Fut,
    Fut: Future<Output = Result<Value, StageError>>,
{
    init_tracing();
    let aws = Aws::from_env().await;
    // Built once per cold start and used by every event until the process ends, so it is kept
    // for the process's whole life.
    let ctx: &'static UnitContext = Box::leak(Box::new(UnitContext {
        buckets: Arc::new(S3Buckets(aws.s3.clone())),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }));
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        log_event(stage.as_str(), &event.context.request_id);
        let parsed: E = decode_value(stage, event.payload).map_err(Failure::from)?;
        handler(ctx, parsed).await.map_err(Failure::from)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_a_kind_a_person_can_filter_on() {
        let bad: Result<groves_core::events::StockEvent, _> =
            decode_value(Stage::MinMse, serde_json::json!({"bucket": "groves-data"}));
        let d = Diagnostic::from(Failure::from(bad.unwrap_err()));
        assert_eq!(d.error_type, "InvalidEvent");
        assert!(d.error_message.contains("missing field `stock`"), "{d:?}");
        let missing = StageError::Missing {
            what: "the manifest".into(),
            key: "runs/run=r/run.json".into(),
            hint: "start the run first",
        };
        let d = Diagnostic::from(Failure::from(missing));
        assert_eq!(d.error_type, "MissingInput");
        assert!(d.error_message.contains("runs/run=r/run.json"));
    }
}
