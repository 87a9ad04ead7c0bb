//! Lambda `pred-mses`: each event is a unit of the pred-mses stage, handed to
//! `groves_stages::pred_mses::handle`; nothing else lives here.

use groves_core::events::StockEvent;
use groves_core::stage::Stage;
use groves_stages::pred_mses;

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::serve_unit(Stage::PredMses, |ctx, e: StockEvent| async move {
        pred_mses::handle(ctx, &e).await
    })
    .await
}
