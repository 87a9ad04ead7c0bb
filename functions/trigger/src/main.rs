//! Lambda `trigger`: an S3 notification goes to the trigger in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve_trigger().await
}
