//! Lambda `test-full`: each event is a unit of the test-full stage, handed to
//! `groves_stages::test_full::handle`; nothing else lives here.

use groves_core::events::StockEvent;
use groves_core::stage::Stage;
use groves_stages::test_full;

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::serve_unit(Stage::TestFull, |ctx, e: StockEvent| async move {
        test_full::handle(ctx, &e).await
    })
    .await
}
