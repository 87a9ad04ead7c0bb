//! Faults a real AWS account produces at scale, injected by the fault proxy (src/proxy.rs) while
//! a small run goes on: S3 500s (after the write took effect), 503 SlowDown and hung connections
//! between `groves run` and a moto S3 server; Lambda `Invoke` throttled for a while, duplicate
//! deliveries, units killed mid-run and a parent re-invoked every few seconds under `cargo lambda
//! watch`. Each run's result tables must equal a clean run's, byte for byte.
//! (`scripts/drill.sh` does the same at 100 stocks.)

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_store::{LocalStore, Store};
use groves_tests::proxy::{FaultProxy, Faults};
use groves_tests::{
    assert_same, function_binaries, gen_raw, only, s3_env, snapshot, stage_logs, Function,
    LambdaEmulator, MotoServer, RESULT_PREFIXES,
};

const STOCKS: [&str; 2] = ["TCS", "INFY"];

/// `groves run` of a reduced grid (2 × 2 settings, 2 groves of 6 trees; 2 final groves).
fn run_args(run: &str) -> Vec<String> {
    [
        "run",
        "--run",
        run,
        "--stocks",
        "TCS,INFY",
        "--grid",
        "5,9x5,25",
        "--groves",
        "2",
        "--trees",
        "6",
        "--final-groves",
        "2",
        "--final-trees",
        "4",
        "--no-promote",
    ]
    .map(String::from)
    .to_vec()
}

fn spec(run: &str) -> RunSpec {
    RunSpec {
        run: Some(RunId::new(run).unwrap()),
        stocks: STOCKS.map(|s| Symbol::new(s).unwrap()).to_vec(),
        feat: vec![5, 9],
        samp: vec![5, 25],
        groves: 2,
        trees: 6,
        final_groves: 2,
        final_trees: 4,
        ..RunSpec::default()
    }
}

/// Raw files in `dir/raw/`, the same in the clean folder and the bucket.
async fn raw_files(dir: &Path, bucket: &dyn Store) {
    std::fs::create_dir_all(dir.join("raw")).unwrap();
    for (i, s) in STOCKS.iter().enumerate() {
        let path = gen_raw(&dir.join("raw"), s, 3, 20 + i as u64, false);
        bucket
            .put_file(&layout::raw_key(&Symbol::new(*s).unwrap()), &path)
            .await
            .unwrap();
    }
}

fn groves_cmd(bins: &Path, store: &str, env: &[(&str, String)]) -> Command {
    let mut c = Command::new(bins.join("groves"));
    c.args(["--store", store])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    c
}

fn result_prefixes(run: &str) -> Vec<String> {
    RESULT_PREFIXES
        .iter()
        .map(|p| format!("{p}run={run}/"))
        .collect()
}

