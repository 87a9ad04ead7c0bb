//! Lambda `train-full`: each event is a unit of the train-full stage, handed to
//! `groves_stages::train_full::handle`; nothing else lives here.

use groves_core::events::TrainFullEvent;
use groves_core::stage::Stage;
use groves_stages::train_full;

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::serve_unit(Stage::TrainFull, |ctx, e: TrainFullEvent| async move {
        train_full::handle(ctx, &e).await
    })
    .await
}
