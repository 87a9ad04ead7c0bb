//! Lambda `score`: settles the live minutes an S3 notification announces, served by `groves_lambda::score`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::score::serve().await
}
