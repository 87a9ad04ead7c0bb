//! Kafka for `groves replay --to kafka://…` and `groves live --from kafka://…`, when built
//! with `--features kafka` (librdkafka); without it, a clear error.

use anyhow::Result;
use groves_core::ids::Symbol;
use groves_live::replay::{MinuteSink, ReplaySource};
use groves_live::{Scorer, StreamReport, StreamTotals};

#[cfg(feature = "kafka")]
mod imp {
    use super::*;
    use groves_core::calendar::format_wall;
    use groves_kafka::{consume, resume, ConsumeOptions, KafkaUrl, TopicSink};
    use std::time::Duration;

    /// The topic as a replay's sink; rows the topic already has for the stock (up to its newest
    /// minute there) are dropped from `source`, and their count returned.
    pub async fn topic_sink(
        url: &str,
        stock: &Symbol,
        source: &mut ReplaySource,
    ) -> Result<(Box<dyn MinuteSink>, usize)> {
        let url = KafkaUrl::parse(url)?;
        let (newest, skipped) = resume(&url, stock, source).await?;
        if let Some(m) = newest {
            println!(
                "{url} has {stock}'s minutes up to {}: resuming after it",
                format_wall(m)
            );
        }
        Ok((Box::new(TopicSink::new(&url, stock)?), skipped))
    }

    pub async fn consume_topic(
        url: &str,
        scorer: &Scorer,
        group: &str,
        batch: usize,
        idle: Option<Duration>,
        session_timeout: Duration,
        on_batch: &mut (dyn FnMut(&StreamReport) + Send),
    ) -> Result<StreamTotals> {
        let url = KafkaUrl::parse(url)?;
        let opts = ConsumeOptions {
            group: group.to_string(),
            batch,
            idle,
            session_timeout,
        };
        Ok(consume(&url, scorer, &opts, on_batch).await?)
    }
}

#[cfg(not(feature = "kafka"))]
mod imp {
    use super::*;
    use anyhow::bail;
    use std::time::Duration;

    const NO_KAFKA: &str = "this groves was built without Kafka: build it with `cargo build --release -p groves --features kafka` (librdkafka is compiled from source; a C compiler and make are needed)";

    pub async fn topic_sink(
        _url: &str,
        _stock: &Symbol,
        _source: &mut ReplaySource,
    ) -> Result<(Box<dyn MinuteSink>, usize)> {
        bail!(NO_KAFKA)
    }

    pub async fn consume_topic(
        _url: &str,
        _scorer: &Scorer,
        _group: &str,
        _batch: usize,
        _idle: Option<Duration>,
        _session_timeout: Duration,
        _on_batch: &mut (dyn FnMut(&StreamReport) + Send),
    ) -> Result<StreamTotals> {
        bail!(NO_KAFKA)
    }
}

pub use imp::{consume_topic, topic_sink};
