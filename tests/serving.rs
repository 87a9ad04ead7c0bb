//! Serving: a run's promoted groves answer over real HTTP (`groves serve`'s router on a
//! 127.0.0.1 port) with forecasts equal, to the bit, to what test-full stored for the same rows;
//! every caller mistake is a 4xx naming the field; concurrent requests load a model once; the
//! cache keeps to its bound; a promotion reaches a running server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use groves_core::features::{lag_name, Target, N_LAGS, TYPPRICE};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Split};
use groves_core::spec::RunSpec;
use groves_data::table::from_parquet;
use groves_serving::request::RowInput;
use groves_serving::{http::router, CacheOptions, ModelCache};
use groves_store::{LocalStore, Store};
use groves_tests::{drive_locally, gen_raw};
use polars_core::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Searched {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    run: RunId,
}

/// A local bucket with `stocks` generated (4 trading days each) and `unrun` generated but not
/// searched; one small search of `stocks`, promoted when it finishes.
async fn searched(
    run: &str,
    target: Target,
    horizon: u32,
    features: &[&str],
    stocks: &[&str],
    unrun: &[&str],
) -> Searched {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket");
    let store: Arc<dyn Store> = Arc::new(LocalStore::create(&root).unwrap());
    let raw = root.join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    for (i, s) in stocks.iter().chain(unrun).enumerate() {
        gen_raw(&raw, s, 4, 30 + i as u64, false);
    }
    let spec = RunSpec {
        run: Some(RunId::new(run).unwrap()),
        stocks: stocks.iter().map(|s| Symbol::new(*s).unwrap()).collect(),
        target: Some(target),
        horizon,
        features: features.iter().map(|s| s.to_string()).collect(),
        feat: vec![3, 7],
        samp: vec![5, 25],
        groves: 2,
        trees: 8,
        final_groves: 3,
        final_trees: 6,
        ..RunSpec::default()
    };
    let outcome = drive_locally(store.clone(), &spec, None).await;
    outcome.check().unwrap();
    assert_eq!(
        outcome.promoted.len(),
        stocks.len(),
        "{:?}",
        outcome.not_promoted
    );
    Searched {
        _dir: dir,
        store,
        run: RunId::new(run).unwrap(),
    }
}

async fn table(store: &dyn Store, key: &str) -> DataFrame {
    from_parquet(&store.get(key).await.unwrap()).unwrap()
}

fn f64s(df: &DataFrame, name: &str) -> Vec<f64> {
    let c = df.column(name).unwrap().cast(&DataType::Float64).unwrap();
    c.f64().unwrap().iter().map(Option::unwrap).collect()
}

