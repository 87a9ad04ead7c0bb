//! What every Lambda function does the same way: logging and clients at cold start, the event
//! parsed into its typed struct, the stage function called, its result returned as JSON.
//! A function crate's `main` is one call to [`serve`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

use crate::events::{parse_event, ParentEvent, Stage, StageEvent};
use crate::invoke::{FunctionNames, Invoker, LambdaInvoker};
use crate::stages::parent::{drive_run, fan_out, DriveOptions, DriveOutcome, Quiet};
use crate::stages::{run_unit, Buckets, FaultPlan, UnitContext};
use crate::store::{s3_client, sdk_config_from_env, S3Store, Store};
use crate::trigger::TriggerConfig;

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

/// Each bucket named in an event is an S3 bucket, reached with the one client of this instance.
pub struct S3Buckets(pub aws_sdk_s3::Client);

impl Buckets for S3Buckets {
    fn open(&self, bucket: &str) -> Arc<dyn Store> {
        Arc::new(S3Store::new(self.0.clone(), bucket))
    }
}

/// Invocations the parent keeps in flight (`GROVES_MAX_IN_FLIGHT`, default 500).
fn max_in_flight() -> usize {
    std::env::var("GROVES_MAX_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// The bucket of a parent event, else `GROVES_BUCKET`.
fn parent_bucket(event_bucket: Option<&str>) -> Result<String, lambda_runtime::Error> {
    event_bucket
        .map(str::to_string)
        .or_else(|| std::env::var("GROVES_BUCKET").ok())
        .ok_or_else(|| "parent event: no `bucket` field and GROVES_BUCKET is not set".into())
}

/// The parent stops driving this long before its invocation's deadline, then re-invokes itself.
const PARENT_MARGIN: Duration = Duration::from_secs(60);

struct Function {
    stage: Stage,
    ctx: UnitContext,
    s3: aws_sdk_s3::Client,
    invoker: Option<LambdaInvoker>,
}

impl Function {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        tracing::info!(stage = %self.stage, request_id = %event.context.request_id, "event");
        crate::timing::invocation_started();
        let bytes = serde_json::to_vec(&event.payload)?;
        let parsed = parse_event(self.stage, &bytes)?;
        match (&parsed, &self.invoker) {
            (StageEvent::Parent(p), Some(invoker)) => {
                self.parent(p, invoker, event.context.deadline()).await
            }
            _ => Ok(run_unit(&self.ctx, &parsed).await?),
        }
    }

    async fn parent(
        &self,
        event: &ParentEvent,
        invoker: &LambdaInvoker,
        deadline: std::time::SystemTime,
    ) -> Result<Value, lambda_runtime::Error> {
        match event {
            ParentEvent::FanOut(e) => {
                let bucket = parent_bucket(e.bucket.as_deref())?;
                let store = S3Store::new(self.s3.clone(), &bucket);
                Ok(serde_json::to_value(
                    fan_out(&store, invoker, e, &bucket).await?,
                )?)
            }
            ParentEvent::Run(spec) => {
                let bucket = parent_bucket(spec.bucket.as_deref())?;
                let store = S3Store::new(self.s3.clone(), &bucket);
                // A deadline already past on arrival cannot come from Lambda; `cargo lambda
                // watch` sends a fixed 600000 ms (1970). Drive without a time limit then.
                let stop_at = match deadline.duration_since(std::time::SystemTime::now()) {
                    Ok(left) => Some(Instant::now() + left.saturating_sub(PARENT_MARGIN)),
                    Err(_) => {
                        tracing::warn!(
                            ?deadline,
                            "invocation deadline already past: driving without a time limit"
                        );
                        None
                    }
                };
                let opts = DriveOptions {
                    stop_at,
                    poll_min: Duration::from_millis(500),
                    poll_max: Duration::from_secs(5),
                };
                match drive_run(&store, invoker, spec, &bucket, &opts, &Quiet).await? {
                    DriveOutcome::Finished(outcome) => {
                        let value = serde_json::to_value(&outcome)?;
                        outcome.check()?;
                        Ok(value)
                    }
                    DriveOutcome::Paused { stage, spec } => {
                        // Go on in a fresh invocation: the manifest and the stage logs in the
                        // bucket say where this one stopped.
                        let mut next = *spec;
                        next.bucket = Some(bucket);
                        let payload = serde_json::to_value(&next)?;
                        invoker.invoke(Stage::Parent, "parent", payload).await?;
                        Ok(json!({"paused_in": stage, "continued_by": "a new parent invocation"}))
                    }
                }
            }
        }
    }
}

/// The Lambda client (from the same loaded config as the S3 client) and the stages' function
/// names.
fn lambda_invoker(sdk: &aws_config::SdkConfig) -> LambdaInvoker {
    let client = aws_sdk_lambda::Client::new(sdk);
    LambdaInvoker::new(client, FunctionNames::from_env(), max_in_flight())
}

/// Runs the S3 trigger function: every `ObjectCreated` notification for a raw file starts that
/// stock's processing, or its whole search (see [`crate::trigger`]).
pub async fn serve_trigger() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    // A bad configuration fails the cold start, before any notification is taken.
    let config = TriggerConfig::from_env()?;
    let sdk = sdk_config_from_env().await;
    let buckets = S3Buckets(s3_client(&sdk));
    let invoker = lambda_invoker(&sdk);
    let (buckets, invoker, config) = (&buckets, &invoker, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        tracing::info!(request_id = %event.context.request_id, "S3 notification");
        let bytes = serde_json::to_vec(&event.payload)?;
        let notification = crate::trigger::parse_notification(&bytes)?;
        let records = crate::trigger::handle(buckets, invoker, config, &notification).await?;
        Ok::<Value, lambda_runtime::Error>(json!({ "records": records }))
    }))
    .await
}

/// Runs the Lambda function of `stage`: clients built once per cold start, then every event
/// handed to the stage's function in `shared`.
pub async fn serve(stage: Stage) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let sdk = sdk_config_from_env().await;
    let s3 = s3_client(&sdk);
    let invoker = if stage == Stage::Parent {
        Some(lambda_invoker(&sdk))
    } else {
        None
    };
    let function = Function {
        stage,
        ctx: UnitContext {
            buckets: Arc::new(S3Buckets(s3.clone())),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            faults: FaultPlan::from_env()?,
        },
        s3,
        invoker,
    };
    let function = &function;
    lambda_runtime::run(service_fn(move |ev| function.handle(ev))).await
}
