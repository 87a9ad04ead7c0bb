//! Lambda `param-preds`: each event is a unit of the param-preds stage, handed to
//! `groves_stages::param_preds::handle`; nothing else lives here.

use groves_core::events::ParamPredsEvent;
use groves_core::stage::Stage;
use groves_stages::param_preds;

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::serve_unit(Stage::ParamPreds, |ctx, e: ParamPredsEvent| async move {
        param_preds::handle(ctx, &e).await
    })
    .await
}
