//! Lambda `timing-metrics`: the event goes to the timing-metrics stage in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve(shared::events::Stage::TimingMetrics).await
}
