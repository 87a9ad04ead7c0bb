//! The predict function: the HTTP API of `groves serve` behind a Function URL. The runtime
//! hands each Function URL request (API Gateway HTTP payload v2) to the same axum router, so
//! answers and errors are those of the local server.

use std::sync::Arc;
use std::time::Duration;

use groves_serving::{http::router, CacheOptions, ModelCache};

use crate::{init_tracing, Aws, Error};

/// `GROVES_BUCKET` (the bucket), `GROVES_CACHE_MB` (stored megabytes of loaded groves kept;
/// default two fifths of the function's memory, as a model's resident size is about 1.8×
/// its stored size), `GROVES_REFRESH_S` (seconds before a model's pointer is read again,
/// default 60).
fn cache_options() -> CacheOptions {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let memory_mb = env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or(1769);
    let limit_mb = env("GROVES_CACHE_MB").unwrap_or(memory_mb * 2 / 5);
    CacheOptions {
        limit_bytes: (limit_mb as usize).saturating_mul(1 << 20),
        refresh: Duration::from_secs(env("GROVES_REFRESH_S").unwrap_or(60)),
    }
}

/// Serves Function URL requests until the runtime stops: the store and the model cache are
/// built once per cold start and kept across invocations.
pub async fn serve() -> Result<(), Error> {
    init_tracing();
    let bucket = std::env::var("GROVES_BUCKET").map_err(|_| "GROVES_BUCKET is not set")?;
    let aws = Aws::from_env().await;
    let cache = Arc::new(ModelCache::new(
        Arc::new(aws.store(&bucket)),
        cache_options(),
    ));
    lambda_http::run(router(cache)).await
}
