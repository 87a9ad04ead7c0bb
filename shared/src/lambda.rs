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
use crate::store::{client_from_env, S3Store, Store};

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
                let left = deadline
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                let opts = DriveOptions {
                    stop_at: Some(Instant::now() + left.saturating_sub(PARENT_MARGIN)),
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

/// Runs the Lambda function of `stage`: clients built once per cold start, then every event
/// handed to the stage's function in `shared`.
pub async fn serve(stage: Stage) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let s3 = client_from_env().await;
    let invoker = if stage == Stage::Parent {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = aws_sdk_lambda::Client::new(&sdk);
        Some(LambdaInvoker::new(
            client,
            FunctionNames::from_env(),
            max_in_flight(),
        ))
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
