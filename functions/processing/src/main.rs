//! Lambda `processing`: one raw CSV → feature table and splits. Thin: parse, call, return.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::events::{parse_event, Stage, StageEvent};
use shared::stages::processing::run_processing;
use shared::store::S3Store;

async fn handle(client: &aws_sdk_s3::Client, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let json = serde_json::to_vec(&event.payload)?;
    let StageEvent::Processing(e) = parse_event(Stage::Processing, &json)? else {
        return Err("processing: event parsed as another stage".into());
    };
    let input = S3Store::new(client.clone(), &e.inbucket);
    let output = S3Store::new(client.clone(), &e.outbucket);
    let report = run_processing(&input, &output, &e).await?;
    Ok(serde_json::to_value(report)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::init_tracing();
    // Built once per cold start, shared by every invocation of this instance.
    let client = shared::store::client_from_env().await;
    lambda_runtime::run(service_fn(|ev| handle(&client, ev))).await
}
