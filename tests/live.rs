//! The live path end to end: a generated stock searched and promoted, its newest minutes
//! replayed into the bucket and scored, against an independent computation from the raw file
//! and the model; batches; and (with the external tools) the same minutes in a real
//! S3-compatible server scored by the real `score` binary under the Lambda emulator, with a
//! duplicate notification and a malformed object, equal to the local result; and the same
//! minutes through a Kafka topic on a real broker (tansu): consumed by a consumer group here,
//! by a `groves live --from` killed mid-batch and restarted, and handed to the `score` binary
//! as Lambda's Kafka events, each equal to the bucket path.

use std::sync::Arc;

use groves_core::calendar::parse_bar_time;
use groves_core::features::N_FEATURES;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_live::replay::{replay, ReplayOptions, ReplaySource, StoreSink};
use groves_live::tables::read_table;
use groves_live::{LiveOptions, Scorer};
use groves_serving::{CacheOptions, ModelCache, Row};
use groves_store::{LocalStore, Store};
use groves_tests::{drive_locally, f64_column, gen_raw, ms_column, read_typprice};

const SYM: &str = "INFY";

fn spec() -> RunSpec {
    RunSpec {
        run: Some(RunId::new("live").unwrap()),
        stocks: vec![Symbol::new(SYM).unwrap()],
        feat: vec![5],
        samp: vec![25],
        groves: 1,
        trees: 6,
        final_groves: 2,
        final_trees: 5,
        horizon: 2,
        ..RunSpec::default()
    }
}

fn scorer(store: Arc<dyn Store>, flush: bool) -> Scorer {
    let cache = Arc::new(ModelCache::new(store.clone(), CacheOptions::default()));
    Scorer::new(
        store,
        cache,
        LiveOptions {
            flush,
            window: 100,
            ..Default::default()
        },
    )
}

/// A store with the generated raw file, searched and promoted; the raw file's path.
async fn searched() -> (tempfile::TempDir, Arc<dyn Store>, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket");
    let store: Arc<dyn Store> = Arc::new(LocalStore::create(&root).unwrap());
    let raw_dir = root.join("raw");
    std::fs::create_dir_all(&raw_dir).unwrap();
    let raw = gen_raw(&raw_dir, SYM, 6, 5, false);
    let outcome = drive_locally(store.clone(), &spec(), None).await;
    outcome.check().unwrap();
    assert!(store
        .head(&layout::serving_pointer_key(&Symbol::new(SYM).unwrap()))
        .await
        .unwrap()
        .is_some());
    (dir, store, raw)
}

/// The replayed rows: from the minute after the model's training data, 500 of them.
async fn source(store: &dyn Store, raw: &std::path::Path) -> ReplaySource {
    let pointer = groves_serving::model::read_pointer(store, &Symbol::new(SYM).unwrap())
        .await
        .unwrap()
        .unwrap();
    let start = groves_core::calendar::parse_wall(&pointer.trained_until).unwrap() + 60_000;
    ReplaySource::read(raw, "raw", Some(start), Some(500)).unwrap()
}

async fn replay_scored(store: Arc<dyn Store>, src: &ReplaySource, batch: usize) {
    let s = scorer(store.clone(), false);
    let sym = Symbol::new(SYM).unwrap();
    let opts = ReplayOptions {
        batch,
        ..Default::default()
    };
    let s = &s;
    replay(
        &StoreSink(store.as_ref()),
        &sym,
        src,
        &opts,
        |key| async move { s.score_object(&key).await.map(|_| ()) },
        &mut |_| {},
    )
    .await
    .unwrap();
    scorer(store, true).settle(&sym).await.unwrap();
}

/// (minute ms, forecast) and (minute ms, realised ms, actual, error, naive error).
type Tables = (Vec<(i64, f64)>, Vec<(i64, i64, f64, f64, f64)>);

