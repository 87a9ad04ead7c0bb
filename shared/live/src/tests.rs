//! The scorer against an in-memory store and a small hand-made model: every minute once, the
//! records equal an independent computation, and arrival order, duplicates, gaps, malformed
//! objects and drift.

use std::sync::Arc;

use bytes::Bytes;
use forest::{Forest, ForestParams, Matrix};
use groves_core::calendar::{format_wall, parse_bar_time, DAY_MS};
use groves_core::features::{base_row, model_inputs, Target, N_FEATURES};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::serving::ServingPointer;
use groves_serving::{CacheOptions, ModelCache, Row};
use groves_store::{MemoryStore, Store};

use crate::settle::{LiveOptions, Scorer, SESSION_LAST_MS, SESSION_OPEN_MS};
use crate::tables;

pub(crate) fn stock() -> Symbol {
    Symbol::new("TEST").unwrap()
}

/// A random walk of `n` prices from 100 (xorshift, so every run is the same).
pub(crate) fn walk(n: usize, seed: u64, step: f64) -> Vec<f64> {
    let mut s = seed.max(1);
    let mut p = 100.0;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            // Pulled back towards 100, so a level model has seen the whole range.
            p += step * u - 0.02 * (p - 100.0);
            (p * 100.0f64).round() / 100.0
        })
        .collect()
}

/// Session minutes from 2015-02-02 09:15 on.
pub(crate) fn minutes(n: usize) -> Vec<i64> {
    let mut t = parse_bar_time("2015-02-02 09:15:00+05:30")
        .unwrap()
        .local_ms;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        out.push(t);
        t += 60_000;
        if t.rem_euclid(DAY_MS) > SESSION_LAST_MS {
            t = (t.div_euclid(DAY_MS) + 1) * DAY_MS + SESSION_OPEN_MS;
        }
    }
    out
}

pub(crate) fn object(ms: i64, price: &str) -> Bytes {
    Bytes::from(format!(
        "date,open,TYPPRICE\n{}:00+05:30,1,{price}\n",
        format_wall(ms)
    ))
}

/// Fits a level model on `prices` (horizon `h`) and promotes it with its skill on them.
pub(crate) async fn promote_model(
    store: &dyn Store,
    prices: &[f64],
    h: usize,
    skill: f64,
) -> RunId {
    let target = Target::Level;
    let inputs = model_inputs(target, &[]);
    let mut cols = vec![Vec::new(); inputs.len()];
    let mut y = Vec::new();
    for i in N_FEATURES - 1..prices.len() - h {
        let mut w = [0.0; N_FEATURES];
        w.copy_from_slice(&prices[i + 1 - N_FEATURES..=i]);
        for (c, v) in cols.iter_mut().zip(base_row(target, &w)) {
            c.push(v);
        }
        y.push(target.learnt(prices[i + h], prices[i]));
    }
    let x = Matrix::from_columns(inputs.clone(), cols).unwrap();
    let params = ForestParams {
        n_estimators: 8,
        max_features: 5,
        min_samples_split: 5,
        seed: 7,
        n_threads: Some(1),
        ..Default::default()
    };
    let run = RunId::new("r-live").unwrap();
    let f = Forest::fit(&x, &y, &params).unwrap();
    store
        .put(
            &layout::model_key(&run, &stock(), 0),
            Bytes::from(f.to_bytes().unwrap()),
        )
        .await
        .unwrap();
    let pointer = ServingPointer {
        stock: stock(),
        run: run.clone(),
        feat: 5,
        samp: 5,
        groves: vec![0],
        trees: 8,
        target,
        horizon: h as u32,
        features: vec![],
        inputs,
        trained_until: "2015-01-30 15:29".into(),
        validation_mse: 1.0,
        test_mse: skill,
        naive_mse: 1.0,
        skill_ratio: skill,
        code_version: "test".into(),
    };
    store
        .put(
            &layout::serving_pointer_key(&stock()),
            Bytes::from(serde_json::to_vec(&pointer).unwrap()),
        )
        .await
        .unwrap();
    run
}

pub(crate) fn scorer(store: Arc<dyn Store>, opts: LiveOptions) -> Scorer {
    let cache = Arc::new(ModelCache::new(store.clone(), CacheOptions::default()));
    Scorer::new(store, cache, opts)
}

