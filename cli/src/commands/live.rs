//! `groves replay` (a raw file's rows into the bucket as live minutes, optionally scored as
//! they land) and `groves live` (the scorer as a watcher, and per-stock live figures).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use groves_core::calendar::parse_wall;
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_core::pricing::{s3_requests_usd, S3_PRICES_NOTE};
use groves_core::spec::RunSpec;
use groves_live::replay::{
    replay as replay_into, MinuteSink, ReplayOptions, ReplaySource, StoreSink,
};
use groves_live::settle::Retraining;
use groves_live::status::{live_stocks, stock_status, StockStatus};
use groves_live::{LiveOptions, Retrainer, Scorer, SettleReport};
use groves_orchestrator::invoke::LocalPool;
use groves_orchestrator::parent::{drive_run, DriveOptions, DriveOutcome, Quiet};
use groves_serving::{CacheOptions, ModelCache};
use groves_stages::{OneStore, UnitContext};
use groves_store::CountingStore;

use super::stream;
use super::StoreRef;
use crate::{LiveArgs, LiveScoringArgs, ReplayArgs};

/// Runs a retraining run here, to its end, on the in-process pool (the scorer waits for it).
struct LocalRetrainer {
    store: StoreRef,
}

#[async_trait]
impl Retrainer for LocalRetrainer {
    async fn start(&self, spec: RunSpec) -> Result<(), String> {
        // The parent's future is not `Send` for every lifetime rustc asks about (a known
        // limitation with borrowed trait objects across awaits), so it runs on this runtime
        // from a blocking thread rather than as part of the scorer's future.
        let store = Arc::clone(&self.store);
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || handle.block_on(retrain_here(store, spec)))
            .await
            .map_err(|e| format!("the retraining run's thread: {e}"))?
    }
}

async fn retrain_here(store: StoreRef, spec: RunSpec) -> Result<(), String> {
    let run = spec
        .run
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    eprintln!(
        "drift: retraining run {run} on the data up to {} …",
        spec.until.as_deref().unwrap_or("now")
    );
    let pool = LocalPool::new(
        UnitContext {
            buckets: Arc::new(OneStore(Arc::clone(&store))),
            threads: 1,
        },
        LocalPool::default_slots(),
    );
    let outcome = drive_run(
        store.as_ref(),
        &pool,
        &spec,
        "groves-data",
        &DriveOptions::default(),
        &Quiet,
    )
    .await
    .map_err(|e| e.to_string())?;
    let DriveOutcome::Finished(o) = outcome else {
        return Err(format!("retraining run {run} paused before its end"));
    };
    groves_report::write_html(store.as_ref(), &o.run)
        .await
        .map_err(|e| e.to_string())?;
    for s in &o.promoted {
        eprintln!("drift: {s} now forecast with retraining run {run}'s final groves");
    }
    for (s, why) in &o.not_promoted {
        eprintln!("drift: {s} keeps its serving model: {why}");
    }
    o.check().map_err(|e| e.to_string())
}

fn build_scorer(store: StoreRef, args: &LiveScoringArgs, flush: bool) -> Scorer {
    let cache = Arc::new(ModelCache::new(
        Arc::clone(&store),
        CacheOptions {
            refresh: Duration::from_secs(args.refresh_s),
            ..Default::default()
        },
    ));
    let scorer = Scorer::new(
        Arc::clone(&store),
        cache,
        LiveOptions {
            lateness_minutes: args.lateness,
            window: args.window,
            drift_tolerance: args.drift_tolerance,
            flush,
            ..Default::default()
        },
    );
    if !args.retrain {
        return scorer;
    }
    scorer.with_retraining(Retraining {
        retrainer: Arc::new(LocalRetrainer { store }),
        base: RunSpec::default(),
    })
}

/// Totals over many settles, for the closing line.
#[derive(Default)]
struct Tally {
    forecasts: usize,
    outcomes: usize,
    skipped: usize,
    drift: usize,
    latencies_ms: Vec<f64>,
}

