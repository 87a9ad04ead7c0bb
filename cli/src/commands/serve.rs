//! `groves serve`: the prediction API on a local address.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use groves_serving::{http::router, CacheOptions, ModelCache};

use super::StoreRef;
use crate::ServeArgs;

pub async fn serve(store: &StoreRef, args: &ServeArgs) -> Result<()> {
    let cache = Arc::new(ModelCache::new(
        Arc::clone(store),
        CacheOptions {
            limit_bytes: args.cache_mb.saturating_mul(1 << 20),
            refresh: Duration::from_secs(args.refresh_s),
        },
    ));
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    // One line on stdout, so a script can wait for it (and learn the port of :0).
    println!(
        "serving forecasts from {} on http://{addr}",
        store.describe()
    );
    // Ctrl-C ends the process: a forecast is a read, nothing is left half done.
    axum::serve(listener, router(cache))
        .await
        .context("serving")?;
    Ok(())
}
