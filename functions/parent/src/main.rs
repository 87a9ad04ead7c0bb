//! Lambda `parent`: the parent (a whole run, or one stage fanned out), served by `groves_lambda::parent`; nothing else lives here.

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::parent::serve().await
}
