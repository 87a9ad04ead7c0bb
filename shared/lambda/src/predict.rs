//! The predict function: the HTTP API of `groves serve` behind a Function URL. The runtime
//! hands each Function URL request (API Gateway HTTP payload v2) to the same axum router, so
//! answers and errors are those of the local server.

use std::sync::Arc;

use groves_serving::{http::router, ModelCache};

use crate::{init_tracing, model_cache_options, Aws, Error};

/// Serves Function URL requests until the runtime stops: the store and the model cache are
/// built once per cold start and kept across invocations.
pub async fn serve() -> Result<(), Error> {
    init_tracing();
    let bucket = std::env::var("GROVES_BUCKET").map_err(|_| "GROVES_BUCKET is not set")?;
    let aws = Aws::from_env().await;
    let cache = Arc::new(ModelCache::new(
        Arc::new(aws.store(&bucket)),
        model_cache_options(),
    ));
    lambda_http::run(router(cache)).await
}
