//! Lambda `train-full`: the event goes to the train-full stage in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve(shared::events::Stage::TrainFull).await
}
