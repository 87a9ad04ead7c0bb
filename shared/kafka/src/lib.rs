//! groves' Kafka client side, for the `groves` command line (the score function needs none:
//! Lambda's event source mapping hands it the records).
//!
//! - [`TopicSink`]: `groves replay --to kafka://…`, one record per minute keyed by the stock,
//!   its value a live minute object's bytes (format in [`groves_live::stream`]);
//! - [`resume`]: where a replay into a topic resumes (after the stock's newest minute there);
//! - [`consume`]: `groves live --from kafka://…`, a consumer group whose batches go through
//!   [`groves_live::score_records`], offsets committed only once a batch's rows are stored;
//! - [`read_all`]: every record of a topic, for tests and benchmarks.
//!
//! The client is librdkafka (through `rdkafka`): the reference non-JVM client, with consumer
//! groups and offset commits; the pure-Rust clients either lack groups (`rskafka`) or are
//! little used.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use groves_core::ids::Symbol;
use groves_live::replay::{MinuteSink, ReplayObject, ReplaySource};
use groves_live::stream::{first_minute, score_records, StreamRecord, StreamReport, StreamTotals};
use groves_live::{LiveError, Scorer};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("{0:?} is not a Kafka address: expected kafka://HOST:PORT[,HOST:PORT…]/TOPIC")]
    BadUrl(String),
    #[error("Kafka at {brokers}, topic {topic}: {message}")]
    Client {
        brokers: String,
        topic: String,
        message: String,
    },
    #[error(transparent)]
    Live(#[from] LiveError),
}

/// `kafka://HOST:PORT[,HOST:PORT…]/TOPIC`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaUrl {
    /// Bootstrap servers, comma-separated.
    pub brokers: String,
    pub topic: String,
}

