//! Lambda `timing-metrics`: each event is a unit of the timing-metrics stage, handed to
//! `groves_stages::timing_metrics::handle`; nothing else lives here.

use groves_core::events::TimingMetricsEvent;
use groves_core::stage::Stage;
use groves_stages::timing_metrics;

#[tokio::main]
async fn main() -> Result<(), groves_lambda::Error> {
    groves_lambda::serve_unit(
        Stage::TimingMetrics,
        |ctx, e: TimingMetricsEvent| async move { timing_metrics::handle(ctx, &e).await },
    )
    .await
}
