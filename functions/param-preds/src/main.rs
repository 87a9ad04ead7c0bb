//! Lambda `param-preds`: the event goes to the param-preds stage in `shared`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::serve(shared::events::Stage::ParamPreds).await
}