/// (minute, forecast) and (minute, realised minute, error, naive error) read back.
async fn tables_of(store: &dyn Store) -> (Vec<(i64, f64)>, Vec<(i64, i64, f64, f64)>) {
    let f = tables::read_table(store, layout::LIVE_FORECASTS_PREFIX, &stock())
        .await
        .unwrap();
    let o = tables::read_table(store, layout::LIVE_OUTCOMES_PREFIX, &stock())
        .await
        .unwrap();
    let ms = |df: &polars_core::prelude::DataFrame, c: &str| -> Vec<i64> {
        df.column(c)
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .into_no_null_iter()
            .collect()
    };
    let fl = |df: &polars_core::prelude::DataFrame, c: &str| -> Vec<f64> {
        df.column(c)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    };
    let fs = f
        .map(|df| {
            ms(&df, "minute")
                .into_iter()
                .zip(fl(&df, "forecast"))
                .collect()
        })
        .unwrap_or_default();
    let os = o
        .map(|df| {
            let (a, b, c, d) = (
                ms(&df, "minute"),
                ms(&df, "realised_minute"),
                fl(&df, "error"),
                fl(&df, "naive_error"),
            );
            (0..a.len()).map(|i| (a[i], b[i], c[i], d[i])).collect()
        })
        .unwrap_or_default();
    (fs, os)
}

#[tokio::test]
async fn every_minute_is_scored_once_and_equals_an_independent_computation() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let train = walk(3000, 11, 1.0);
    promote_model(store.as_ref(), &train, 2, 1.0).await;
    let live = walk(800, 99, 1.0);
    let times = minutes(live.len());
    let s = scorer(
        store.clone(),
        LiveOptions {
            window: 50,
            ..Default::default()
        },
    );
    for (t, p) in times.iter().zip(&live) {
        let key = layout::live_minute_key(&stock(), *t);
        store.put(&key, object(*t, &format!("{p}"))).await.unwrap();
        s.score_object(&key).await.unwrap();
        // A duplicate notification changes nothing.
        let again = s.score_object(&key).await.unwrap();
        assert_eq!(again.objects, 0);
    }
    let (fs, os) = tables_of(store.as_ref()).await;
    assert_eq!(fs.len(), live.len() - (N_FEATURES - 1));
    assert_eq!(os.len(), fs.len() - 2);
    // Independently: the model on each window of 11 prices, and the price 2 rows on.
    let cache = ModelCache::new(store.clone(), CacheOptions::default());
    let model = cache.get(&stock()).await.unwrap();
    for (i, (t, f)) in fs.iter().enumerate() {
        let at = i + N_FEATURES - 1;
        assert_eq!(*t, times[at]);
        let mut prices = [0.0; N_FEATURES];
        prices.copy_from_slice(&live[at + 1 - N_FEATURES..=at]);
        let want = model
            .forecast(&[Row {
                prices,
                extras: vec![],
            }])
            .unwrap()[0];
        assert_eq!(f.to_bits(), want.to_bits(), "minute {}", format_wall(*t));
        if let Some(o) = os.get(i) {
            assert_eq!((o.0, o.1), (times[at], times[at + 2]));
            assert_eq!(o.2.to_bits(), (want - live[at + 2]).to_bits());
            assert_eq!(o.3.to_bits(), (live[at] - live[at + 2]).to_bits());
        }
    }
    // Three days: the first was compacted into one file per table.
    let day0 = layout::live_table_day_prefix(layout::LIVE_FORECASTS_PREFIX, &stock(), times[0]);
    let keys: Vec<String> = store
        .list(&day0)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, vec![format!("{day0}{}", layout::LIVE_DAY_FILE)]);
    // Only the last snapshots are kept.
    assert!(
        store
            .list(&layout::live_state_prefix(&stock()))
            .await
            .unwrap()
            .len()
            <= 2
    );
}

/// The end of a feed: every waiting minute settled.
async fn flush_all(store: &Arc<dyn Store>) {
    let flush = scorer(
        store.clone(),
        LiveOptions {
            flush: true,
            ..Default::default()
        },
    );
    flush.settle(&stock()).await.unwrap();
}

