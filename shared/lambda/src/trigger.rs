//! The S3 trigger's Lambda function: every `ObjectCreated` notification for a raw file starts
//! that stock's processing, or its whole search (see [`groves_orchestrator::trigger`]).

use groves_orchestrator::trigger::{handle, notification_from_value, TriggerConfig};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

use crate::parent::lambda_invoker;
use crate::{init_tracing, Aws, Error, Failure, S3Buckets};

/// Runs the trigger function. A bad configuration fails the cold start, before any
/// notification is taken.
pub async fn serve() -> Result<(), Error> {
    init_tracing();
    let config = TriggerConfig::from_env()?;
    let aws = Aws::from_env().await;
    let buckets = S3Buckets(aws.s3.clone());
    let invoker = lambda_invoker(&aws);
    let (buckets, invoker, config) = (&buckets, &invoker, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        tracing::info!(request_id = %event.context.request_id, "S3 notification");
        let notification = notification_from_value(event.payload).map_err(Failure::from)?;
        let records = handle(buckets, invoker, config, &notification)
            .await
            .map_err(Failure::from)?;
        Ok::<Value, Failure>(json!({ "records": records }))
    }))
    .await
}