impl Tally {
    fn add(&mut self, r: &SettleReport) {
        self.latencies_ms.extend_from_slice(&r.latencies_ms);
        self.forecasts += r.forecasts.len();
        self.outcomes += r.outcomes.len();
        self.skipped += r.skipped.len();
        self.drift += r.drift.len();
        for (key, why) in &r.skipped {
            eprintln!("skipped {key}: {why}");
        }
        for d in &r.drift {
            eprintln!(
                "drift {:?} for {} at {}: rolling skill {:.3} (promoted {:.3}, threshold {:.3})",
                d.kind, d.stock, d.minute, d.rolling_skill, d.promoted_skill, d.threshold
            );
        }
    }
}

pub async fn replay(store: &StoreRef, args: &ReplayArgs) -> Result<()> {
    let stock = Symbol::new(args.stock.as_str())?;
    let start_ms = args
        .start
        .as_deref()
        .map(|s| parse_wall(s).map_err(|e| anyhow!("--start {s:?}: {e}")))
        .transpose()?;
    let speed = match args.speed.as_str() {
        "max" => None,
        s => {
            let v: f64 = s
                .parse()
                .map_err(|_| anyhow!("--speed {s:?}: a factor like 60, or max"))?;
            if !(v > 0.0 && v.is_finite()) {
                bail!("--speed {s:?}: must be above 0");
            }
            Some(v)
        }
    };
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if let (Some(url), true) = (&args.to, args.score) {
        bail!("--score scores minutes landing in the store; a topic's minutes are scored by `groves live --from {url}`");
    }
    // Scoring (here, or by a topic's consumer) with no start given: from the minute after the
    // serving model's training data, so every forecast is out of sample.
    let start_ms = match (start_ms, args.score || args.to.is_some()) {
        (None, true) => match groves_serving::model::read_pointer(store.as_ref(), &stock).await? {
            Some(p) => {
                let t = parse_wall(&p.trained_until).map_err(|e| {
                    anyhow!(
                        "the serving pointer's trained_until {:?}: {e}",
                        p.trained_until
                    )
                })?;
                println!(
                    "replaying from after {} (the end of the serving model's training data; --start to choose)",
                    p.trained_until
                );
                Some(t + 60_000)
            }
            None => None,
        },
        (s, _) => s,
    };
    // The file: a local CSV, or the stock's raw file in the store.
    let (mut source, label) = match &args.file {
        Some(path) => {
            let label = path.display().to_string();
            (
                ReplaySource::read(path, &label, start_ms, args.minutes)?,
                label,
            )
        }
        None => {
            let key = layout::raw_key(&stock);
            let local = store
                .fetch_to_file(&key)
                .await
                .with_context(|| format!("reading {key} (or give --file)"))?;
            (
                ReplaySource::read(local.path(), &key, start_ms, args.minutes)?,
                key,
            )
        }
    };
    let (sink, already): (Box<dyn MinuteSink + '_>, usize) = match &args.to {
        Some(url) => stream::topic_sink(url, &stock, &mut source).await?,
        None => (Box::new(StoreSink(store.as_ref())), 0),
    };
    let target = args.to.as_deref().unwrap_or("the store");
    let opts = ReplayOptions {
        start_ms,
        rows: args.minutes,
        batch: args.batch,
        speed,
    };
    // The scorer's requests are counted apart from the replay's own writes (the feed's cost).
    let counted = Arc::new(CountingStore::new(Arc::clone(store)));
    let scorer = args
        .score
        .then(|| build_scorer(counted.clone() as StoreRef, &args.scoring, false));
    let latencies = std::sync::Mutex::new(Vec::<f64>::new());
    let bar = crate::progress::bar(
        source.rows.len().div_ceil(args.batch) as u64,
        "replay",
        "objects",
    );
    let tally = std::sync::Mutex::new(Tally::default());
    let started = std::time::Instant::now();
    let mut done = replay_into(
        sink.as_ref(),
        &stock,
        &source,
        &opts,
        |key| {
            let scorer = scorer.as_ref();
            let (tally, latencies) = (&tally, &latencies);
            async move {
                if let Some(s) = scorer {
                    let t0 = std::time::Instant::now();
                    let r = s.score_object(&key).await?;
                    if let Ok(mut l) = latencies.lock() {
                        l.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    if let Ok(mut t) = tally.lock() {
                        t.add(&r);
                    }
                }
                Ok(())
            }
        },
        &mut |p| bar.set_position(p.objects as u64),
    )
    .await?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    done.existing += already;
    println!(
        "replayed {} rows of {label} into {} objects in {target} ({} written, {} already there) in {wall:.2} s ({:.0} minutes/s)",
        done.rows,
        done.objects,
        done.written,
        done.existing,
        done.rows as f64 / wall.max(1e-9)
    );
    if scorer.is_some() {
        let requests = counted.counts();
        // The end of the replay: nothing more will arrive, so nothing is waited for.
        let flush = build_scorer(Arc::clone(store), &args.scoring, true);
        let last = flush.settle(&stock).await?;
        let mut t = tally.into_inner().unwrap_or_default();
        t.add(&last);
        println!(
            "scored: {} forecasts, {} realised, {} objects skipped, {} drift events ({:.0} minutes/s with the replay's writes)",
            t.forecasts,
            t.outcomes,
            t.skipped,
            t.drift,
            done.rows as f64 / wall.max(1e-9)
        );
        let mut l = latencies.into_inner().unwrap_or_default();
        l.sort_by(f64::total_cmp);
        let pct = |q: f64| {
            l.get(((l.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        println!(
            "scoring one object after it landed: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        print_requests(
            "scorer's store requests per object",
            &requests,
            done.objects,
            375.0 / args.batch.max(1) as f64,
        );
        print_status(&[stock_status(store.as_ref(), &stock).await?]);
    }
    Ok(())
}

pub async fn live(store: &StoreRef, args: &LiveArgs) -> Result<()> {
    let stocks: Vec<Symbol> = if args.stocks.is_empty() {
        let mut s = live_stocks(store.as_ref()).await?;
        // Stocks with minutes but no state yet (nothing settled): from the serving pointers.
        for o in store.list(layout::CURRENT_MODELS_PREFIX).await? {
            if let Some(sym) = layout::symbol_from_serving_pointer_key(&o.key) {
                let sym = Symbol::new(sym)?;
                if !s.contains(&sym) {
                    s.push(sym);
                }
            }
        }
        s
    } else {
        args.stocks
            .iter()
            .map(|s| Symbol::new(s.as_str()))
            .collect::<Result<_, _>>()?
    };
    let mut stocks = stocks;
    if let Some(url) = &args.from {
        let consumed = consume_from(store, args, url).await?;
        if args.stocks.is_empty() {
            for s in consumed {
                if !stocks.contains(&s) {
                    stocks.push(s);
                }
            }
        }
    } else if args.watch || args.flush {
        let scorer = build_scorer(Arc::clone(store), &args.scoring, args.flush);
        let mut tally = Tally::default();
        let idle = args.idle_s.map(Duration::from_secs_f64);
        let mut last_new = std::time::Instant::now();
        loop {
            for s in &stocks {
                let r = scorer.settle(s).await?;
                if r.objects > 0 {
                    last_new = std::time::Instant::now();
                }
                tally.add(&r);
            }
            if !args.watch || idle.is_some_and(|i| last_new.elapsed() >= i) {
                break;
            }
            // Ctrl-C ends the process: a settle cut short is finished by the next one (everything
            // it writes is written only if absent, and its state last).
            tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
        }
        println!(
            "scored: {} forecasts, {} realised, {} objects skipped, {} drift events",
            tally.forecasts, tally.outcomes, tally.skipped, tally.drift
        );
        print_latency("object landed", &mut tally.latencies_ms);
    }
    let mut rows = Vec::new();
    for s in &stocks {
        rows.push(stock_status(store.as_ref(), s).await?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_status(&rows);
    }
    Ok(())
}

/// `groves live --from kafka://…`: consumes until idle (or Ctrl-C with --watch); returns the
/// stocks the records named.
async fn consume_from(store: &StoreRef, args: &LiveArgs, url: &str) -> Result<Vec<Symbol>> {
    // Landing and scoring, counted (the cost of a minute on this path).
    let counted = Arc::new(CountingStore::new(Arc::clone(store)));
    let scorer = build_scorer(counted.clone() as StoreRef, &args.scoring, false);
    let idle = match (args.idle_s, args.watch) {
        (Some(s), _) => Some(Duration::from_secs_f64(s)),
        (None, true) => None,
        (None, false) => Some(Duration::from_secs(5)),
    };
    let mut tally = Tally::default();
    let started = std::time::Instant::now();
    // (time, records so far) after the first batch and after the last.
    let mut first: Option<(std::time::Instant, usize)> = None;
    let mut last = (started, 0usize);
    let mut on_batch = |r: &groves_live::StreamReport| {
        for s in &r.settles {
            tally.add(s);
        }
        for (key, why) in &r.rejected {
            eprintln!("record not a live minute ({key}): {why}");
        }
        last = (std::time::Instant::now(), last.1 + r.records);
        first.get_or_insert(last);
    };
    if !(args.session_timeout_s > 0.0 && args.session_timeout_s.is_finite()) {
        bail!("--session-timeout-s must be above 0");
    }
    let c = stream::consume_topic(
        url,
        &scorer,
        &args.group,
        args.max_batch,
        idle,
        Duration::from_secs_f64(args.session_timeout_s),
        &mut on_batch,
    )
    .await?;
    if args.flush {
        // Nothing more will arrive: settle what waits for missing minutes.
        let flush = build_scorer(Arc::clone(store), &args.scoring, true);
        for s in &c.stocks {
            tally.add(&flush.settle(s).await?);
        }
    }
    println!(
        "consumed {} records from {url}: {} minutes landed, {} already in the store, {} not live minutes",
        c.records, c.landed, c.existing, c.rejected
    );
    if let Some((t0, n0)) = first.filter(|(_, n0)| last.1 > *n0) {
        let secs = last.0.duration_since(t0).as_secs_f64();
        println!(
            "after the first batch ({n0} records, {:.2} s after the start: joining the group): {:.0} records/s",
            t0.duration_since(started).as_secs_f64(),
            (last.1 - n0) as f64 / secs.max(1e-9)
        );
    }
    println!(
        "scored: {} forecasts, {} realised, {} objects skipped, {} drift events",
        tally.forecasts, tally.outcomes, tally.skipped, tally.drift
    );
    print_requests(
        "store requests per record (landing it and scoring)",
        &counted.counts(),
        c.records,
        375.0,
    );
    let mut l = c.latencies_ms;
    print_latency("record produced", &mut l);
    Ok(c.stocks)
}

/// Store requests per unit (object, or minute) and their S3 cost per stock per trading day of
/// `per_day` units.
fn print_requests(what: &str, r: &groves_store::RequestCounts, units: usize, per_day: f64) {
    let n = units.max(1) as f64;
    let per = |c: u64| c as f64 / n;
    let usd_day = s3_requests_usd(r.get, r.put, r.list, r.head) / n * per_day;
    println!(
        "{what}: GET {:.2}, PUT {:.2}, LIST {:.2}, HEAD {:.2}, DELETE {:.2}; ${usd_day:.5} per stock per trading day of 375 minutes at S3 prices ({S3_PRICES_NOTE})",
        per(r.get),
        per(r.put),
        per(r.list),
        per(r.head),
        per(r.delete),
    );
}

/// p50 / p99 / max of forecast latencies, if any.
fn print_latency(from: &str, l: &mut [f64]) {
    if l.is_empty() {
        return;
    }
    l.sort_by(f64::total_cmp);
    let pct = |q: f64| l[((l.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{from} to forecast row stored ({} forecasts): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn print_status(rows: &[StockStatus]) {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    println!(
        "{:<12} {:<16} {:>8} {:>9} {:>8} {:>6} {:>12} {:>12} {:>8} {:>8} {:>12}  drift",
        "stock",
        "up to",
        "minutes",
        "forecasts",
        "realised",
        "window",
        "rolling mse",
        "naive mse",
        "skill",
        "promoted",
        "test mse"
    );
    for r in rows {
        println!(
            "{:<12} {:<16} {:>8} {:>9} {:>8} {:>6} {:>12} {:>12} {:>8} {:>8} {:>12}  {}",
            r.stock.as_str(),
            r.frontier.as_deref().unwrap_or("-"),
            r.minutes,
            r.forecasts,
            r.outcomes,
            r.window,
            f(r.rolling_mse),
            f(r.rolling_naive_mse),
            f(r.rolling_skill),
            f(r.promoted_skill),
            f(r.promoted_test_mse),
            match (&r.drift_since, r.drift_episodes) {
                (Some(since), n) => format!("since {since} ({n} episodes)"),
                (None, 0) => "none".to_string(),
                (None, n) => format!("{n} episodes, none open"),
            }
        );
    }
}