/// Writes `order` (indices into the series) one by one, settling after each, then flushes.
async fn run_in_order(
    order: &[usize],
    live: &[f64],
    times: &[i64],
    drop: &[usize],
) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    promote_model(store.as_ref(), &walk(3000, 11, 1.0), 1, 1.0).await;
    let s = scorer(store.clone(), LiveOptions::default());
    for &i in order {
        if drop.contains(&i) {
            continue;
        }
        let key = layout::live_minute_key(&stock(), times[i]);
        store
            .put(&key, object(times[i], &format!("{}", live[i])))
            .await
            .unwrap();
        s.score_object(&key).await.unwrap();
    }
    flush_all(&store).await;
    store
}

#[tokio::test]
async fn reordered_minutes_within_the_lateness_give_the_in_order_tables() {
    let live = walk(60, 5, 1.0);
    let times = minutes(live.len());
    let in_order: Vec<usize> = (0..live.len()).collect();
    let mut shuffled = in_order.clone();
    // Swap neighbours and move one minute three places later.
    shuffled.swap(20, 21);
    shuffled.swap(40, 41);
    let m = shuffled.remove(30);
    shuffled.insert(33, m);
    let a = tables_of(run_in_order(&in_order, &live, &times, &[]).await.as_ref()).await;
    let b = tables_of(run_in_order(&shuffled, &live, &times, &[]).await.as_ref()).await;
    assert_eq!(a.0.len(), live.len() - 10);
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_gap_is_waited_for_then_skipped_and_a_late_minute_is_recorded() {
    let live = walk(60, 5, 1.0);
    let times = minutes(live.len());
    // Minutes 25-27 never arrive; lags run over the gap as processing's do (previous rows).
    let store = run_in_order(&(0..60).collect::<Vec<_>>(), &live, &times, &[25, 26, 27]).await;
    let (fs, os) = tables_of(store.as_ref()).await;
    assert_eq!(fs.len(), 60 - 3 - 10);
    assert!(fs
        .iter()
        .all(|(t, _)| ![25, 26, 27].iter().any(|i| times[*i] == *t)));
    // The forecast made at minute 24 is realised at minute 28, the next row.
    assert!(os.iter().any(|o| o.0 == times[24] && o.1 == times[28]));
    let (_, st) = crate::settle::load_state(store.as_ref(), &stock())
        .await
        .unwrap();
    assert_eq!(st.counts.gaps, 1);
    assert_eq!(st.counts.minutes, 57);
    // Minute 26 arrives now: too late, recorded, and nothing else changes.
    let key = layout::live_minute_key(&stock(), times[26]);
    store.put(&key, object(times[26], "1")).await.unwrap();
    let r = scorer(store.clone(), LiveOptions::default())
        .score_object(&key)
        .await
        .unwrap();
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    let err = store
        .get(&layout::live_error_key(&stock(), times[26]))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&err).contains("arrived after"));
    assert_eq!(tables_of(store.as_ref()).await.0, fs);
}

#[tokio::test]
async fn a_malformed_object_is_recorded_and_skipped() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    promote_model(store.as_ref(), &walk(3000, 11, 1.0), 1, 1.0).await;
    let live = walk(30, 5, 1.0);
    let times = minutes(30);
    let s = scorer(store.clone(), LiveOptions::default());
    for i in 0..30 {
        let key = layout::live_minute_key(&stock(), times[i]);
        let body = if i == 15 {
            object(times[i], "abc")
        } else {
            object(times[i], &format!("{}", live[i]))
        };
        store.put(&key, body).await.unwrap();
        s.score_object(&key).await.unwrap();
    }
    let err = store
        .get(&layout::live_error_key(&stock(), times[15]))
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&err);
    assert!(
        err.contains("row 1") && err.contains("TYPPRICE") && err.contains("abc"),
        "{err}"
    );
    let (fs, _) = tables_of(store.as_ref()).await;
    // 30 rows, one unreadable, 10 of warm-up.
    assert_eq!(fs.len(), 19);
    let (_, st) = crate::settle::load_state(store.as_ref(), &stock())
        .await
        .unwrap();
    assert_eq!((st.counts.malformed, st.counts.objects), (1, 30));
}

