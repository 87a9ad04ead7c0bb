//! Lambda `trigger`: the S3 trigger (a raw file uploaded starts its processing or search), served by `groves_lambda::trigger`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::trigger::serve().await
}