/// Each test-split row's inputs by name, as a caller would send them.
async fn test_rows(s: &Searched, stock: &str, extras: &[&str]) -> (Vec<RowInput>, Vec<f64>) {
    let sym = Symbol::new(stock).unwrap();
    let test = table(
        s.store.as_ref(),
        &layout::features_key(&s.run, Split::Test, &sym),
    )
    .await;
    let forecast = table(s.store.as_ref(), &layout::test_forecast_key(&s.run, &sym)).await;
    let mut names: Vec<String> = (0..=N_LAGS)
        .map(|k| if k == 0 { TYPPRICE.into() } else { lag_name(k) })
        .collect();
    names.extend(extras.iter().map(|e| e.to_string()));
    let cols: Vec<Vec<f64>> = names.iter().map(|n| f64s(&test, n)).collect();
    let rows = (0..test.height())
        .map(|i| RowInput {
            stock: sym.clone(),
            prices: None,
            named: names
                .iter()
                .zip(&cols)
                .map(|(n, c)| (n.clone(), c[i]))
                .collect::<BTreeMap<_, _>>(),
            prefix: String::new(),
        })
        .collect();
    (rows, f64s(&forecast, "predicted"))
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

async fn consistency(target: Target, horizon: u32, extras: &[&str]) {
    let s = searched("serve", target, horizon, extras, &["ALPHA"], &[]).await;
    let cache = ModelCache::new(s.store.clone(), CacheOptions::default());
    let model = cache.get(&Symbol::new("ALPHA").unwrap()).await.unwrap();
    assert_eq!(model.pointer.target, target);
    assert_eq!(model.pointer.horizon, horizon);
    assert_eq!(model.pointer.groves, vec![0, 1, 2]);
    let (inputs, stored) = test_rows(&s, "ALPHA", extras).await;
    assert!(stored.len() > 50);
    let rows: Vec<_> = inputs
        .iter()
        .map(|r| r.to_row(&model.pointer).unwrap())
        .collect();
    let served = model.forecast(&rows).unwrap();
    assert_eq!(
        bits(&served),
        bits(&stored),
        "served vs test-full, {target}"
    );

    // The same rows over HTTP, as JSON numbers both ways.
    let server = Server::start(s.store.clone(), CacheOptions::default()).await;
    let batch: Vec<Value> = inputs[..100]
        .iter()
        .map(|r| serde_json::to_value(&r.named).unwrap())
        .collect();
    let (status, answer) = server
        .post("/predict", &json!({"stock": "ALPHA", "rows": batch}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let got: Vec<f64> = answer["forecasts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["forecast"].as_f64().unwrap())
        .collect();
    assert_eq!(bits(&got), bits(&stored[..100]), "over HTTP, {target}");
    assert_eq!(answer["models"]["ALPHA"]["run"], "serve");
    assert_eq!(answer["models"]["ALPHA"]["target"], target.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_level_forecast_equals_the_stored_test_forecast_to_the_bit() {
    consistency(Target::Level, 1, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_change_forecast_with_extra_features_equals_the_stored_one_to_the_bit() {
    consistency(Target::Change, 2, &["RSI14", "volume"]).await;
}

/// `groves serve`'s router on a free 127.0.0.1 port, spoken to over TCP.
struct Server {
    addr: SocketAddr,
    cache: Arc<ModelCache>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(store: Arc<dyn Store>, opts: CacheOptions) -> Server {
        let cache = Arc::new(ModelCache::new(store, opts));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(cache.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server { addr, cache, task }
    }

    /// One HTTP/1.1 exchange: the status and the JSON body.
    async fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: groves\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).await.unwrap();
        let text = String::from_utf8(reply).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, b"").await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request("POST", path, &serde_json::to_vec(body).unwrap())
            .await
    }
}

const PRICES: &str = "3000,3001,3002,3001,3000,2999,3000,3001,3002,3003,3004";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_mistake_is_a_4xx_naming_the_field() {
    let s = searched(
        "errors",
        Target::Change,
        1,
        &["RSI14"],
        &["ALPHA"],
        &["BETA"],
    )
    .await;
    let server = Server::start(s.store.clone(), CacheOptions::default()).await;
    let ok = format!("/predict?stock=ALPHA&prices={PRICES}&RSI14=55.5");
    let (status, answer) = server.get(&ok).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["naive"], 3004.0);
    assert_eq!(answer["horizon"], 1);
    assert!(answer["forecast"].as_f64().unwrap().is_finite());
    assert!(answer["took_ms"].as_f64().is_some());

    let cases: Vec<(String, u16, Option<&str>)> = vec![
        (
            format!("/predict?prices={PRICES}&RSI14=1"),
            400,
            Some("stock"),
        ),
        (
            "/predict?stock=ALPHA&RSI14=1".to_string(),
            400,
            Some("TYPPRICE"),
        ),
        (
            "/predict?stock=ALPHA&prices=1,2,3&RSI14=1".into(),
            400,
            Some("prices"),
        ),
        (
            format!("/predict?stock=ALPHA&prices={PRICES},x&RSI14=1"),
            400,
            Some("prices[11]"),
        ),
        (
            "/predict?stock=ALPHA&prices=1,2,3,4,5,inf,7,8,9,10,11&RSI14=1".into(),
            400,
            Some("prices[5]"),
        ),
        (
            "/predict?stock=ALPHA&prices=1,2,3,4,5,NaN,7,8,9,10,11&RSI14=1".into(),
            400,
            Some("prices[5]"),
        ),
        (
            "/predict?stock=ALPHA&prices=1,2,3,4,5,-6,7,8,9,10,11&RSI14=1".into(),
            400,
            Some("prices[5]"),
        ),
        (
            format!("/predict?stock=ALPHA&prices={PRICES}"),
            400,
            Some("RSI14"),
        ),
        (
            format!("/predict?stock=ALPHA&prices={PRICES}&RSI14=1&RSI8=2"),
            400,
            Some("RSI8"),
        ),
        (
            format!("/predict?stock=..%2Fetc&prices={PRICES}"),
            400,
            Some("stock"),
        ),
        (format!("/predict?stock=NOSUCH&prices={PRICES}"), 404, None),
        (format!("/predict?stock=BETA&prices={PRICES}"), 404, None),
        ("/nowhere".into(), 404, None),
    ];
    for (path, want, field) in &cases {
        let (status, answer) = server.get(path).await;
        assert_eq!(status, *want, "{path}: {answer}");
        assert_eq!(answer["field"].as_str(), *field, "{path}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}"
        );
    }
    let (_, answer) = server
        .get(&format!("/predict?stock=BETA&prices={PRICES}"))
        .await;
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("no model promoted"),
        "{answer}"
    );

    let bad_bodies = [
        (b"{not json".to_vec(), None),
        (br#"{"stock":"ALPHA"}"#.to_vec(), Some("rows")),
        (br#"{"stock":"ALPHA","rows":[]}"#.to_vec(), Some("rows")),
        (
            format!(r#"{{"stock":"ALPHA","rows":[{{"prices":[{PRICES}],"RSI14":1}},{{"prices":[{PRICES}],"RSI14":"high"}}]}}"#)
                .into_bytes(),
            Some("rows[1].RSI14"),
        ),
        (
            format!(r#"{{"rows":[{{"prices":[{PRICES}],"RSI14":1}}]}}"#).into_bytes(),
            Some("rows[0].stock"),
        ),
    ];
    for (body, field) in &bad_bodies {
        let (status, answer) = server.request("POST", "/predict", body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["field"].as_str(), *field, "{answer}");
    }
    let (status, _) = server.request("DELETE", "/predict", b"").await;
    assert_eq!(status, 405);
    let (status, _) = server.get("/health").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_load_each_model_once_and_agree() {
    let s = searched("many", Target::Change, 1, &[], &["ALPHA", "GAMMA"], &[]).await;
    let server = Arc::new(Server::start(s.store.clone(), CacheOptions::default()).await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let stock = if i % 2 == 0 { "ALPHA" } else { "GAMMA" };
            let (status, a) = server
                .get(&format!("/predict?stock={stock}&prices={PRICES}"))
                .await;
            assert_eq!(status, 200, "{a}");
            (stock, a["forecast"].as_f64().unwrap())
        }));
    }
    let mut seen: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for t in tasks {
        let (stock, f) = t.await.unwrap();
        seen.entry(stock).or_default().push(f.to_bits());
    }
    for (stock, fs) in &seen {
        assert_eq!(fs.len(), 32);
        assert!(
            fs.iter().all(|f| *f == fs[0]),
            "{stock} answered differently"
        );
    }
    let (status, models) = server.get("/models").await;
    assert_eq!(status, 200);
    assert_eq!(models["models"].as_array().unwrap().len(), 2, "{models}");
    assert_eq!(models["cache"]["loaded"], json!(["ALPHA", "GAMMA"]));
    assert!(models["models"][0]["loaded"].as_bool().unwrap());
    assert_eq!(server.cache.usage().loaded.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_keeps_to_its_bound_and_a_promotion_reaches_a_running_server() {
    let s = searched("first", Target::Level, 1, &[], &["ALPHA", "GAMMA"], &[]).await;
    let opts = CacheOptions {
        limit_bytes: 1,
        refresh: Duration::ZERO,
    };
    let server = Server::start(s.store.clone(), opts).await;
    let path = |stock: &str| format!("/predict?stock={stock}&prices={PRICES}");
    let (_, a1) = server.get(&path("ALPHA")).await;
    let (_, g1) = server.get(&path("GAMMA")).await;
    // One model over the bound is still served, alone.
    assert_eq!(server.cache.usage().loaded, vec!["GAMMA".to_string()]);
    let (_, a2) = server.get(&path("ALPHA")).await;
    assert_eq!(a1["forecast"], a2["forecast"]);
    assert_eq!(server.cache.usage().loaded, vec!["ALPHA".to_string()]);
    assert_eq!(g1["model"]["run"], "first");

    // A second run of ALPHA (another target) promoted: the next request is served by it.
    let spec = RunSpec {
        run: Some(RunId::new("second").unwrap()),
        stocks: vec![Symbol::new("ALPHA").unwrap()],
        feat: vec![3],
        samp: vec![5],
        groves: 1,
        trees: 4,
        final_groves: 2,
        final_trees: 4,
        target: Some(Target::Change),
        ..RunSpec::default()
    };
    drive_locally(s.store.clone(), &spec, None)
        .await
        .check()
        .unwrap();
    let (_, a3) = server.get(&path("ALPHA")).await;
    assert_eq!(a3["model"]["run"], "second", "{a3}");
    assert_eq!(a3["model"]["target"], "change");
    assert_eq!(a3["model"]["groves"], 2);
    let _ = s.run;
}