/// A level model's rolling skill on a series like its training one, and on one whose level
/// breaks out of the range it was trained on.
async fn drift_run(series: &[f64]) -> (Arc<dyn Store>, Vec<crate::DriftRecord>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let train = walk(3000, 11, 1.0);
    promote_model(store.as_ref(), &train, 1, 1.0).await;
    // Promoted with its skill on held-out minutes of the same process, as a run's test split.
    let skill = held_out_skill(store.clone(), &walk(2000, 37, 1.0)).await;
    promote_model(store.as_ref(), &train, 1, skill).await;
    let times = minutes(series.len());
    let s = scorer(
        store.clone(),
        LiveOptions {
            window: 120,
            ..Default::default()
        },
    );
    let mut drift = Vec::new();
    for (t, p) in times.iter().zip(series) {
        let key = layout::live_minute_key(&stock(), *t);
        store.put(&key, object(*t, &format!("{p}"))).await.unwrap();
        drift.extend(s.score_object(&key).await.unwrap().drift);
    }
    (store, drift)
}

/// Model MSE / naive MSE of the promoted model, one minute ahead, over `series`.
async fn held_out_skill(store: Arc<dyn Store>, series: &[f64]) -> f64 {
    let model = ModelCache::new(store, CacheOptions::default())
        .get(&stock())
        .await
        .unwrap();
    let (mut m, mut z) = (0.0, 0.0);
    for at in N_FEATURES - 1..series.len() - 1 {
        let mut prices = [0.0; N_FEATURES];
        prices.copy_from_slice(&series[at + 1 - N_FEATURES..=at]);
        let f = model
            .forecast(&[Row {
                prices,
                extras: vec![],
            }])
            .unwrap()[0];
        m += (f - series[at + 1]).powi(2);
        z += (series[at] - series[at + 1]).powi(2);
    }
    m / z
}

#[tokio::test]
async fn drift_is_flagged_on_a_level_break_and_not_without_one() {
    let calm = walk(900, 23, 1.0);
    let (_, none) = drift_run(&calm).await;
    assert!(none.is_empty(), "{none:?}");
    let mut broken = calm.clone();
    for p in broken.iter_mut().skip(500) {
        *p += 25.0;
    }
    let (store, events) = drift_run(&broken).await;
    assert_eq!(
        events.len(),
        1,
        "one episode, not one per minute: {events:?}"
    );
    assert_eq!(events[0].kind, crate::drift::DriftKind::Begin);
    let recorded = store.list(&layout::drift_prefix(&stock())).await.unwrap();
    assert_eq!(recorded.len(), 1);
}

/// Records the runs it is asked to start; fails the first `fail` of them.
struct CountingRetrainer {
    started: std::sync::Mutex<Vec<groves_core::spec::RunSpec>>,
    fail: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl crate::Retrainer for CountingRetrainer {
    async fn start(&self, spec: groves_core::spec::RunSpec) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err("the parent could not be invoked".into());
        }
        self.started.lock().unwrap().push(spec);
        Ok(())
    }
}

