//! Lambda `pred-mses`: the event goes to the pred-mses stage in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve(shared::events::Stage::PredMses).await
}
