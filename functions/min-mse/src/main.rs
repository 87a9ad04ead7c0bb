//! Lambda `min-mse`: the event goes to the min-mse stage in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve(shared::events::Stage::MinMse).await
}
