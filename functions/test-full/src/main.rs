//! Lambda `test-full`: the event goes to the test-full stage in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve(shared::events::Stage::TestFull).await
}