async fn results(store: &dyn Store, run: &str) -> std::collections::BTreeMap<String, bytes::Bytes> {
    let prefixes = result_prefixes(run);
    let p: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    only(snapshot(store, &[]).await, &p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_errors_slow_downs_and_hung_connections_leave_a_clean_runs_results() {
    let bins = function_binaries(&["groves"]);
    let moto = MotoServer::start();
    let bucket = moto.create_bucket("faults").await;
    let dir = tempfile::tempdir().unwrap();
    let clean_root = dir.path().join("clean");
    raw_files(&clean_root, &bucket).await;
    let clean = LocalStore::create(&clean_root).unwrap();
    let ok = groves_cmd(&bins, &clean_root.to_string_lossy(), &[])
        .args(run_args("s3f"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // One request in 23 answered 500 after it took effect, one in 17 503 before, one in 150
    // never answered (the client gives up after 1 s and tries again).
    let faults = Faults::parse("500-every=23,503-every=17,hang-every=150,hang-s=5").unwrap();
    let proxy = FaultProxy::start(([127, 0, 0, 1], moto.port).into(), faults)
        .await
        .unwrap();
    let mut env = s3_env(proxy.endpoint());
    env.push(("GROVES_S3_READ_TIMEOUT_S", "1".into()));
    // The proxy is served by this runtime: block in place, not on a worker.
    let out = tokio::task::block_in_place(|| {
        groves_cmd(&bins, "s3://faults", &env)
            .args(run_args("s3f"))
            .output()
            .unwrap()
    });
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "the run under faults failed: {stderr}"
    );
    let c = proxy.counts();
    assert!(
        c.injected_500 > 0 && c.injected_503 > 0 && c.injected_hangs > 0,
        "every kind of fault was injected: {c:?}"
    );
    assert!(c.requests("PUT") > 50, "{c:?}");

    let want = results(&clean, "s3f").await;
    let got = results(&bucket, "s3f").await;
    assert!(want.len() > 40, "{:?}", want.keys());
    assert_same(&got, &want, "S3 under faults vs a clean local run");
    // A write answered 500 after it took effect is sent again: with the same bytes.
    let results_rewritten: Vec<_> = c
        .rewritten_differently
        .keys()
        .filter(|k| RESULT_PREFIXES.iter().any(|p| k.contains(&format!("/{p}"))))
        .collect();
    assert!(
        results_rewritten.is_empty(),
        "result objects written twice with different bytes: {results_rewritten:?}"
    );

    // The same command again (a retried run) finds everything done and changes no result.
    let again = tokio::task::block_in_place(|| {
        groves_cmd(&bins, "s3://faults", &env)
            .args(run_args("s3f"))
            .output()
            .unwrap()
    });
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_same(&results(&bucket, "s3f").await, &want, "after a second run");
}

async fn wait_for_object(store: &dyn Store, key: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while store.head(key).await.unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "{key} did not appear within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_duplicates_killed_units_and_a_sliced_parent_under_the_lambda_emulator() {
    // One function per stage, named after it.
    let bins = function_binaries(&Stage::ALL.map(Stage::as_str));
    let moto = MotoServer::start();
    let bucket: Arc<dyn Store> = Arc::new(moto.create_bucket("lfaults").await);
    let dir = tempfile::tempdir().unwrap();
    let clean_root = dir.path().join("clean");
    raw_files(&clean_root, bucket.as_ref()).await;
    let clean: Arc<dyn Store> = Arc::new(LocalStore::create(&clean_root).unwrap());
    groves_tests::drive_locally(clean.clone(), &spec("lf"), None)
        .await
        .check()
        .unwrap();

    // Invokes throttled from the first second for six seconds (longer than the SDK's own
    // retries: the parent's hand-over to its next invocation meets it); one in four delivered
    // twice more.
    let lambda_port = groves_tests::free_port();
    let proxy = FaultProxy::start(
        ([127, 0, 0, 1], lambda_port).into(),
        Faults::parse("429-after-s=1,429-for-s=6,dup=0.25,dup-copies=2,seed=5").unwrap(),
    )
    .await
    .unwrap();
    let mut env = moto.env();
    env.push(("AWS_ENDPOINT_URL_LAMBDA", proxy.endpoint()));
    env.push(("RUST_LOG", "warn,groves_lambda=info".into()));
    env.push(("GROVES_MAX_IN_FLIGHT", "6".into()));
    // Each parent invocation drives two seconds, then hands the run to a fresh one.
    env.push(("GROVES_PARENT_SLICE_S", "2".into()));
    let functions = [
        ("parent", 1),
        ("processing", 1),
        ("param-preds", 3),
        ("pred-mses", 1),
        ("min-mse", 1),
        ("train-full", 3),
        ("test-full", 1),
        ("timing-metrics", 1),
    ]
    .map(|(name, instances)| Function {
        name,
        instances,
        memory_mb: 1024,
    });
    let mut emulator = LambdaEmulator::start_on(lambda_port, &bins, &functions, &env);
    let mut event = serde_json::to_value(spec("lf")).unwrap();
    event["bucket"] = serde_json::json!("lfaults");
    let event_file = dir.path().join("run.json");
    std::fs::write(&event_file, serde_json::to_vec(&event).unwrap()).unwrap();
    // The proxy is served by this runtime: block in place, not on a worker.
    let first = tokio::task::block_in_place(|| emulator.invoke("parent", &event_file))
        .unwrap_or_else(|e| panic!("the parent failed: {e}\n{}", emulator.logs()));
    assert!(
        first.to_string().contains("paused_in"),
        "the first parent handed the run on: {first}"
    );
    // Kill a grove instance twice while the run goes on (each replaced at once).
    for (name, i) in [("param-preds", 1), ("train-full", 0)] {
        tokio::time::sleep(Duration::from_millis(700)).await;
        emulator.kill_and_replace(name, i);
    }
    let run = RunId::new("lf").unwrap();
    wait_for_object(
        bucket.as_ref(),
        &layout::report_key(&run),
        Duration::from_secs(120),
    )
    .await;

    let want = results(clean.as_ref(), "lf").await;
    let got = results(bucket.as_ref(), "lf").await;
    assert_same(&got, &want, "Lambda under faults vs a clean local run");
    let c = proxy.counts();
    assert!(c.injected_429 > 0, "invokes were throttled: {c:?}");
    assert!(c.duplicates_sent > 0, "invokes were delivered twice: {c:?}");
    // The run's own records say what happened: hand-overs throttled (backed off, not counted as
    // attempts), and the parent re-invoked more than once.
    let mut throttled = 0;
    for log in stage_logs(bucket.as_ref(), &run).await {
        throttled += log.throttled;
        assert!(log.failed.is_empty(), "{}: {:?}", log.label(), log.failed);
    }
    assert!(throttled > 0, "the stage logs count throttled hand-overs");
    let parents = emulator.count_in_logs("parent.", r#""message":"event""#);
    assert!(parents >= 2, "the parent was re-invoked: {parents} events");
    // Each parent invocation is billed once, however often it recorded itself.
    let billed = groves_stages::timing_metrics::read_parent_invocations(bucket.as_ref(), &run)
        .await
        .unwrap();
    assert!(billed.len() >= 2, "{billed:?}");
    assert!(
        billed
            .windows(2)
            .all(|w| w[0].started_ms < w[1].started_ms && w[0].ended_ms <= w[1].started_ms),
        "{billed:?}"
    );
    // A hand-over to the next parent met the throttling and was waited out, not lost.
    assert!(
        emulator.count_in_logs("parent.", "hand-over to the next parent throttled") > 0,
        "{}",
        emulator.logs()
    );
}
