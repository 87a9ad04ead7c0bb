//! Lambda `min-mse`: each event is a unit of the min-mse stage, handed to
//! `groves_stages::min_mse::handle`; nothing else lives here.

use groves_core::events::StockEvent;
use groves_core::stage::Stage;
use groves_stages::min_mse;

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::serve_unit(Stage::MinMse, |ctx, e: StockEvent| async move {
        min_mse::handle(ctx, &e).await
    })
    .await
}
