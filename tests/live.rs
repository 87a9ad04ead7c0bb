//! The live path end to end: a generated stock searched and promoted, its newest minutes
//! replayed into the bucket and scored, against an independent computation from the raw file
//! and the model; batches; and (with the external tools) the same minutes in a real
//! S3-compatible server scored by the real `score` binary under the Lambda emulator, with a
//! duplicate notification and a malformed object, equal to the local result.

use std::sync::Arc;

use groves_core::calendar::parse_bar_time;
use groves_core::features::N_FEATURES;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_live::replay::{replay, ReplayOptions, ReplaySource};
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
        store.as_ref(),
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
    fn notification(bucket: &str, key: &str) -> serde_json::Value {
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
        let mut env = moto.env();
        env.push(("RUST_LOG", "info".into()));
        env.push(("GROVES_BUCKET", "live-bucket".into()));
        env.push(("GROVES_WINDOW", "100".into()));
        let emulator = LambdaEmulator::start(
            &bins,
            &[Function {
                name: "score",
                instances: 2,
                memory_mb: 1024,
            }],
            &env,
        );
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
        a.as_ref(),
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