async fn tables(store: &dyn Store) -> Tables {
    let sym = Symbol::new(SYM).unwrap();
    let f = read_table(store, layout::LIVE_FORECASTS_PREFIX, &sym)
        .await
        .unwrap()
        .unwrap();
    let o = read_table(store, layout::LIVE_OUTCOMES_PREFIX, &sym)
        .await
        .unwrap()
        .unwrap();
    let fs = ms_column(&f, "minute")
        .into_iter()
        .zip(f64_column(&f, "forecast"))
        .collect();
    let (a, b, c, d, e) = (
        ms_column(&o, "minute"),
        ms_column(&o, "realised_minute"),
        f64_column(&o, "actual"),
        f64_column(&o, "error"),
        f64_column(&o, "naive_error"),
    );
    let os = (0..a.len())
        .map(|i| (a[i], b[i], c[i], d[i], e[i]))
        .collect();
    (fs, os)
}

/// The same figures computed from the raw file (plain CSV parsing) and the model.
async fn independent(store: Arc<dyn Store>, raw: &std::path::Path, src: &ReplaySource) -> Tables {
    let first = src.rows[0].0;
    let rows: Vec<(i64, f64)> = read_typprice(raw)
        .into_iter()
        .map(|(d, p)| (parse_bar_time(&d).unwrap().local_ms, p.unwrap()))
        .filter(|(t, _)| *t >= first)
        .take(src.rows.len())
        .collect();
    let model = ModelCache::new(store, CacheOptions::default())
        .get(&Symbol::new(SYM).unwrap())
        .await
        .unwrap();
    let h = model.pointer.horizon as usize;
    assert_eq!(h, 2);
    let mut fs = Vec::new();
    let mut os = Vec::new();
    for i in N_FEATURES - 1..rows.len() {
        let mut prices = [0.0; N_FEATURES];
        for (k, p) in prices.iter_mut().enumerate() {
            *p = rows[i + 1 + k - N_FEATURES].1;
        }
        let f = model
            .forecast(&[Row {
                prices,
                extras: vec![],
            }])
            .unwrap()[0];
        fs.push((rows[i].0, f));
        if let Some(&(t, actual)) = rows.get(i + h) {
            os.push((rows[i].0, t, actual, f - actual, rows[i].1 - actual));
        }
    }
    (fs, os)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_minutes_are_scored_once_each_as_the_raw_file_and_model_say() {
    let (_dir, store, raw) = searched().await;
    let src = source(store.as_ref(), &raw).await;
    replay_scored(store.clone(), &src, 1).await;
    let got = tables(store.as_ref()).await;
    let want = independent(store.clone(), &raw, &src).await;
    // The model's test period, to the end of the file.
    assert!(src.rows.len() > 300, "{}", src.rows.len());
    assert_eq!(got.0.len(), src.rows.len() - (N_FEATURES - 1));
    assert_eq!(got.1.len(), got.0.len() - 2);
    // To the bit: both sides are the same f64 arithmetic on the same inputs.
    assert_eq!(got, want);

    // Replayed again (a resumed replay, duplicate notifications): nothing new is written.
    let before = store.list("live/").await.unwrap();
    replay_scored(store.clone(), &src, 1).await;
    let after = store.list("live/").await.unwrap();
    let keys = |v: &[groves_store::ObjectMeta]| v.iter().map(|o| o.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&before), keys(&after));
    assert_eq!(tables(store.as_ref()).await, got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_minutes_give_the_same_forecasts() {
    let (_dir, store, raw) = searched().await;
    let src = source(store.as_ref(), &raw).await;
    replay_scored(store.clone(), &src, 7).await;
    let want = independent(store.clone(), &raw, &src).await;
    assert_eq!(tables(store.as_ref()).await, want);
}

#[cfg(feature = "external-tools")]
mod emulator {
    use super::*;
    use groves_tests::{function_binaries, Function, LambdaEmulator, MotoServer};
    use serde_json::json;

    /// An S3 `ObjectCreated` notification of one key: `events/score.json` with the bucket and
    /// key replaced (the key form-encoded, as S3 sends it).
    /// Two `score` functions under the emulator, scoring `bucket` on `moto`, with `extra`
    /// environment.
    pub(crate) fn score_emulator(
        bins: &std::path::Path,
        moto: &MotoServer,
        bucket: &str,
        extra: &[(&'static str, &str)],
    ) -> LambdaEmulator {
        let mut env = moto.env();
        env.push(("RUST_LOG", "info".into()));
        env.push(("GROVES_BUCKET", bucket.into()));
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        LambdaEmulator::start(
            bins,
            &[Function {
                name: "score",
                instances: 2,
                memory_mb: 1024,
            }],
            &env,
        )
    }

    pub(crate) fn notification(bucket: &str, key: &str) -> serde_json::Value {
        let path = groves_tests::workspace_root().join("events/score.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let s3 = &mut v["Records"][0]["s3"];
        s3["bucket"]["name"] = json!(bucket);
        s3["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
        s3["object"]["key"] = json!(key.replace('&', "%26"));
        v
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_score_function_under_the_emulator_equals_the_local_scorer() {
        let bins = function_binaries(&["score"]);
        let (dir, local, raw) = searched().await;
        let src = source(local.as_ref(), &raw).await;
        replay_scored(local.clone(), &src, 5).await;
        let want = tables(local.as_ref()).await;

        let moto = MotoServer::start();
        let s3: Arc<dyn Store> = Arc::new(moto.create_bucket("live-bucket").await);
        // The serving model, as promotion left it.
        for o in local.list("models/").await.unwrap() {
            s3.put(&o.key, local.get(&o.key).await.unwrap())
                .await
                .unwrap();
        }
        let emulator = score_emulator(&bins, &moto, "live-bucket", &[("GROVES_WINDOW", "100")]);
        let sym = Symbol::new(SYM).unwrap();
        let objects = src.objects(&sym, 5);
        let invoke = |key: &str| {
            let path = dir.path().join("event.json");
            std::fs::write(&path, notification("live-bucket", key).to_string()).unwrap();
            emulator
                .invoke("score", &path)
                .unwrap_or_else(|e| panic!("score failed: {e}\n{}", emulator.logs()))
        };
        for (i, o) in objects.iter().enumerate() {
            s3.put(&o.key, o.body.clone()).await.unwrap();
            invoke(&o.key);
            if i % 10 == 3 {
                // A duplicate delivery.
                invoke(&o.key);
            }
        }
        // The end of the feed: nothing is waited for.
        scorer(s3.clone(), true).settle(&sym).await.unwrap();
        assert_eq!(tables(s3.as_ref()).await, want);

        // A malformed object after the last minute: recorded and skipped, no failure.
        let last = objects.last().unwrap().first_ms;
        let bad_ms = last + 10 * 60_000;
        let bad_key = layout::live_minute_key(&sym, bad_ms);
        s3.put(
            &bad_key,
            bytes::Bytes::from_static(b"date,TYPPRICE\nnot a date,1\n"),
        )
        .await
        .unwrap();
        let answer = invoke(&bad_key);
        assert!(answer.to_string().contains("not a date"), "{answer}");
        let err = s3.get(&layout::live_error_key(&sym, bad_ms)).await.unwrap();
        assert!(String::from_utf8_lossy(&err).contains("row 1"));
        // The function printed Embedded Metric Format lines.
        let logs = emulator.logs();
        assert!(logs.contains(r#""Namespace":"groves/live""#), "{logs}");
    }
}

/// The lines of a raw file whose `date` (the first column of the current layout) is by
/// `until`, header included.
fn lines_until(raw: &std::path::Path, until_ms: i64) -> String {
    let text = std::fs::read_to_string(raw).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let date = line.split(',').next().unwrap();
        if i == 0 || parse_bar_time(date).unwrap().local_ms <= until_ms {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn small_run(id: &str) -> RunSpec {
    RunSpec {
        run: Some(RunId::new(id).unwrap()),
        promote: false,
        ..spec()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_until_a_minute_reads_the_raw_file_then_the_live_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let full = gen_raw(dir.path(), SYM, 6, 5, false);
    let src = ReplaySource::read(&full, "full", None, None).unwrap();
    let sym = Symbol::new(SYM).unwrap();
    // Store A: the raw file of the first four days, then the rest as live minutes.
    let day5 = src.rows[4 * 375].0;
    let until = src.rows[5 * 375 + 150].0;
    let a_root = dir.path().join("a");
    let a: Arc<dyn Store> = Arc::new(LocalStore::create(&a_root).unwrap());
    a.put(
        &layout::raw_key(&sym),
        bytes::Bytes::from(lines_until(&full, day5 - 60_000)),
    )
    .await
    .unwrap();
    let live = ReplaySource::read(&full, "full", Some(day5), None).unwrap();
    replay(
        &StoreSink(a.as_ref()),
        &sym,
        &live,
        &ReplayOptions {
            batch: 3,
            ..Default::default()
        },
        |_| async { Ok(()) },
        &mut |_| {},
    )
    .await
    .unwrap();
    // Store B: one raw file cut at the same minute.
    let b: Arc<dyn Store> = Arc::new(LocalStore::create(&dir.path().join("b")).unwrap());
    b.put(
        &layout::raw_key(&sym),
        bytes::Bytes::from(lines_until(&full, until)),
    )
    .await
    .unwrap();
    let a_spec = RunSpec {
        until: Some(groves_core::calendar::format_wall(until)),
        ..small_run("until")
    };
    drive_locally(a.clone(), &a_spec, None)
        .await
        .check()
        .unwrap();
    drive_locally(b.clone(), &small_run("until"), None)
        .await
        .check()
        .unwrap();
    let run = RunId::new("until").unwrap();
    for split in [
        layout::Split::Train,
        layout::Split::Validation,
        layout::Split::Test,
    ] {
        let key = layout::features_key(&run, split, &sym);
        assert_eq!(
            a.get(&key).await.unwrap(),
            b.get(&key).await.unwrap(),
            "{key}"
        );
    }
    for key in [
        layout::test_mse_key(&run, &sym),
        layout::min_mse_key(&run, &sym),
    ] {
        assert_eq!(
            a.get(&key).await.unwrap(),
            b.get(&key).await.unwrap(),
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_if_better_keeps_a_serving_model_the_new_groves_do_not_beat() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket");
    let store: Arc<dyn Store> = Arc::new(LocalStore::create(&root).unwrap());
    std::fs::create_dir_all(root.join("raw")).unwrap();
    gen_raw(&root.join("raw"), SYM, 6, 5, false);
    let pointer_run = |store: Arc<dyn Store>| async move {
        groves_serving::model::read_pointer(store.as_ref(), &Symbol::new(SYM).unwrap())
            .await
            .unwrap()
            .unwrap()
            .run
            .to_string()
    };
    // A weak serving model: one tree, one split candidate.
    let weak = RunSpec {
        run: Some(RunId::new("weak").unwrap()),
        feat: vec![1],
        trees: 1,
        final_groves: 1,
        final_trees: 1,
        ..spec()
    };
    drive_locally(store.clone(), &weak, None)
        .await
        .check()
        .unwrap();
    assert_eq!(pointer_run(store.clone()).await, "weak");
    // The same again with promote_if_better: the same forecasts, so no better: kept.
    let same = RunSpec {
        run: Some(RunId::new("same").unwrap()),
        promote_if_better: true,
        ..weak.clone()
    };
    let o = drive_locally(store.clone(), &same, None).await;
    assert!(o.promoted.is_empty(), "{:?}", o.promoted);
    assert!(
        o.not_promoted[0].1.contains("does as well"),
        "{:?}",
        o.not_promoted
    );
    assert_eq!(pointer_run(store.clone()).await, "weak");
    // Stronger groves: promoted.
    let strong = RunSpec {
        run: Some(RunId::new("strong").unwrap()),
        promote_if_better: true,
        ..spec()
    };
    let o = drive_locally(store.clone(), &strong, None).await;
    assert_eq!(o.promoted, vec![SYM.to_string()], "{:?}", o.not_promoted);
    assert_eq!(pointer_run(store.clone()).await, "strong");
}

#[cfg(feature = "external-tools")]
mod kafka {
    use super::*;
    use base64::Engine;
    use groves_kafka::{consume, read_all, resume, ConsumeOptions, KafkaUrl, TopicSink};
    use groves_live::replay::{MinuteSink, ReplayObject};
    use groves_live::StreamRecord;
    use groves_store::LocalStore;
    use groves_tests::{function_binaries, MotoServer, TansuBroker};
    use serde_json::json;
    use std::time::Duration;

    const BAD: &[u8] = b"date,TYPPRICE\nnot a date,1\n";

    /// `to` with `from`'s serving model (as promotion left it) and nothing else.
    async fn with_models(from: &dyn Store, to: Arc<dyn Store>) -> Arc<dyn Store> {
        for o in from.list("models/").await.unwrap() {
            to.put(&o.key, from.get(&o.key).await.unwrap())
                .await
                .unwrap();
        }
        to
    }

    fn local(dir: &tempfile::TempDir, name: &str) -> Arc<dyn Store> {
        Arc::new(LocalStore::create(&dir.path().join(name)).unwrap())
    }

    /// The bucket path's tables for the replayed minutes, and the store holding the model.
    async fn bucket_path() -> (tempfile::TempDir, Arc<dyn Store>, ReplaySource, Tables) {
        let (dir, store, raw) = searched().await;
        let src = source(store.as_ref(), &raw).await;
        replay_scored(store.clone(), &src, 1).await;
        let want = tables(store.as_ref()).await;
        assert_eq!(want.0.len(), src.rows.len() - (N_FEATURES - 1));
        (dir, store, src, want)
    }

    /// The minutes produced into a new two-partition topic: the first half, a record that is
    /// not a minute, then the whole source again, resumed after what the topic has; the
    /// topic's records read back.
    async fn produce(
        broker: &TansuBroker,
        topic: &str,
        src: &ReplaySource,
    ) -> (KafkaUrl, Vec<StreamRecord>) {
        let url = KafkaUrl::parse(&broker.create_topic(topic, 2)).unwrap();
        let sym = Symbol::new(SYM).unwrap();
        let sink = TopicSink::new(&url, &sym).unwrap();
        let half = src.rows.len() / 2;
        let part = |rows: &[(i64, String)]| ReplaySource {
            header: src.header.clone(),
            rows: rows.to_vec(),
        };
        let quiet = |_: String| async { Ok(()) };
        let opts = ReplayOptions::default();
        replay(
            &sink,
            &sym,
            &part(&src.rows[..half]),
            &opts,
            quiet,
            &mut |_| {},
        )
        .await
        .unwrap();
        sink.put(&ReplayObject {
            key: String::new(),
            first_ms: 0,
            rows: 1,
            body: bytes::Bytes::from_static(BAD),
        })
        .await
        .unwrap();
        let mut all = part(&src.rows);
        let (newest, skipped) = resume(&url, &sym, &mut all).await.unwrap();
        assert_eq!((newest, skipped), (Some(src.rows[half - 1].0), half));
        let done = replay(&sink, &sym, &all, &opts, quiet, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(done.written, src.rows.len() - half);
        let records = read_all(&url).await.unwrap();
        assert_eq!(records.len(), src.rows.len() + 1);
        (url, records)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_topic_consumed_by_a_group_scores_each_minute_once_as_the_bucket_path() {
        let (dir, searched_store, src, want) = bucket_path().await;
        let broker = TansuBroker::start();
        let (url, _) = produce(&broker, "minutes", &src).await;
        let store = with_models(searched_store.as_ref(), local(&dir, "kafka")).await;
        let sym = Symbol::new(SYM).unwrap();
        let group = |g: &str| ConsumeOptions {
            group: g.into(),
            batch: 64,
            idle: Some(Duration::from_secs(3)),
            session_timeout: Duration::from_secs(10),
        };
        let s = scorer(store.clone(), false);
        let t = consume(&url, &s, &group("g1"), &mut |_| {}).await.unwrap();
        assert_eq!(
            (t.records, t.landed, t.rejected),
            (src.rows.len() + 1, src.rows.len(), 1)
        );
        scorer(store.clone(), true).settle(&sym).await.unwrap();
        same_tables(&tables(store.as_ref()).await, &want);
        // The landed minutes are the bucket path's objects, byte for byte.
        for o in src.objects(&sym, 1) {
            assert_eq!(store.get(&o.key).await.unwrap(), o.body);
        }
        // The record that is not a minute is kept, by its place in the topic.
        let errors = store
            .list("live/errors/stream/topic=minutes/")
            .await
            .unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = String::from_utf8_lossy(&store.get(&errors[0].key).await.unwrap()).to_string();
        assert!(
            e.contains("not a date") && e.contains("row 1, column `date`"),
            "{e}"
        );

        // The group's offsets were committed: it has nothing left to read.
        let again = consume(&url, &s, &group("g1"), &mut |_| {}).await.unwrap();
        assert_eq!(again.records, 0);
        // Another group reads the whole topic again, and nothing new is written.
        let before = store.list("live/").await.unwrap().len();
        let other = consume(&url, &s, &group("g2"), &mut |_| {}).await.unwrap();
        assert_eq!((other.landed, other.existing), (0, src.rows.len()));
        assert_eq!(store.list("live/").await.unwrap().len(), before);
        same_tables(&tables(store.as_ref()).await, &want);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_consumer_killed_mid_batch_and_restarted_loses_and_repeats_nothing() {
        let bins = function_binaries(&["groves"]);
        let (dir, searched_store, src, want) = bucket_path().await;
        let broker = TansuBroker::start();
        let (url, _) = produce(&broker, "killed", &src).await;
        let root = dir.path().join("consumer");
        let store = with_models(
            searched_store.as_ref(),
            Arc::new(LocalStore::create(&root).unwrap()),
        )
        .await;
        let sym = Symbol::new(SYM).unwrap();
        let forecasts = || {
            let d = root.join("live/forecasts");
            walk_count(&d)
        };
        let live = |extra: &[&str]| {
            let mut c = std::process::Command::new(bins.join("groves"));
            c.arg("--store")
                .arg(&root)
                .args([
                    "live",
                    "--stocks",
                    SYM,
                    "--from",
                    &url.to_string(),
                    "--group",
                    "k",
                    "--max-batch",
                    "8",
                    "--session-timeout-s",
                    "6",
                ])
                .args(extra)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            c
        };
        // Killed (SIGKILL) three times while it scores, each time further on.
        let t0 = std::time::Instant::now();
        for at in [60, 160, 260] {
            let mut child = live(&["--watch"]).spawn().unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while forecasts() < at {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no progress past {} forecasts",
                    forecasts()
                );
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "groves live ended early"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            child.kill().unwrap();
            child.wait().unwrap();
            eprintln!(
                "killed at {} forecasts after {:?}",
                forecasts(),
                t0.elapsed()
            );
        }
        // Restarted: it reads from the last commit to the end, then flushes.
        let out = live(&["--idle-s", "3", "--flush"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        same_tables(&tables(store.as_ref()).await, &want);
        let minutes = store
            .list(&layout::live_minutes_prefix(&sym))
            .await
            .unwrap();
        assert_eq!(minutes.len(), src.rows.len());
    }

    /// `got == want`, saying where they first differ (the tables are too long to print).
    fn same_tables(got: &Tables, want: &Tables) {
        let at = |a: usize, b: usize| format!("{a} rows, want {b}");
        let f = got.0.iter().zip(&want.0).position(|(a, b)| a != b);
        assert!(
            f.is_none() && got.0.len() == want.0.len(),
            "forecasts: {}; first difference at {f:?}: {:?} vs {:?}",
            at(got.0.len(), want.0.len()),
            f.map(|i| got.0[i]),
            f.map(|i| want.0[i])
        );
        let o = got.1.iter().zip(&want.1).position(|(a, b)| a != b);
        assert!(
            o.is_none() && got.1.len() == want.1.len(),
            "outcomes: {}; first difference at {o:?}: {:?} vs {:?}",
            at(got.1.len(), want.1.len()),
            o.map(|i| got.1[i]),
            o.map(|i| want.1[i])
        );
    }

    /// Files under `dir`, recursively (0 if it does not exist yet).
    fn walk_count(dir: &std::path::Path) -> usize {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return 0;
        };
        rd.filter_map(|e| e.ok())
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk_count(&p)
                } else {
                    usize::from(p.extension().is_some_and(|x| x == "parquet"))
                }
            })
            .sum()
    }

    /// Lambda's Kafka event (self-managed source) for `records` (one topic).
    fn kafka_event(records: &[StreamRecord], bootstrap: &str) -> serde_json::Value {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut by_partition = serde_json::Map::new();
        for r in records {
            let list = by_partition
                .entry(format!("{}-{}", r.topic, r.partition))
                .or_insert_with(|| json!([]));
            list.as_array_mut().unwrap().push(json!({
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "timestamp": r.timestamp_ms.unwrap(),
                "timestampType": "CREATE_TIME",
                "key": r.key.as_ref().map(|k| b64.encode(k)),
                "value": r.value.as_ref().map(|v| b64.encode(v)),
                "headers": [],
            }));
        }
        json!({
            "eventSource": "SelfManagedKafka",
            "bootstrapServers": bootstrap,
            "records": by_partition,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_score_function_takes_kafka_events_of_the_topics_records() {
        let bins = function_binaries(&["score"]);
        let (dir, searched_store, src, want) = bucket_path().await;
        let broker = TansuBroker::start();
        let (_, records) = produce(&broker, "lambda", &src).await;
        let moto = MotoServer::start();
        let s3 = with_models(
            searched_store.as_ref(),
            Arc::new(moto.create_bucket("kafka-bucket").await),
        )
        .await;
        let emulator = super::emulator::score_emulator(
            &bins,
            &moto,
            "kafka-bucket",
            &[("GROVES_LIVE_SOURCE", "kafka")],
        );
        let invoke = |event: &serde_json::Value| {
            let path = dir.path().join("kafka-event.json");
            std::fs::write(&path, event.to_string()).unwrap();
            emulator
                .invoke("score", &path)
                .unwrap_or_else(|e| panic!("score failed: {e}\n{}", emulator.logs()))
        };
        let mut rejected = Vec::new();
        // Batches as an event source mapping makes them: one partition's records in order.
        for (i, batch) in records.chunks(40).enumerate() {
            let event = kafka_event(batch, &broker.bootstrap());
            let answer = invoke(&event);
            let bad = batch
                .iter()
                .filter(|r| r.value.as_deref() == Some(BAD))
                .count();
            assert_eq!(answer["records"], batch.len(), "{answer}");
            assert_eq!(answer["landed"], batch.len() - bad, "{answer}");
            rejected.extend(answer["rejected"].as_array().unwrap().clone());
            if i % 4 == 1 {
                // Delivered again (a retried batch): nothing new.
                let again = invoke(&event);
                assert_eq!(
                    (again["landed"].as_u64(), again["existing"].as_u64()),
                    (Some(0), Some((batch.len() - bad) as u64)),
                    "{again}"
                );
            }
        }
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert!(rejected[0]["error"]
            .as_str()
            .unwrap()
            .contains("not a date"));
        // The bucket's notification of a minute the function landed is passed over.
        let sym = Symbol::new(SYM).unwrap();
        let landed = layout::live_minute_key(&sym, src.rows[3].0);
        let answer = invoke(&super::emulator::notification("kafka-bucket", &landed));
        assert!(answer["records"][0]["passed_over"].is_string(), "{answer}");
        scorer(s3.clone(), true).settle(&sym).await.unwrap();
        same_tables(&tables(s3.as_ref()).await, &want);
        let key = rejected[0]["key"].as_str().unwrap();
        assert!(key.starts_with("live/errors/stream/topic=lambda/"), "{key}");
        assert!(s3.head(key).await.unwrap().is_some());
        let logs = emulator.logs();
        assert!(logs.contains(r#""Namespace":"groves/live""#), "{logs}");
    }
}
