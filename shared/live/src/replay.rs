//! `groves replay`: a raw file's rows written into the bucket as they would arrive live.
//!
//! Each object holds `batch` consecutive rows (one minute by default) under the raw file's own
//! header, at the key of its first minute ([`groves_core::layout::live_minute_key`]). Rows are
//! replayed in time order (a repeated timestamp keeps its first row, as processing does), from
//! `start`, paced at `speed` times real time with the time outside the session skipped (the
//! next session's open follows the last minute of the previous one). Objects are written only
//! if absent, so a replay that is stopped and run again with the same batch size writes each
//! object once. The same objects can go to a stream instead ([`MinuteSink`]).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use groves_core::calendar::{parse_bar_time, DAY_MS};
use groves_core::dataset::DATE_COLUMN;
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_store::Store;

use crate::LiveError;

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// First minute replayed (India wall clock, ms); None: the file's first.
    pub start_ms: Option<i64>,
    /// Rows replayed at most; None: to the end of the file.
    pub rows: Option<usize>,
    /// Rows per object.
    pub batch: usize,
    /// Times real time; None: as fast as the store takes them.
    pub speed: Option<f64>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            start_ms: None,
            rows: None,
            batch: 1,
            speed: None,
        }
    }
}

/// Progress after each object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayProgress {
    pub objects: usize,
    pub objects_total: usize,
    /// Objects written now, and found already in the store (a resumed replay).
    pub written: usize,
    pub existing: usize,
    pub rows: usize,
    pub last_key: String,
}

/// The rows a replay would write, read from a raw CSV file: the header line and, in time
/// order, each selected row's minute and text.
#[derive(Debug)]
pub struct ReplaySource {
    pub header: String,
    pub rows: Vec<(i64, String)>,
}

impl ReplaySource {
    /// Reads `path` (named `file` in errors), keeping rows from `start_ms`, at most `rows`.
    pub fn read(
        path: &Path,
        file: &str,
        start_ms: Option<i64>,
        rows: Option<usize>,
    ) -> Result<Self, LiveError> {
        let err = |message: String| LiveError::Source {
            file: file.to_string(),
            message,
        };
        let f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let mut lines = BufReader::new(f).lines();
        let header = match lines.next() {
            Some(h) => h.map_err(|e| err(e.to_string()))?,
            None => return Err(err("the file is empty".into())),
        };
        let header = header.trim_end_matches('\r').to_string();
        let date_at = header
            .split(',')
            .position(|h| h.trim() == DATE_COLUMN)
            .ok_or_else(|| err(format!("the header has no column `{DATE_COLUMN}`")))?;
        let mut out: Vec<(i64, String)> = Vec::new();
        for (i, line) in lines.enumerate() {
            let line = line.map_err(|e| err(format!("line {}: {e}", i + 2)))?;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let cell = line
                .split(',')
                .nth(date_at)
                .ok_or_else(|| err(format!("line {}: no `{DATE_COLUMN}` field", i + 2)))?;
            let t = parse_bar_time(cell).map_err(|p| {
                err(format!(
                    "line {}, column `{DATE_COLUMN}`: {p} ({cell:?})",
                    i + 2
                ))
            })?;
            let minute = t.local_ms - t.local_ms.rem_euclid(60_000);
            if start_ms.is_some_and(|s| minute < s) {
                continue;
            }
            out.push((minute, line.to_string()));
        }
        // Live minutes come in time order, one row a minute.
        out.sort_by_key(|(m, _)| *m);
        out.dedup_by_key(|(m, _)| *m);
        if let Some(n) = rows {
            out.truncate(n);
        }
        if out.is_empty() {
            return Err(err("no row to replay from the start given".into()));
        }
        Ok(ReplaySource { header, rows: out })
    }

    /// The objects a replay writes, in order.
    pub fn objects(&self, stock: &Symbol, batch: usize) -> Vec<ReplayObject> {
        self.rows
            .chunks(batch.max(1))
            .map(|chunk| {
                let first_ms = chunk[0].0;
                let mut body = String::with_capacity(self.header.len() + 1 + chunk.len() * 600);
                body.push_str(&self.header);
                body.push('\n');
                for (_, line) in chunk {
                    body.push_str(line);
                    body.push('\n');
                }
                ReplayObject {
                    key: layout::live_minute_key(stock, first_ms),
                    first_ms,
                    rows: chunk.len(),
                    body: Bytes::from(body),
                }
            })
            .collect()
    }
}

/// One live object: its key, first minute, rows and bytes.
#[derive(Debug, Clone)]
pub struct ReplayObject {
    pub key: String,
    pub first_ms: i64,
    pub rows: usize,
    pub body: Bytes,
}

