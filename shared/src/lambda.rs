//! What every Lambda function does the same way: logging and client set-up at cold start.

/// JSON logs (CloudWatch parses them), level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore a second initialisation (tests may call this more than once).
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time() // CloudWatch stamps every line itself
        .with_target(false)
        .try_init();
}
