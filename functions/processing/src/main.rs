//! Lambda `processing`: each event is a unit of the processing stage, handed to
//! `groves_stages::processing::handle`; nothing else lives here.

use groves_core::events::ProcessingEvent;
use groves_core::stage::Stage;
use groves_stages::processing;

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::serve_unit(Stage::Processing, |ctx, e: ProcessingEvent| async move {
        processing::handle(ctx, &e).await
    })
    .await
}