#[tokio::test]
async fn a_drift_episode_starts_one_retraining_run_even_when_the_first_start_fails() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let train = walk(3000, 11, 1.0);
    promote_model(store.as_ref(), &train, 1, 1.0).await;
    let skill = held_out_skill(store.clone(), &walk(2000, 37, 1.0)).await;
    promote_model(store.as_ref(), &train, 1, skill).await;
    let mut series = walk(900, 23, 1.0);
    for p in series.iter_mut().skip(500) {
        *p += 25.0;
    }
    let times = minutes(series.len());
    let retrainer = Arc::new(CountingRetrainer {
        started: Default::default(),
        fail: std::sync::atomic::AtomicUsize::new(1),
    });
    let s = scorer(
        store.clone(),
        LiveOptions {
            window: 120,
            ..Default::default()
        },
    )
    .with_retraining(crate::settle::Retraining {
        retrainer: retrainer.clone(),
        base: groves_core::spec::RunSpec::default(),
    });
    let mut failed = 0;
    for (t, p) in times.iter().zip(&series) {
        let key = layout::live_minute_key(&stock(), *t);
        store.put(&key, object(*t, &format!("{p}"))).await.unwrap();
        if let Err(e) = s.score_object(&key).await {
            // The first start fails: the invocation fails (Lambda retries it), the drift
            // record is gone, and the retry starts the run.
            assert!(e.to_string().contains("could not be started"), "{e}");
            assert!(store
                .list(&layout::drift_prefix(&stock()))
                .await
                .unwrap()
                .is_empty());
            failed += 1;
            s.score_object(&key).await.unwrap();
        }
    }
    assert_eq!(failed, 1);
    let started = retrainer.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1, "one run per episode");
    let records = store.list(&layout::drift_prefix(&stock())).await.unwrap();
    assert_eq!(records.len(), 1);
    let record: crate::DriftRecord =
        serde_json::from_slice(&store.get(&records[0].key).await.unwrap()).unwrap();
    assert_eq!(started[0].until.as_deref(), Some(record.minute.as_str()));
    assert_eq!(started[0].run, record.retraining_run);
    assert_eq!(started[0].stocks, vec![stock()]);
    assert!(started[0].promote_if_better);
}

fn record(offset: i64, key: Option<&str>, value: Option<Bytes>) -> crate::StreamRecord {
    crate::StreamRecord {
        topic: "ticks".into(),
        partition: 0,
        offset,
        timestamp_ms: Some(1_000 + offset),
        key: key.map(|k| k.as_bytes().to_vec()),
        value: value.map(|v| v.to_vec()),
        problem: None,
    }
}

#[tokio::test]
async fn stream_batches_score_each_minute_once_equal_to_the_bucket_path() {
    let live = walk(200, 21, 1.0);
    let times = minutes(live.len());
    let in_order: Vec<usize> = (0..live.len()).collect();
    let bucket = run_in_order(&in_order, &live, &times, &[]).await;

    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    promote_model(store.as_ref(), &walk(3000, 11, 1.0), 1, 1.0).await;
    let s = scorer(store.clone(), LiveOptions::default());
    let records: Vec<_> = times
        .iter()
        .zip(&live)
        .enumerate()
        .map(|(i, (t, p))| record(i as i64, Some("TEST"), Some(object(*t, &format!("{p}")))))
        .collect();
    // Batches of 37, each delivered twice (a redelivery after a failed invocation), and two
    // records that are not minutes in the middle.
    let mut rejected = Vec::new();
    for (b, chunk) in records.chunks(37).enumerate() {
        let mut batch = chunk.to_vec();
        if b == 2 {
            batch.insert(5, record(9_000, None, Some(object(times[0], "1"))));
            batch.insert(
                9,
                record(
                    9_001,
                    Some("TEST"),
                    Some(Bytes::from("date,TYPPRICE\nnot a time,1\n")),
                ),
            );
        }
        let first = crate::score_records(&s, &batch).await.unwrap();
        assert_eq!(first.landed, chunk.len());
        rejected.extend(first.rejected);
        let again = crate::score_records(&s, &batch).await.unwrap();
        assert_eq!((again.landed, again.existing), (0, chunk.len()));
        assert!(again
            .settles
            .iter()
            .all(|r| r.forecasts.is_empty() && r.objects == 0));
    }
    flush_all(&store).await;
    let want = tables_of(bucket.as_ref()).await;
    assert_eq!(want.0.len(), live.len() - 10);
    assert_eq!(tables_of(store.as_ref()).await, want);
    // The minutes landed are the bucket path's objects, byte for byte.
    for t in &times {
        let k = layout::live_minute_key(&stock(), *t);
        assert_eq!(store.get(&k).await.unwrap(), bucket.get(&k).await.unwrap());
    }
    // The two records that are not minutes are recorded by their offset, with why.
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(
        rejected[0].0.ends_with("/00000000000000009000.json") && rejected[0].1.contains("no key")
    );
    assert!(
        rejected[1].1.contains("row 1, column `date`"),
        "{}",
        rejected[1].1
    );
    let body = store.get(&rejected[1].0).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["offset"], 9001);
    assert_eq!(v["value"], "date,TYPPRICE\nnot a time,1\n");
}
