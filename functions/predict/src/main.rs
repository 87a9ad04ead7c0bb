//! Lambda `predict`: Function URL requests handed to the HTTP API of `groves serve`
//! (`groves_lambda::predict::serve`); nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::predict::serve().await
}
