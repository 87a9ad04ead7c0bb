//! The parent's Lambda function: a whole run driven until the invocation's time is nearly up,
//! then handed to a fresh invocation of itself; or one stage fanned out, the original way.

use std::time::{Duration, SystemTime};

use groves_core::events::{decode_value, ParentEvent};
use groves_core::stage::Stage;
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

/// Seconds one parent invocation drives at most before handing the run to a fresh one
/// (`GROVES_PARENT_SLICE_S`); unset, it drives until [`MARGIN`] before its deadline. For drills
/// and tests: a parent paused and re-invoked many times must give the same run.
fn slice() -> Option<Duration> {
    std::env::var("GROVES_PARENT_SLICE_S")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
}

/// The shortest listing interval of the parent on Lambda (`GROVES_POLL_MIN_MS`, default 500 ms).
/// Units report only to the bucket, so a finished unit's slot is refilled at the next listing:
/// a shorter interval hands over sooner and costs a LIST per stage each time
/// ($0.005 per 1,000; at 500 ms about $0.036 an hour, the parent's own 512 MB costs $0.030).
fn poll_min() -> Duration {
    std::env::var("GROVES_POLL_MIN_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(Duration::from_millis(500), Duration::from_millis)
}

/// When to stop driving: [`MARGIN`] before the deadline, or after [`slice`], whichever comes
/// first. A deadline already past on arrival cannot come from Lambda (`cargo lambda watch`
/// sends a fixed 600000 ms, in 1970): then only the slice limits the parent.
fn stop_at(deadline: SystemTime, slice: Option<Duration>) -> Option<tokio::time::Instant> {
    let now = tokio::time::Instant::now();
    let by_deadline = match deadline.duration_since(SystemTime::now()) {
        Ok(left) => Some(now + left.saturating_sub(MARGIN)),
        Err(_) => {
            tracing::warn!(
                ?deadline,
                "invocation deadline already past: driving without a deadline"
            );
            None
        }
    };
    let by_slice = slice.map(|s| now + s);
    match (by_deadline, by_slice) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Passes the run on to a fresh parent invocation, and makes sure it was accepted: nothing
/// else would notice a refused hand-over, and the run would stop. Throttling is waited out
/// (1 s, doubling up to 8 s, for up to [`HAND_OVER_PATIENCE`]); any other refusal, or
/// throttling beyond that, fails this invocation, which Lambda then retries (the parent keeps
/// Lambda's two async retries), and the retry resumes from the bucket.
async fn hand_over(invoker: &LambdaInvoker, payload: &Value) -> Result<(), Failure> {
    let give_up = tokio::time::Instant::now() + HAND_OVER_PATIENCE;
    let mut wait = Duration::from_secs(1);
    loop {
        match invoker
            .invoke_confirmed(Stage::Parent, "parent", payload, Duration::from_secs(10))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.throttled && tokio::time::Instant::now() + wait < give_up => {
                tracing::warn!(wait_ms = wait.as_millis() as u64, error = %e, "hand-over to the next parent throttled: backing off");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(8));
            }
            Err(e) => {
                return Err(Failure {
                    kind: "HandOverFailed",
                    message: format!("the run could not be passed to a new parent invocation: {e}"),
                })
            }
        }
    }
}

/// How long throttled hand-overs are retried: within the minute the parent keeps in hand
/// before its deadline ([`MARGIN`]).
const HAND_OVER_PATIENCE: Duration = Duration::from_secs(40);

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
            let poll_min = poll_min();
            let opts = DriveOptions {
                stop_at: stop_at(deadline, slice()),
                poll_min,
                poll_max: Duration::from_secs(5).max(poll_min),
                // Lambda bills the parent too: its invocations join the cost tables.
                bill_parent_mb: std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                    .ok()
                    .and_then(|v| v.parse().ok()),
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
                    hand_over(invoker, &payload).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_parent_stops_at_the_sooner_of_its_slice_and_its_deadline_margin() {
        let now = tokio::time::Instant::now();
        let in_secs = |s: u64| SystemTime::now() + Duration::from_secs(s);
        // The emulator's deadline (in the past): no limit, unless a slice is set.
        assert_eq!(stop_at(SystemTime::UNIX_EPOCH, None), None);
        let sliced = stop_at(SystemTime::UNIX_EPOCH, Some(Duration::from_secs(2))).unwrap();
        assert_eq!(sliced.duration_since(now), Duration::from_secs(2));
        // Fifteen minutes left: the slice comes first.
        let s = stop_at(in_secs(900), Some(Duration::from_secs(30))).unwrap();
        assert_eq!(s.duration_since(now), Duration::from_secs(30));
        // 70 s left: the margin (60 s) leaves about 10 s, sooner than a 30 s slice.
        let d = stop_at(in_secs(70), Some(Duration::from_secs(30))).unwrap();
        assert!(d.duration_since(now) <= Duration::from_secs(10), "{d:?}");
        assert!(d.duration_since(now) >= Duration::from_secs(8), "{d:?}");
    }
}
