//! Live minutes from a stream (Kafka): one record per minute of one stock.
//!
//! The record format, what `groves replay --to kafka://` produces and what the score function
//! and `groves live --from kafka://` read:
//! - **key**: the stock symbol (UTF-8), so a stock's minutes stay in order within a partition;
//! - **value**: a live minute object's bytes: the raw file's header line, then the minute's row
//!   (UTF-8 CSV, `\n` line ends), exactly what the bucket path writes under `live/minutes/`.
//!
//! A batch is landed in the bucket first, each value at its live minute key and written only
//! if absent, and then each stock the batch touched is settled once by the same scorer as the
//! bucket path. A redelivered record lands on its own key again and writes nothing, and its
//! settle finds nothing new: a (stock, minute) is scored once however often it is delivered.
//! A record that cannot be a live minute (no key, a key that is not a symbol, a value with no
//! readable first minute) is recorded under `live/errors/stream/` by its topic, partition and
//! offset, with its bytes, and skipped. A value whose rows are malformed still lands, and the
//! scorer records it with its row and column, as it does any object.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use groves_core::calendar::parse_bar_time;
use groves_core::dataset::DATE_COLUMN;
use groves_core::ids::Symbol;
use groves_core::layout;
use serde_json::json;

use crate::settle::{Scorer, SettleReport};
use crate::LiveError;

/// One record of a topic, whichever client or event delivered it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    pub topic: String,
    pub partition: i64,
    pub offset: i64,
    /// When the producer made it (ms since the epoch), if the record says.
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Why the delivery could not give the key or value (e.g. not base64 in a Lambda event).
    pub problem: Option<String>,
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct StreamReport {
    pub records: usize,
    /// Minutes written to the bucket now, and found there already (a redelivery).
    pub landed: usize,
    pub existing: usize,
    /// Records that are not live minutes: (the key their error was recorded at, why).
    pub rejected: Vec<(String, String)>,
    /// One settle per stock the batch touched.
    pub settles: Vec<SettleReport>,
    /// Milliseconds from each record's timestamp to its forecast row stored.
    pub latencies_ms: Vec<f64>,
}

/// What a consumer did over all its batches.
#[derive(Debug, Default)]
pub struct StreamTotals {
    pub batches: usize,
    pub records: usize,
    pub landed: usize,
    pub existing: usize,
    pub rejected: usize,
    /// Record timestamp to forecast row stored, per forecast.
    pub latencies_ms: Vec<f64>,
    /// Stocks the records named, in first-seen order.
    pub stocks: Vec<Symbol>,
}

impl StreamTotals {
    pub fn add(&mut self, r: &StreamReport) {
        self.batches += 1;
        self.records += r.records;
        self.landed += r.landed;
        self.existing += r.existing;
        self.rejected += r.rejected.len();
        self.latencies_ms.extend_from_slice(&r.latencies_ms);
        for s in &r.settles {
            if !self.stocks.contains(&s.stock) {
                self.stocks.push(s.stock.clone());
            }
        }
    }
}

/// The first minute (India wall clock, seconds dropped) of a live minute value.
pub fn first_minute(value: &[u8]) -> Result<i64, String> {
    let text = std::str::from_utf8(value)
        .map_err(|e| format!("the value is not UTF-8 (byte {})", e.valid_up_to()))?;
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or("the value is empty")?;
    let date_at = header
        .split(',')
        .position(|h| h.trim() == DATE_COLUMN)
        .ok_or_else(|| format!("the value's header has no column `{DATE_COLUMN}`"))?;
    let row = lines.next().ok_or("the value has a header but no row")?;
    let cell = row
        .split(',')
        .nth(date_at)
        .ok_or_else(|| format!("row 1 has no `{DATE_COLUMN}` field"))?;
    let t = parse_bar_time(cell)
        .map_err(|p| format!("row 1, column `{DATE_COLUMN}`: {p} ({cell:?})"))?;
    Ok(t.local_ms - t.local_ms.rem_euclid(60_000))
}

