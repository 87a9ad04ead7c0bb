//! The deployed path with the real protocols: the workspace's Lambda binaries attached to
//! `cargo lambda watch`'s runtime API, a moto S3 server, the parent invoking its children through
//! the emulator with the Lambda invoker, and the S3 trigger fed a real notification event.

use std::sync::Arc;

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Split, Unit};
use groves_core::spec::{RunSpec, SearchMethod};
use groves_data::table::from_parquet;
use groves_serving::request::parse_query;
use groves_serving::{CacheOptions, ModelCache};
use groves_store::{LocalStore, Store};
use groves_tests::{
    assert_same, drive_locally, f64_column, function_binaries, gen_raw, only, snapshot, str_column,
    Function, LambdaEmulator, MotoServer, RESULT_PREFIXES,
};
use polars_core::prelude::*;
use serde_json::{json, Value};

const SYM: &str = "HDFCBANK";
const FUNCTIONS: [&str; 10] = [
    "parent",
    "processing",
    "param-preds",
    "pred-mses",
    "min-mse",
    "train-full",
    "test-full",
    "timing-metrics",
    "trigger",
    "predict",
];

fn function(name: &'static str, instances: usize, memory_mb: u32) -> Function {
    Function {
        name,
        instances,
        memory_mb,
    }
}

/// The functions' environment: moto for S3, info logs (one line per event handled).
fn env(moto: &MotoServer) -> Vec<(&'static str, String)> {
    let mut env = moto.env();
    env.push(("RUST_LOG", "info".into()));
    env.push(("GROVES_MAX_IN_FLIGHT", "6".into()));
    // The predict function's bucket (the parent takes its bucket from the event).
    env.push(("GROVES_BUCKET", "emu-bucket".into()));
    env
}

/// A reduced grid: 2 × 2 settings, 2 groves of 8 trees; 3 final groves of 6 trees.
fn small_spec() -> RunSpec {
    RunSpec {
        run: Some(RunId::new("emu").unwrap()),
        stocks: vec![Symbol::new(SYM).unwrap()],
        feat: vec![5, 9],
        samp: vec![5, 25],
        groves: 2,
        trees: 8,
        final_groves: 3,
        final_trees: 6,
        max_attempts: 2,
        ..RunSpec::default()
    }
}

fn write_json(dir: &std::path::Path, name: &str, v: &Value) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    path
}

