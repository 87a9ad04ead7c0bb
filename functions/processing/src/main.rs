//! Lambda `processing`: the event goes to the processing stage in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve(shared::events::Stage::Processing).await
}
