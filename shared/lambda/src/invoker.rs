//! Units as AWS Lambda invocations (`InvocationType=Event`): the parent's invoker on Lambda.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::Value;
use tokio::sync::Semaphore;

use groves_core::stage::Stage;
use groves_orchestrator::invoke::{HandoffFailure, InvokeError, Invoker};

/// The Lambda function of each stage. By default `<prefix><stage>` (prefix from
/// `GROVES_FUNCTION_PREFIX`, empty by default, so the names are the crates' names as
/// `cargo lambda watch` serves them); `GROVES_FUNCTION_<STAGE>` (e.g.
/// `GROVES_FUNCTION_PARAM_PREDS`) overrides one stage, as the SAM template does.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionNames(HashMap<Stage, String>);

impl FunctionNames {
    pub fn env_var(stage: Stage) -> String {
        format!(
            "GROVES_FUNCTION_{}",
            stage.as_str().replace('-', "_").to_ascii_uppercase()
        )
    }

    pub fn from_env() -> FunctionNames {
        let prefix = std::env::var("GROVES_FUNCTION_PREFIX").unwrap_or_default();
        FunctionNames(
            Stage::ALL
                .into_iter()
                .map(|s| {
                    let name = std::env::var(Self::env_var(s))
                        .unwrap_or_else(|_| format!("{prefix}{}", s.as_str()));
                    (s, name)
                })
                .collect(),
        )
    }

    pub fn get(&self, stage: Stage) -> &str {
        self.0.get(&stage).map(String::as_str).unwrap_or_default()
    }
}

/// Sends each unit to its function. Calls run in the background, `capacity` at a time: real
/// Lambda answers an `Event` invoke at once, but an emulator may answer only when the function
/// finishes, and neither must hold up the parent.
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    names: FunctionNames,
    slots: Arc<Semaphore>,
    capacity: usize,
    failures: Arc<Mutex<Vec<HandoffFailure>>>,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client, names: FunctionNames, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        LambdaInvoker {
            client,
            names,
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            failures: Arc::default(),
        }
    }

    pub fn function_name(&self, stage: Stage) -> &str {
        self.names.get(stage)
    }

    /// One `Event` invoke of `stage`'s function whose answer is waited for, up to `within`:
    /// Ok(true) when Lambda accepted it, Ok(false) when no answer came in time (an emulator runs
    /// an `Event` invoke to its end before it answers; the call goes on in the background), Err
    /// when it was refused (`throttled` says whether by throttling). For the one hand-over no
    /// later listing would notice: the parent passing a run on to its next invocation.
    pub async fn invoke_confirmed(
        &self,
        stage: Stage,
        unit: &str,
        event: &Value,
        within: std::time::Duration,
    ) -> Result<bool, InvokeError> {
        let payload = serde_json::to_vec(event)
            .map_err(|e| self.refused(stage, unit, e.to_string(), false))?;
        let (client, name) = (self.client.clone(), self.names.get(stage).to_string());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            // The receiver is gone when the answer came too late: nothing waits for it then.
            let _ = tx.send(send_event(&client, &name, payload).await);
        });
        match tokio::time::timeout(within, rx).await {
            Err(_) => Ok(false),
            Ok(Err(_)) => Err(self.refused(
                stage,
                unit,
                "the invoke task ended without an answer".into(),
                false,
            )),
            Ok(Ok(Ok(()))) => Ok(true),
            Ok(Ok(Err((message, throttled)))) => Err(self.refused(stage, unit, message, throttled)),
        }
    }

    fn refused(&self, stage: Stage, unit: &str, message: String, throttled: bool) -> InvokeError {
        InvokeError {
            invoker: format!("Lambda function {:?}", self.names.get(stage)),
            stage,
            unit: unit.to_string(),
            message,
            throttled,
        }
    }
}

/// One `Event` invoke of function `name`: Ok when Lambda accepted it, else why not and whether
/// it was throttling.
async fn send_event(
    client: &aws_sdk_lambda::Client,
    name: &str,
    payload: Vec<u8>,
) -> Result<(), (String, bool)> {
    let sent = client
        .invoke()
        .function_name(name)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload))
        .send()
        .await;
    match sent {
        Ok(out) => match out.function_error() {
            // Only an emulator that ran the function synchronously reports this.
            Some(fe) => Err((format!("function error: {fe}"), false)),
            None => Ok(()),
        },
        Err(e) => Err((
            aws_sdk_lambda::error::DisplayErrorContext(&e).to_string(),
            is_throttle(&e),
        )),
    }
}

/// Whether an invoke was refused by throttling (429 `TooManyRequestsException`).
fn is_throttle(
    e: &aws_sdk_lambda::error::SdkError<
        aws_sdk_lambda::operation::invoke::InvokeError,
        aws_sdk_lambda::config::http::HttpResponse,
    >,
) -> bool {
    e.as_service_error()
        .is_some_and(|se| se.is_too_many_requests_exception())
        || e.raw_response().is_some_and(|r| r.status().as_u16() == 429)
}

#[async_trait]
impl Invoker for LambdaInvoker {
    fn describe(&self) -> String {
        format!(
            "AWS Lambda ({} invocations in flight at most)",
            self.capacity
        )
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn units_outlive_parent(&self) -> bool {
        true
    }

    async fn invoke(&self, stage: Stage, unit: &str, event: Value) -> Result<(), InvokeError> {
        let payload = serde_json::to_vec(&event)
            .map_err(|e| self.refused(stage, unit, e.to_string(), false))?;
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| self.refused(stage, unit, e.to_string(), false))?;
        let (client, name) = (self.client.clone(), self.names.get(stage).to_string());
        let failures = self.failures.clone();
        let unit = unit.to_string();
        tokio::spawn(async move {
            let _slot = permit;
            if let Err((message, throttled)) = send_event(&client, &name, payload).await {
                tracing::warn!(%stage, %unit, function = %name, %message, throttled, "invoke failed");
                failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(HandoffFailure {
                        stage,
                        unit,
                        message,
                        throttled,
                    });
            }
        });
        Ok(())
    }

    fn take_failures(&self) -> Vec<HandoffFailure> {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()))
    }

    async fn settle(&self) -> Vec<HandoffFailure> {
        // Every background call holds a slot until it is answered: owning them all means none
        // is left. The semaphore is never closed, so acquiring cannot fail.
        let capacity = u32::try_from(self.capacity).unwrap_or(u32::MAX);
        let _all = self.slots.acquire_many(capacity).await;
        self.take_failures()
    }
}