/// Lines a function logged for each event it handled (`serve` logs one per invocation).
fn events_handled(emulator: &LambdaEmulator, function: &str) -> usize {
    let prefix = format!("{function}.");
    emulator.count_in_logs(&prefix, r#""message":"event""#)
        + emulator.count_in_logs(&prefix, r#""message":"S3 notification""#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_search_under_the_lambda_emulator_equals_the_local_run() {
    let bins = function_binaries(&FUNCTIONS);
    let moto = MotoServer::start();
    let s3: Arc<dyn Store> = Arc::new(moto.create_bucket("emu-bucket").await);
    let dir = tempfile::tempdir().unwrap();
    let local_root = dir.path().join("bucket");
    let local: Arc<dyn Store> = Arc::new(LocalStore::create(&local_root).unwrap());
    let raw_dir = local_root.join("raw");
    std::fs::create_dir_all(&raw_dir).unwrap();
    let raw = gen_raw(&raw_dir, SYM, 4, 11, false);
    let sym = Symbol::new(SYM).unwrap();
    s3.put_file(&layout::raw_key(&sym), &raw).await.unwrap();

    let memory = [
        ("parent", 512),
        ("processing", 1769),
        ("param-preds", 1769),
        ("pred-mses", 1024),
        ("min-mse", 256),
        ("train-full", 1769),
        ("test-full", 1024),
        ("timing-metrics", 1024),
        ("predict", 1024),
    ];
    let functions: Vec<Function> = memory
        .iter()
        .map(|&(name, mb)| {
            let instances = if matches!(name, "param-preds" | "train-full") {
                2
            } else {
                1
            };
            function(name, instances, mb)
        })
        .collect();
    let emulator = LambdaEmulator::start(&bins, &functions, &env(&moto));

    let spec = small_spec();
    let mut event = serde_json::to_value(&spec).unwrap();
    event["bucket"] = json!("emu-bucket");
    let event_file = write_json(dir.path(), "run.json", &event);
    let answer = emulator
        .invoke("parent", &event_file)
        .unwrap_or_else(|e| panic!("the parent failed: {e}\n{}", emulator.logs()));
    assert!(
        answer.to_string().contains("emu"),
        "the parent's answer names the run: {answer}"
    );

    // The same run on the local runner.
    drive_locally(local.clone(), &spec, None)
        .await
        .check()
        .unwrap();

    let a = only(snapshot(s3.as_ref(), &[]).await, &RESULT_PREFIXES);
    let b = only(snapshot(local.as_ref(), &[]).await, &RESULT_PREFIXES);
    assert!(
        a.len() > 30,
        "the Lambda run wrote its tables: {:?}",
        a.keys()
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same tables under Lambda and locally"
    );
    assert_same(&a, &b, "Lambda emulator vs local");

    // Every unit ran in a Lambda function of its stage's memory size, and the timing tables
    // were built from those records.
    let run = spec.run.clone().unwrap();
    let timings = s3.list(&layout::timings_prefix(&run)).await.unwrap();
    assert!(!timings.is_empty());
    for m in &timings {
        let df = from_parquet(&s3.get(&m.key).await.unwrap()).unwrap();
        let text = |name: &str| {
            let column = df.column(name).unwrap();
            column.str().unwrap().get(0).unwrap().to_string()
        };
        assert_eq!(text("executor"), "lambda", "{}", m.key);
        assert_eq!(text("arch"), std::env::consts::ARCH, "{}", m.key);
        let stage = text("stage");
        let mb = df
            .column("memory_mb")
            .unwrap()
            .cast(&DataType::UInt32)
            .unwrap()
            .u32()
            .unwrap()
            .get(0);
        let want = memory.iter().find(|(n, _)| *n == stage).map(|(_, mb)| *mb);
        assert_eq!(mb, want, "{}", m.key);
    }
    for table in ["views", "costs"] {
        assert!(s3
            .head(&layout::timing_metrics_key(&run, table))
            .await
            .unwrap()
            .is_some());
    }
    // The parent's own invocations are billed: a `parent` row at its memory size.
    let costs = from_parquet(
        &s3.get(&layout::timing_metrics_key(&run, "costs"))
            .await
            .unwrap(),
    )
    .unwrap();
    let at = str_column(&costs, "stage")
        .iter()
        .position(|s| s == "parent")
        .expect("a parent row");
    let gb_s = f64_column(&costs, "gb_s")[at];
    assert!(gb_s > 0.0, "{costs}");
    let parent_log = groves_stages::timing_metrics::read_parent_invocations(s3.as_ref(), &run)
        .await
        .unwrap();
    assert!(!parent_log.is_empty());
    assert!(parent_log
        .iter()
        .all(|p| p.memory_mb == 512 && p.ended_ms >= p.started_ms));
    // Children reached through the emulator: one event per unit (no unit ran twice).
    let grid_units = 2 * 2 * 2;
    assert_eq!(events_handled(&emulator, "param-preds"), grid_units);
    assert_eq!(events_handled(&emulator, "train-full"), 3);

    // The parent promoted the run; the predict function answers Function URL requests with the
    // forecast the local server gives for the same prices, to the bit.
    let prices = "2480.05,2480.6,2481.1,2480.9,2481.35,2481.8,2481.45,2482.0,2482.3,2481.95,2482.5";
    let url_event = |method: &str, query: &str, body: Option<&Value>| {
        let base =
            std::fs::read(groves_tests::workspace_root().join("events/predict.json")).unwrap();
        let mut req: LambdaFunctionUrlRequest = serde_json::from_slice(&base).unwrap();
        req.raw_query_string = Some(query.to_string());
        req.query_string_parameters = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        req.request_context.http.method = Some(method.to_string());
        req.body = body.map(Value::to_string);
        serde_json::to_value(&req).unwrap()
    };
    let call = |name: &str, event: Value| {
        let file = write_json(dir.path(), name, &event);
        let answer = emulator
            .invoke("predict", &file)
            .unwrap_or_else(|e| panic!("predict failed: {e}\n{}", emulator.logs()));
        let status = answer["statusCode"].as_u64().unwrap();
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        (status, body)
    };
    let cache = ModelCache::new(local.clone(), CacheOptions::default());
    let model = cache.get(&Symbol::new(SYM).unwrap()).await.unwrap();
    let query = format!("stock={SYM}&prices={prices}");
    let row = parse_query(&query).unwrap().to_row(&model.pointer).unwrap();
    let local_forecast = model.forecast(&[row]).unwrap()[0];
    let (status, body) = call("get.json", url_event("GET", &query, None));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["forecast"].as_f64().unwrap().to_bits(),
        local_forecast.to_bits(),
        "{body}"
    );
    assert_eq!(body["model"]["run"], "emu");
    let (status, body) = call(
        "post.json",
        url_event(
            "POST",
            "",
            Some(
                &json!({"stock": SYM, "rows": [{"prices": prices.split(',').map(|p| p.parse::<f64>().unwrap()).collect::<Vec<_>>()}]}),
            ),
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["forecasts"][0]["forecast"].as_f64().unwrap().to_bits(),
        local_forecast.to_bits()
    );
    let (status, body) = call(
        "bad.json",
        url_event("GET", &format!("stock={SYM}&prices=1,2"), None),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "prices");
    let (status, body) = call(
        "unknown.json",
        url_event("GET", &format!("stock=NOSUCH&prices={prices}"), None),
    );
    assert_eq!(status, 404, "{body}");

    // A halving search through the emulator: its rounds' events reach the functions (pred-mses
    // with its round) and leave the tables the local runner leaves.
    let halving = RunSpec {
        run: Some(RunId::new("emu-halving").unwrap()),
        search: SearchMethod::Halving,
        ..small_spec()
    };
    let mut event = serde_json::to_value(&halving).unwrap();
    event["bucket"] = json!("emu-bucket");
    let event_file = write_json(dir.path(), "halving.json", &event);
    emulator
        .invoke("parent", &event_file)
        .unwrap_or_else(|e| panic!("the halving parent failed: {e}\n{}", emulator.logs()));
    drive_locally(local.clone(), &halving, None)
        .await
        .check()
        .unwrap();
    let halving_results: Vec<String> = RESULT_PREFIXES
        .iter()
        .map(|p| format!("{p}run=emu-halving/"))
        .collect();
    let prefixes: Vec<&str> = halving_results.iter().map(String::as_str).collect();
    let a = only(snapshot(s3.as_ref(), &[]).await, &prefixes);
    let b = only(snapshot(local.as_ref(), &[]).await, &prefixes);
    assert!(
        a.keys().any(|k| k.ends_with("round-1.parquet")),
        "{:?}",
        a.keys()
    );
    assert_same(&a, &b, "halving: Lambda emulator vs local");
    // Rounds 4 × 1 and 2 × 2: six more search groves, a pred-mses per round.
    assert_eq!(events_handled(&emulator, "param-preds"), grid_units + 4 + 2);
    assert_eq!(events_handled(&emulator, "pred-mses"), 1 + 2);
}

/// An S3 notification as S3 sends it, for `key` (form-encoded) in `bucket`.
fn notification(bucket: &str, key: &str, size: u64, etag: Option<&str>) -> Value {
    let template: Value = serde_json::from_slice(
        &std::fs::read(groves_tests::workspace_root().join("events/trigger.json")).unwrap(),
    )
    .unwrap();
    let mut event = template;
    let record = &mut event["Records"][0];
    record["s3"]["bucket"]["name"] = json!(bucket);
    record["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
    let encoded: String = key.replace('&', "%26").replace(' ', "+");
    record["s3"]["object"]["key"] = json!(encoded);
    record["s3"]["object"]["size"] = json!(size);
    match etag {
        Some(e) => record["s3"]["object"]["eTag"] = json!(e),
        None => {
            record["s3"]["object"]
                .as_object_mut()
                .unwrap()
                .remove("eTag");
        }
    }
    event
}

async fn etag(moto: &MotoServer, bucket: &str, key: &str) -> String {
    let head = moto
        .client()
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    head.e_tag().unwrap().trim_matches('"').to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_raw_file_is_processed_once_per_version_through_the_trigger() {
    let bins = function_binaries(&["trigger", "processing"]);
    let moto = MotoServer::start();
    let bucket = "trigger-bucket";
    let s3: Arc<dyn Store> = Arc::new(moto.create_bucket(bucket).await);
    let emulator = LambdaEmulator::start(
        &bins,
        &[function("trigger", 1, 256), function("processing", 1, 1769)],
        &env(&moto),
    );
    let dir = tempfile::tempdir().unwrap();
    // M&M: the key arrives form-encoded (M%26M) and must be decoded.
    let sym = Symbol::new("M&M").unwrap();
    let raw = gen_raw(dir.path(), sym.as_str(), 3, 3, false);
    let key = layout::raw_key(&sym);
    s3.put_file(&key, &raw).await.unwrap();
    let size = std::fs::metadata(&raw).unwrap().len();
    let tag = etag(&moto, bucket, &key).await;
    let event_file = write_json(
        dir.path(),
        "put.json",
        &notification(bucket, &key, size, Some(&tag)),
    );

    let first = emulator
        .invoke("trigger", &event_file)
        .unwrap_or_else(|e| panic!("trigger failed: {e}\n{}", emulator.logs()));
    let rec = &first["records"][0];
    assert_eq!(rec["action"], "processing started", "{first}");
    assert_eq!(rec["stock"], "M&M");
    assert_eq!(rec["key"], key.as_str());
    let run = RunId::new(rec["run"].as_str().unwrap()).unwrap();
    // Under the emulator the Event invoke returns when processing is done.
    for split in Split::ALL {
        assert!(
            s3.head(&layout::features_key(&run, split, &sym))
                .await
                .unwrap()
                .is_some(),
            "{split} features of run {run}"
        );
    }
    let unit = Unit::Stock(sym.clone());
    assert!(s3
        .head(&layout::done_key(&run, "processing", &unit))
        .await
        .unwrap()
        .is_some());
    assert!(s3
        .head(&layout::run_manifest_key(&run))
        .await
        .unwrap()
        .is_some());
    let before = snapshot(s3.as_ref(), &[]).await;
    assert_eq!(events_handled(&emulator, "processing"), 1);

    // The same notification again (S3 delivers at least once): recognised, nothing redone.
    let second = emulator.invoke("trigger", &event_file).unwrap();
    assert_eq!(second["records"][0]["action"], "duplicate", "{second}");
    assert_eq!(second["records"][0]["run"], run.as_str());
    assert_eq!(events_handled(&emulator, "processing"), 1);
    let after = snapshot(s3.as_ref(), &[]).await;
    assert_same(&before, &after, "a repeated notification");

    // A corrected file (new content, new ETag) is a new run.
    std::fs::create_dir_all(dir.path().join("v2")).unwrap();
    let raw2 = gen_raw(&dir.path().join("v2"), sym.as_str(), 3, 4, false);
    s3.put_file(&key, &raw2).await.unwrap();
    let tag2 = etag(&moto, bucket, &key).await;
    assert_ne!(tag, tag2);
    let size2 = std::fs::metadata(&raw2).unwrap().len();
    let event2 = write_json(
        dir.path(),
        "put2.json",
        &notification(bucket, &key, size2, Some(&tag2)),
    );
    let third = emulator.invoke("trigger", &event2).unwrap();
    assert_eq!(
        third["records"][0]["action"], "processing started",
        "{third}"
    );
    assert_ne!(third["records"][0]["run"], run.as_str());
    assert_eq!(events_handled(&emulator, "processing"), 2);

    // A notification S3 would never send (no ETag, no version) is an error naming the key;
    // a key outside raw/ is ignored, not an error.
    let bad = write_json(
        dir.path(),
        "bad.json",
        &notification(bucket, &key, size, None),
    );
    let err = emulator.invoke("trigger", &bad).unwrap_err();
    assert!(
        err.contains("M&M_minute_data_with_indicators.csv") && err.contains("eTag"),
        "{err}"
    );
    let other = write_json(
        dir.path(),
        "other.json",
        &notification(bucket, "features/notes.txt", 10, Some("abc")),
    );
    let ignored = emulator.invoke("trigger", &other).unwrap();
    assert!(
        ignored["records"][0]["action"]
            .as_str()
            .unwrap()
            .starts_with("ignored"),
        "{ignored}"
    );
    assert_eq!(events_handled(&emulator, "processing"), 2);
}