impl KafkaUrl {
    pub fn parse(s: &str) -> Result<Self, KafkaError> {
        let bad = || KafkaError::BadUrl(s.to_string());
        let rest = s.strip_prefix("kafka://").ok_or_else(bad)?;
        let (brokers, topic) = rest.split_once('/').ok_or_else(bad)?;
        let topic_ok = !topic.is_empty()
            && topic.len() <= 249
            && topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let brokers_ok = !brokers.is_empty()
            && brokers.split(',').all(|b| {
                b.rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            });
        if !topic_ok || !brokers_ok {
            return Err(bad());
        }
        Ok(KafkaUrl {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> KafkaError {
        KafkaError::Client {
            brokers: self.brokers.clone(),
            topic: self.topic.clone(),
            message: e.to_string(),
        }
    }

    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", "groves");
        c
    }
}

impl std::fmt::Display for KafkaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kafka://{}/{}", self.brokers, self.topic)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A replay's records: each object becomes one record keyed by the stock, stamped with the
/// time it was produced (what the consumer's latency is measured from), and is acknowledged by
/// the broker before the next is produced, so a stock's minutes stay in order.
pub struct TopicSink {
    url: KafkaUrl,
    stock: Symbol,
    producer: FutureProducer,
}

impl TopicSink {
    pub fn new(url: &KafkaUrl, stock: &Symbol) -> Result<Self, KafkaError> {
        let producer: FutureProducer = url
            .config()
            // Waits for the broker's acknowledgement of each record.
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(|e| url.error(e))?;
        Ok(TopicSink {
            url: url.clone(),
            stock: stock.clone(),
            producer,
        })
    }
}

#[async_trait::async_trait]
impl MinuteSink for TopicSink {
    async fn put(&self, o: &ReplayObject) -> Result<bool, LiveError> {
        let record = FutureRecord::to(&self.url.topic)
            .key(self.stock.as_str())
            .payload(&o.body[..])
            .timestamp(now_ms());
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| LiveError::Stream(format!("{}: {e}", self.url)))?;
        Ok(true)
    }
}

fn owned(m: &BorrowedMessage<'_>) -> StreamRecord {
    StreamRecord {
        topic: m.topic().to_string(),
        partition: i64::from(m.partition()),
        offset: m.offset(),
        timestamp_ms: m.timestamp().to_millis(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        problem: None,
    }
}

/// A consumer outside any group, reading partitions it is assigned.
fn reader(url: &KafkaUrl) -> Result<StreamConsumer, KafkaError> {
    url.config()
        .set("group.id", "groves-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // The end of a partition is reported, so a read up to a watermark that falls in a gap
        // of offsets (compaction, transaction markers) still ends.
        .set("enable.partition.eof", "true")
        .create()
        .map_err(|e| url.error(e))
}

/// The topic's partitions with their (low, high) watermarks.
fn watermarks(c: &StreamConsumer, url: &KafkaUrl) -> Result<Vec<(i32, i64, i64)>, KafkaError> {
    let timeout = Duration::from_secs(10);
    let md = c
        .fetch_metadata(Some(&url.topic), timeout)
        .map_err(|e| url.error(e))?;
    let topic = md
        .topics()
        .iter()
        .find(|t| t.name() == url.topic)
        .ok_or_else(|| url.error("no such topic"))?;
    if let Some(e) = topic.error() {
        return Err(url.error(format!("{e:?}")));
    }
    let mut out = Vec::new();
    for p in topic.partitions() {
        let (lo, hi) = c
            .fetch_watermarks(&url.topic, p.id(), timeout)
            .map_err(|e| url.error(e))?;
        out.push((p.id(), lo, hi));
    }
    Ok(out)
}

/// Records of one partition in `[from, to)`.
async fn read_range(
    c: &StreamConsumer,
    url: &KafkaUrl,
    partition: i32,
    from: i64,
    to: i64,
) -> Result<Vec<StreamRecord>, KafkaError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&url.topic, partition, Offset::Offset(from))
        .map_err(|e| url.error(e))?;
    c.assign(&tpl).map_err(|e| url.error(e))?;
    let mut out = Vec::new();
    loop {
        let m = match tokio::time::timeout(Duration::from_secs(30), c.recv()).await {
            Err(_) => {
                return Err(url.error(format!(
                    "partition {partition}: offsets {from}..{to} not read within 30 s"
                )))
            }
            Ok(Err(rdkafka::error::KafkaError::PartitionEOF(p))) if p == partition => break,
            Ok(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => continue,
            Ok(Err(e)) => return Err(url.error(e)),
            Ok(Ok(m)) => m,
        };
        if m.partition() != partition {
            continue;
        }
        if (from..to).contains(&m.offset()) {
            out.push(owned(&m));
        }
        if m.offset() >= to - 1 {
            break;
        }
    }
    Ok(out)
}

/// Every record of the topic, partition by partition, in offset order.
pub async fn read_all(url: &KafkaUrl) -> Result<Vec<StreamRecord>, KafkaError> {
    let c = reader(url)?;
    let mut out = Vec::new();
    for (p, lo, hi) in watermarks(&c, url)? {
        if hi > lo {
            out.extend(read_range(&c, url, p, lo, hi).await?);
        }
    }
    Ok(out)
}

/// The newest minute of `stock` in the topic (None: none there): each partition is read back
/// from its end in growing windows until a record of the stock is found.
pub async fn last_minute(url: &KafkaUrl, stock: &Symbol) -> Result<Option<i64>, KafkaError> {
    let c = reader(url)?;
    let mut newest: Option<i64> = None;
    for (p, lo, hi) in watermarks(&c, url)? {
        let (mut end, mut window) = (hi, 256_i64);
        while end > lo {
            let start = (end - window).max(lo);
            let found = read_range(&c, url, p, start, end)
                .await?
                .iter()
                .filter(|r| r.key.as_deref() == Some(stock.as_str().as_bytes()))
                .filter_map(|r| r.value.as_deref().and_then(|v| first_minute(v).ok()))
                .max();
            if let Some(m) = found {
                newest = newest.max(Some(m));
                break;
            }
            end = start;
            window *= 4;
        }
    }
    Ok(newest)
}

/// Drops from `source` the rows the topic already has for `stock` (up to its newest minute
/// there), so a replay into a topic resumes rather than repeats: that minute and how many
/// rows were dropped.
pub async fn resume(
    url: &KafkaUrl,
    stock: &Symbol,
    source: &mut ReplaySource,
) -> Result<(Option<i64>, usize), KafkaError> {
    let Some(m) = last_minute(url, stock).await? else {
        return Ok((None, 0));
    };
    let before = source.rows.len();
    source.rows.retain(|(t, _)| *t > m);
    Ok((Some(m), before - source.rows.len()))
}

#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    /// The consumer group (its committed offsets are where a restarted consumer resumes).
    pub group: String,
    /// Records settled together at most.
    pub batch: usize,
    /// Stop once nothing new has come for this long (counted from the moment partitions are
    /// assigned); None: run until stopped.
    pub idle: Option<Duration>,
    /// How long the group waits for a silent member before giving its partitions to others:
    /// a consumer killed and restarted resumes after about this long.
    pub session_timeout: Duration,
}

/// Consumes the topic with a consumer group: each batch is landed and settled
/// ([`score_records`]) and only then are its offsets committed, so a consumer killed at any
/// point resumes from the first record whose rows may not be stored, and what it repeats
/// writes nothing new. New groups start at the topic's beginning. `on_batch` sees each
/// batch's report.
pub async fn consume(
    url: &KafkaUrl,
    scorer: &Scorer,
    opts: &ConsumeOptions,
    on_batch: &mut (dyn FnMut(&StreamReport) + Send),
) -> Result<StreamTotals, KafkaError> {
    let c: StreamConsumer = url
        .config()
        .set("group.id", &opts.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // A fetch returns once a record is there or after this long: the bound on how long
        // a minute can sit in the broker unseen (librdkafka's default is 500 ms).
        .set("fetch.wait.max.ms", "20")
        .set(
            "session.timeout.ms",
            opts.session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (opts.session_timeout.as_millis() / 3).max(1).to_string(),
        )
        .create()
        .map_err(|e| url.error(e))?;
    c.subscribe(&[url.topic.as_str()])
        .map_err(|e| url.error(e))?;
    let mut totals = StreamTotals::default();
    let mut last_record = Instant::now();
    loop {
        // Joining the group (which waits for a dead member's session to end) is not idleness.
        if c.assignment().map(|a| a.count() == 0).unwrap_or(true) {
            last_record = Instant::now();
        }
        // The first record waits (up to the idle bound, looking again at the assignment
        // twice a second); the rest of the batch is what has already arrived.
        let wait = match opts.idle {
            Some(idle) => match idle.checked_sub(last_record.elapsed()) {
                Some(left) => left.min(Duration::from_millis(500)),
                None => break,
            },
            None => Duration::from_secs(3600),
        };
        let first = match tokio::time::timeout(wait, c.recv()).await {
            Ok(m) => m.map_err(|e| url.error(e))?,
            Err(_) => continue,
        };
        let mut batch = vec![owned(&first)];
        drop(first);
        while batch.len() < opts.batch.max(1) {
            match tokio::time::timeout(Duration::from_millis(5), c.recv()).await {
                Ok(m) => batch.push(owned(&m.map_err(|e| url.error(e))?)),
                Err(_) => break,
            }
        }
        last_record = Instant::now();
        let report = score_records(scorer, &batch).await?;
        // Stored: now the batch may be committed (the next offset of each partition).
        let mut next: BTreeMap<i64, i64> = BTreeMap::new();
        for r in &batch {
            let e = next.entry(r.partition).or_insert(r.offset + 1);
            *e = (*e).max(r.offset + 1);
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in next {
            tpl.add_partition_offset(&url.topic, p as i32, Offset::Offset(o))
                .map_err(|e| url.error(e))?;
        }
        c.commit(&tpl, CommitMode::Sync).map_err(|e| url.error(e))?;
        totals.add(&report);
        on_batch(&report);
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_addresses_are_checked() {
        let u = KafkaUrl::parse("kafka://127.0.0.1:9092,10.0.0.2:9093/nse.minutes").unwrap();
        assert_eq!(u.brokers, "127.0.0.1:9092,10.0.0.2:9093");
        assert_eq!(u.topic, "nse.minutes");
        assert_eq!(
            u.to_string(),
            "kafka://127.0.0.1:9092,10.0.0.2:9093/nse.minutes"
        );
        for bad in [
            "127.0.0.1:9092/t",
            "kafka://127.0.0.1:9092",
            "kafka://127.0.0.1:9092/",
            "kafka://127.0.0.1/t",
            "kafka://127.0.0.1:99999/t",
            "kafka://:9092/t",
            "kafka://h:1/a/b",
        ] {
            let e = KafkaUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("kafka://HOST:PORT"), "{e}");
        }
    }
}
