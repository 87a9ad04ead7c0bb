//! The parent's Lambda function: a whole run driven until the invocation's time is nearly up,
//! then handed to a fresh invocation of itself; or one stage fanned out, the original way.

use std::time::{Duration, SystemTime};

use groves_core::events::{decode_value, ParentEvent};
use groves_core::stage::Stage;
use groves_orchestrator::invoke::Invoker;
use groves_orchestrator::parent::{drive_run, fan_out, DriveOptions, DriveOutcome, Quiet};
use groves_stages::StageError;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

use crate::invoker::{FunctionNames, LambdaInvoker};
use crate::{init_tracing, log_event, Aws, Error, Failure};

/// The parent stops driving this long before its invocation's deadline, then re-invokes itself.
const MARGIN: Duration = Duration::from_secs(60);

/// Invocations the parent keeps in flight (`GROVES_MAX_IN_FLIGHT`, default 500).
fn max_in_flight() -> usize {
    std::env::var("GROVES_MAX_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// The Lambda client (from the same loaded config as the S3 client) and the stages' function
/// names.
pub fn lambda_invoker(aws: &Aws) -> LambdaInvoker {
    let client = aws_sdk_lambda::Client::new(&aws.sdk);
    LambdaInvoker::new(client, FunctionNames::from_env(), max_in_flight())
}

/// The bucket of a parent event, else `GROVES_BUCKET`.
fn bucket_of(event_bucket: Option<&str>) -> Result<String, Failure> {
    event_bucket
        .map(str::to_string)
        .or_else(|| std::env::var("GROVES_BUCKET").ok())
        .ok_or_else(|| Failure {
            kind: "InvalidEvent",
            message: "parent event: no `bucket` field and GROVES_BUCKET is not set".into(),
        })
}

/// When to stop driving: [`MARGIN`] before the deadline. A deadline already past on arrival
/// cannot come from Lambda (`cargo lambda watch` sends a fixed 600000 ms, in 1970): then the
/// parent drives without a time limit.
fn stop_at(deadline: SystemTime) -> Option<tokio::time::Instant> {
    match deadline.duration_since(SystemTime::now()) {
        Ok(left) => Some(tokio::time::Instant::now() + left.saturating_sub(MARGIN)),
        Err(_) => {
            tracing::warn!(
                ?deadline,
                "invocation deadline already past: driving without a time limit"
            );
            None
        }
    }
}

async fn handle(
    aws: &Aws,
    invoker: &LambdaInvoker,
    event: ParentEvent,
    deadline: SystemTime,
) -> Result<Value, Failure> {
    let encode = |e: serde_json::Error| Failure::from(StageError::Invalid(e.to_string()));
    match event {
        ParentEvent::FanOut(e) => {
            let bucket = bucket_of(e.bucket.as_deref())?;
            let store = aws.store(&bucket);
            let report = fan_out(&store, invoker, &e, &bucket).await?;
            serde_json::to_value(report).map_err(encode)
        }
        ParentEvent::Run(spec) => {
            let bucket = bucket_of(spec.bucket.as_deref())?;
            let store = aws.store(&bucket);
            let opts = DriveOptions {
                stop_at: stop_at(deadline),
                poll_min: Duration::from_millis(500),
                poll_max: Duration::from_secs(5),
            };
            match drive_run(&store, invoker, &spec, &bucket, &opts, &Quiet).await? {
                DriveOutcome::Finished(outcome) => {
                    // The report a person opens, from what the bucket now holds: the same
                    // bucket gives the same bytes, so a finished run driven again rewrites it
                    // unchanged.
                    groves_report::write_html(&store, &outcome.run).await?;
                    let value = serde_json::to_value(&outcome).map_err(encode)?;
                    outcome.check()?;
                    Ok(value)
                }
                DriveOutcome::Paused { stage, spec } => {
                    // Go on in a fresh invocation: the manifest and the stage logs in the
                    // bucket say where this one stopped.
                    let mut next = *spec;
                    next.bucket = Some(bucket);
                    let payload = serde_json::to_value(&next).map_err(encode)?;
                    invoker
                        .invoke(Stage::Parent, "parent", payload)
                        .await
                        .map_err(|e| Failure {
                            kind: "RunFailed",
                            message: e.to_string(),
                        })?;
                    Ok(json!({"paused_in": stage, "continued_by": "a new parent invocation"}))
                }
            }
        }
    }
}

/// Runs the parent's Lambda function.
pub async fn serve() -> Result<(), Error> {
    init_tracing();
    let aws = Aws::from_env().await;
    let invoker = lambda_invoker(&aws);
    let (aws, invoker) = (&aws, &invoker);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        log_event(Stage::Parent.as_str(), &event.context.request_id);
        let deadline = event.context.deadline();
        let parsed: ParentEvent =
            decode_value(Stage::Parent, event.payload).map_err(Failure::from)?;
        handle(aws, invoker, parsed, deadline).await
    }))
    .await
}