/// Minutes of session time from `a` to `b` (later): wall-clock minutes within a day, and one
/// minute from a session's last minute to the next one's first.
fn session_minutes(a: i64, b: i64) -> i64 {
    let (da, db) = (a.div_euclid(DAY_MS), b.div_euclid(DAY_MS));
    if da == db {
        (b - a) / 60_000
    } else {
        let open = crate::settle::SESSION_OPEN_MS;
        let last = crate::settle::SESSION_LAST_MS;
        let rest_of_a = ((last - a.rem_euclid(DAY_MS)) / 60_000).max(0);
        let into_b = ((b.rem_euclid(DAY_MS) - open) / 60_000).max(0);
        rest_of_a + 1 + into_b
    }
}

/// Where a replay writes its objects: the bucket ([`StoreSink`]) or a stream (Kafka, in the
/// `groves` command line).
#[async_trait::async_trait]
pub trait MinuteSink: Send + Sync {
    /// Writes one object; false: it was there already (a resumed replay).
    async fn put(&self, object: &ReplayObject) -> Result<bool, LiveError>;
}

/// The bucket: each object at its live minute key, written only if absent.
pub struct StoreSink<'a>(pub &'a dyn Store);

#[async_trait::async_trait]
impl MinuteSink for StoreSink<'_> {
    async fn put(&self, o: &ReplayObject) -> Result<bool, LiveError> {
        Ok(self.0.put_if_absent(&o.key, o.body.clone()).await?)
    }
}

/// Writes the objects in order, paced; `after_put` runs after each object (the local scorer,
/// or nothing) and `progress` after each object too.
pub async fn replay<F, Fut>(
    sink: &dyn MinuteSink,
    stock: &Symbol,
    source: &ReplaySource,
    opts: &ReplayOptions,
    mut after_put: F,
    progress: &mut dyn FnMut(&ReplayProgress),
) -> Result<ReplayProgress, LiveError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), LiveError>>,
{
    let objects = source.objects(stock, opts.batch);
    let mut p = ReplayProgress {
        objects_total: objects.len(),
        ..Default::default()
    };
    let started = Instant::now();
    let first = objects.first().map_or(0, |o| o.first_ms);
    for o in objects {
        if let Some(speed) = opts.speed.filter(|s| *s > 0.0 && s.is_finite()) {
            let due =
                Duration::from_secs_f64(session_minutes(first, o.first_ms) as f64 * 60.0 / speed);
            let elapsed = started.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
        }
        if sink.put(&o).await? {
            p.written += 1;
        } else {
            p.existing += 1;
        }
        p.objects += 1;
        p.rows += o.rows;
        p.last_key = o.key.clone();
        after_put(o.key).await?;
        progress(&p);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        parse_bar_time(s).unwrap().local_ms
    }

    #[test]
    fn session_time_skips_the_night() {
        let a = t("2015-02-02 15:29:00+05:30");
        assert_eq!(session_minutes(a, t("2015-02-03 09:15:00+05:30")), 1);
        assert_eq!(session_minutes(a, t("2015-02-03 09:20:00+05:30")), 6);
        assert_eq!(
            session_minutes(
                t("2015-02-02 09:15:00+05:30"),
                t("2015-02-02 10:15:00+05:30")
            ),
            60
        );
    }

    #[test]
    fn rows_are_replayed_in_time_order_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("X.csv");
        std::fs::write(
            &path,
            "date,TYPPRICE\n2015-02-02 09:16:00+05:30,2\n2015-02-02 09:15:00+05:30,1\n2015-02-02 09:16:00+05:30,9\n2015-02-02 09:17:00+05:30,3\n",
        )
        .unwrap();
        let src =
            ReplaySource::read(&path, "X.csv", Some(t("2015-02-02 09:16:00+05:30")), None).unwrap();
        assert_eq!(src.rows.len(), 2);
        assert!(src.rows[0].1.ends_with(",2"));
        let objs = src.objects(&Symbol::new("X").unwrap(), 1);
        assert_eq!(objs[0].key, "live/minutes/stock=X/date=2015-02-02/0916.csv");
        assert_eq!(
            &objs[1].body[..],
            b"date,TYPPRICE\n2015-02-02 09:17:00+05:30,3\n"
        );
        assert_eq!(objs[1].rows, 1);
        let e = ReplaySource::read(&path, "X.csv", Some(t("2016-01-01 09:15:00+05:30")), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("X.csv") && e.contains("no row"), "{e}");
        std::fs::write(&path, "date,TYPPRICE\nyesterday,1\n").unwrap();
        let e = ReplaySource::read(&path, "X.csv", None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("`date`"), "{e}");
    }
}