/// The stock and first minute a record carries, or why it carries none.
fn minute_of(r: &StreamRecord) -> Result<(Symbol, i64), String> {
    if let Some(p) = &r.problem {
        return Err(p.clone());
    }
    let key = r
        .key
        .as_deref()
        .ok_or("the record has no key (the stock symbol)")?;
    let key = std::str::from_utf8(key).map_err(|_| "the record's key is not UTF-8".to_string())?;
    let stock =
        Symbol::new(key).map_err(|e| format!("the record's key {key:?} is not a symbol: {e}"))?;
    let value = r.value.as_deref().ok_or("the record has no value")?;
    Ok((stock, first_minute(value)?))
}

/// Lands a batch's minutes in the bucket and settles every stock it touched (module text).
pub async fn score_records(
    scorer: &Scorer,
    records: &[StreamRecord],
) -> Result<StreamReport, LiveError> {
    let store = scorer.store();
    let mut report = StreamReport {
        records: records.len(),
        ..Default::default()
    };
    // Stocks in the order the batch first names them, each with its keys in record order.
    let mut stocks: Vec<(Symbol, Vec<String>)> = Vec::new();
    // The minutes written now, whose bytes the settle need not read back.
    let mut written: Vec<(String, Bytes)> = Vec::new();
    let mut produced_at: HashMap<(Symbol, i64), i64> = HashMap::new();
    for r in records {
        let (stock, minute) = match minute_of(r) {
            Ok(m) => m,
            Err(why) => {
                let key = layout::live_stream_error_key(&r.topic, r.partition, r.offset);
                tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, why, "stream record skipped");
                fn lossy(b: &Option<Vec<u8>>) -> Option<std::borrow::Cow<'_, str>> {
                    b.as_deref().map(String::from_utf8_lossy)
                }
                let body = json!({
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                    "timestamp_ms": r.timestamp_ms,
                    "key": lossy(&r.key),
                    "value": lossy(&r.value),
                    "error": why,
                });
                store
                    .put_if_absent(&key, Bytes::from(body.to_string()))
                    .await?;
                report.rejected.push((key, why));
                continue;
            }
        };
        let key = layout::live_minute_key(&stock, minute);
        let value = Bytes::copy_from_slice(r.value.as_deref().unwrap_or_default());
        if store.put_if_absent(&key, value.clone()).await? {
            report.landed += 1;
            written.push((key.clone(), value));
        } else {
            // Already there, perhaps with other bytes: the store's are the ones settled.
            report.existing += 1;
        }
        if let Some(ts) = r.timestamp_ms {
            produced_at.entry((stock.clone(), minute)).or_insert(ts);
        }
        match stocks.iter_mut().find(|(s, _)| *s == stock) {
            Some((_, keys)) if keys.contains(&key) => {}
            Some((_, keys)) => keys.push(key),
            None => stocks.push((stock, vec![key])),
        }
    }
    for (stock, keys) in stocks {
        let settled = scorer.score_landed(&stock, &keys, &written).await?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        for f in &settled.forecasts {
            if let Some(ts) = produced_at.get(&(stock.clone(), f.minute_ms)) {
                report.latencies_ms.push((now_ms - *ts as f64).max(0.0));
            }
        }
        report.settles.push(settled);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_minute_is_read_from_the_value() {
        let t = |s: &str| parse_bar_time(s).unwrap().local_ms;
        assert_eq!(
            first_minute(b"x,date,TYPPRICE\n1,2015-02-02 09:16:30+05:30,3\n").unwrap(),
            t("2015-02-02 09:16:00+05:30")
        );
        let e = |v: &[u8]| first_minute(v).unwrap_err();
        assert!(e(b"").contains("empty"));
        assert!(e(b"close,TYPPRICE\n1,2\n").contains("no column `date`"));
        assert!(e(b"date,TYPPRICE\n").contains("no row"));
        assert!(e(b"date,TYPPRICE\nsoon,1\n").contains("row 1, column `date`"));
        assert!(e(b"date\n\xff\n").contains("not UTF-8"));
    }
}
