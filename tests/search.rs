//! The whole search through the parent: every table the layout promises, results equal to an
//! independent computation from the stored groves, units that leave the same bytes when run
//! twice, retries of failing and silent groves, missing groves reported and never averaged
//! away unless allowed — on a local folder and on a real S3-compatible server.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use forest::{Forest, Matrix};
use groves_core::events::{parse_event, FanOutEvent};
use groves_core::features::{self, Target, TARGET, TYPPRICE};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Setting, Split};
use groves_core::spec::RunSpec;
use groves_core::stage::{Stage, RUN_STAGES};
use groves_data::table::from_parquet;
use groves_orchestrator::invoke::{InvokeError, Invoker, LocalPool};
use groves_orchestrator::parent::{
    drive_run, fan_out, stage_units, DriveOptions, DriveOutcome, Quiet,
};
use groves_stages::dispatch::{run_stage, run_unit};
use groves_stages::{OneStore, UnitContext};
use groves_store::{LocalStore, Store};
#[cfg(feature = "external-tools")]
use groves_tests::MotoServer;
use groves_tests::{
    assert_same, drive_with, f64_column as vals, fast_polling as fast, gen_raw, local_pool, only,
    snapshot, str_column as strs, u32_column as u32s,
};
use polars_core::prelude::*;
use serde_json::Value;

const SYM: &str = "GROVE";

fn sym() -> Symbol {
    Symbol::new(SYM).unwrap()
}

/// A reduced grid: 2 × 2 settings, 2 groves of 8 trees; 3 final groves of 6 trees.
fn small_spec(run: &str) -> RunSpec {
    RunSpec {
        run: Some(RunId::new(run).unwrap()),
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

struct Bucket {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    #[cfg_attr(not(feature = "external-tools"), allow(dead_code))] // the S3 test copies from it
    root: std::path::PathBuf,
}

impl Bucket {
    /// A local bucket with one generated raw file of SYM (4 trading days, 1,500 bars).
    fn new() -> Bucket {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("bucket");
        let store = LocalStore::create(&root).unwrap();
        let raw = root.join("raw");
        std::fs::create_dir_all(&raw).unwrap();
        gen_raw(&raw, SYM, 4, 5, false);
        Bucket {
            _dir: dir,
            store: Arc::new(store),
            root,
        }
    }
}

async fn table(store: &dyn Store, key: &str) -> DataFrame {
    let bytes = store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    from_parquet(&bytes).unwrap()
}

/// A nullable float column (an MSE on too few groves is empty).
fn f64s(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

fn mse(p: &[f64], a: &[f64]) -> f64 {
    p.iter().zip(a).map(|(p, a)| (p - a).powi(2)).sum::<f64>() / p.len() as f64
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

/// Every key the layout promises for one stock of a finished small run.
fn promised_keys(spec: &RunSpec) -> Vec<String> {
    let run = spec.run.clone().unwrap();
    let s = sym();
    let mut keys = vec![
        layout::run_manifest_key(&run),
        layout::processing_stats_key(&run, &s),
        layout::pred_mses_key(&run, &s),
        layout::min_mse_key(&run, &s),
        layout::test_mse_key(&run, &s),
        layout::test_forecast_key(&run, &s),
        layout::timing_metrics_key(&run, "views"),
        layout::timing_metrics_key(&run, "costs"),
        layout::timing_metrics_key(&run, "units"),
        layout::report_key(&run),
    ];
    for split in Split::ALL {
        keys.push(layout::features_key(&run, split, &s));
    }
    for &stage in RUN_STAGES {
        keys.push(layout::stage_log_key(&run, stage.as_str(), None));
        for (unit, _) in stage_units(stage, spec, std::slice::from_ref(&s), "groves-data").unwrap()
        {
            keys.push(layout::done_key(&run, stage.as_str(), &unit));
            keys.push(layout::timing_key(&run, stage.as_str(), &unit));
        }
    }
    for f in &spec.feat {
        for m in &spec.samp {
            for g in 0..spec.groves {
                let setting = Setting { feat: *f, samp: *m };
                keys.push(layout::val_preds_key(&run, &s, setting, g));
            }
        }
    }
    for g in 0..spec.final_groves {
        keys.push(layout::test_preds_key(&run, &s, g));
        keys.push(layout::model_key(&run, &s, g));
    }
    if spec.promote {
        keys.push(layout::serving_pointer_key(&s));
    }
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_search_through_the_parent_writes_every_table() {
    let b = Bucket::new();
    let spec = small_spec("e2e");
    let outcome = drive_with(b.store.as_ref(), &local_pool(b.store.clone(), None), &spec).await;
    outcome.check().unwrap();
    assert_eq!(outcome.stocks_done, [SYM]);
    assert_eq!(outcome.stages.len(), RUN_STAGES.len());

    let keys: Vec<String> = b
        .store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .filter(|k| !k.starts_with("raw/"))
        .collect();
    assert_eq!(keys, promised_keys(&spec), "objects of the run");

    let s = sym();
    let run = RunId::new("e2e").unwrap();
    let scores = table(b.store.as_ref(), &layout::pred_mses_key(&run, &s)).await;
    assert_eq!(scores.height(), 4);
    assert_eq!(u32s(&scores, "groves_found"), [2, 2, 2, 2]);
    assert!(strs(&scores, "missing").iter().all(String::is_empty));
    let test = table(b.store.as_ref(), &layout::test_mse_key(&run, &s)).await;
    let (t, n) = (vals(&test, "test_mse")[0], vals(&test, "naive_mse")[0]);
    assert!(t > 0.0 && n > 0.0);
    assert!(close(vals(&test, "skill_ratio")[0], t / n));
    let costs = table(b.store.as_ref(), &layout::timing_metrics_key(&run, "costs")).await;
    let stages = strs(&costs, "stage");
    let inv = u32s(&costs, "invocations");
    let count = |st: &str| inv[stages.iter().position(|x| x == st).unwrap()];
    assert_eq!(count("param-preds"), 8);
    assert_eq!(count("train-full"), 3);
    // The timing-metrics unit gathers the others' records, not its own (written after).
    assert_eq!(count("run"), 1 + 8 + 1 + 1 + 3 + 1);
    assert!(vals(&costs, "gb_s").iter().all(|g| *g >= 0.0));
    // Every stage's units made store requests, counted in their timing records; the run's row
    // is their sum, priced at S3's.
    let req: Vec<i64> = costs
        .column("s3_requests")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert!(req.iter().all(|n| *n > 0), "{req:?}");
    let run_row = stages.iter().position(|x| x == "run").unwrap();
    let stage_sum: i64 = (0..req.len())
        .filter(|&i| i != run_row)
        .map(|i| req[i])
        .sum();
    assert_eq!(req[run_row], stage_sum);
    assert!(vals(&costs, "s3_cost_usd")[run_row] > 0.0);
    let records = groves_stages::timing_metrics::read_timings(b.store.as_ref(), &run)
        .await
        .unwrap();
    assert!(records.iter().all(|r| r.s3.is_some_and(|q| q.put > 0)));
    let views = table(b.store.as_ref(), &layout::timing_metrics_key(&run, "views")).await;
    let v: Vec<String> = strs(&views, "view");
    let st: Vec<String> = strs(&views, "stage");
    let total = vals(&views, "total_s");
    let get = |stage: &str, view: &str| {
        total[(0..v.len())
            .find(|&i| st[i] == stage && v[i] == view)
            .unwrap()]
    };
    for stage in ["param-preds", "train-full"] {
        assert!(
            get(stage, "parallel") <= get(stage, "sequential"),
            "{stage}"
        );
    }

    // A second drive of the same run finds everything done and changes nothing.
    let before = snapshot(b.store.as_ref(), &[]).await;
    let again = drive_with(b.store.as_ref(), &local_pool(b.store.clone(), None), &spec).await;
    again.check().unwrap();
    assert_same(
        &snapshot(b.store.as_ref(), &[]).await,
        &before,
        "second drive",
    );

    // The report reads the gathered timings once the run is through timing-metrics: two GETs
    // instead of one per unit, and the same records.
    async fn report_gets(
        store: Arc<dyn groves_store::Store>,
        run: &RunId,
    ) -> (u64, Vec<groves_core::timing::TimingRecord>) {
        let counted = groves_store::CountingStore::new(store);
        let r = groves_report::load(&counted, run).await.unwrap();
        let mut records = r.invocations.clone();
        records.sort_by(|a, b| (&a.stage, &a.unit).cmp(&(&b.stage, &b.unit)));
        (counted.counts().get, records)
    }
    let (gathered, with_table) = report_gets(b.store.clone(), &run).await;
    let units = b
        .store
        .list(&layout::timings_prefix(&run))
        .await
        .unwrap()
        .len() as u64;
    b.store
        .delete(&layout::timing_metrics_key(&run, "units"))
        .await
        .unwrap();
    let (one_by_one, without) = report_gets(b.store.clone(), &run).await;
    assert_eq!(with_table, without);
    // Without the table: a GET per unit, plus the failed GET of the table.
    assert_eq!(
        one_by_one - gathered,
        units + 1 - 2,
        "{one_by_one} vs {gathered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn averages_and_mses_equal_an_independent_computation_level() {
    independent_computation(Target::Level, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn averages_and_mses_equal_an_independent_computation_change_3_minutes_ahead() {
    independent_computation(Target::Change, 3).await;
}

/// The run's tables against a computation from the stored splits and groves that shares no
/// code with the stages: for `change`, the differences and the level are worked out here.
async fn independent_computation(target: Target, horizon: u32) {
    let b = Bucket::new();
    let spec = RunSpec {
        target: Some(target),
        horizon,
        ..small_spec("check")
    };
    let store = b.store.as_ref();
    drive_with(store, &local_pool(b.store.clone(), None), &spec)
        .await
        .check()
        .unwrap();
    let (run, s) = (spec.run.clone().unwrap(), sym());

    // Validation: average each setting's stored groves, score against the stored split.
    let val = table(store, &layout::features_key(&run, Split::Validation, &s)).await;
    let y = vals(&val, TARGET);
    let scores = table(store, &layout::pred_mses_key(&run, &s)).await;
    let (feat, samp, got) = (
        u32s(&scores, "feat"),
        u32s(&scores, "samp"),
        vals(&scores, "mse"),
    );
    let mut best = (f64::INFINITY, 0, 0);
    for i in 0..scores.height() {
        let setting = Setting {
            feat: feat[i],
            samp: samp[i],
        };
        let mut avg = vec![0.0; y.len()];
        for g in 0..spec.groves {
            let p = table(store, &layout::val_preds_key(&run, &s, setting, g)).await;
            assert_eq!(u32s(&p, "row"), u32s(&val, "row"));
            for (a, v) in avg.iter_mut().zip(vals(&p, "pred")) {
                *a += v / spec.groves as f64;
            }
        }
        let want = mse(&avg, &y);
        assert!(close(got[i], want), "{setting}: {} vs {want}", got[i]);
        if want < best.0 {
            best = (want, setting.feat, setting.samp);
        }
    }
    let chosen = table(store, &layout::min_mse_key(&run, &s)).await;
    assert_eq!(
        (u32s(&chosen, "feat")[0], u32s(&chosen, "samp")[0]),
        (best.1, best.2)
    );

    // Test: the stored models reproduce the stored predictions; their average is the forecast.
    let test = table(store, &layout::features_key(&run, Split::Test, &s)).await;
    let now = vals(&test, TYPPRICE);
    let x = match target {
        Target::Level => {
            let names = features::feature_names();
            let cols = names.iter().map(|n| vals(&test, n)).collect();
            Matrix::from_columns(names, cols).unwrap()
        }
        Target::Change => {
            let names = (1..=10).map(|k| format!("TYPPRICE_DIFF_{k}")).collect();
            let cols = (1..=10)
                .map(|k| {
                    let lag = vals(&test, &format!("TYPPRICE_LAG_{k}"));
                    now.iter().zip(lag).map(|(n, l)| n - l).collect()
                })
                .collect();
            Matrix::from_columns(names, cols).unwrap()
        }
    };
    let y = vals(&test, TARGET);
    // The target is `horizon` minutes on: the split's rows are consecutive minutes here.
    let rows = u32s(&test, "row");
    let h = horizon as usize;
    for i in 0..rows.len().saturating_sub(h) {
        if rows[i + h] == rows[i] + horizon {
            assert_eq!(y[i], now[i + h], "row {}", rows[i]);
        }
    }
    let mut avg = vec![0.0; y.len()];
    for g in 0..spec.final_groves {
        let model =
            Forest::from_bytes(&store.get(&layout::model_key(&run, &s, g)).await.unwrap()).unwrap();
        assert_eq!(model.n_trees(), spec.final_trees as usize);
        assert_eq!(
            (
                model.params().max_features,
                model.params().min_samples_split
            ),
            (best.1 as usize, best.2 as usize)
        );
        let stored = vals(
            &table(store, &layout::test_preds_key(&run, &s, g)).await,
            "pred",
        );
        let mut predicted = model.predict(&x).unwrap();
        if target == Target::Change {
            for (p, n) in predicted.iter_mut().zip(&now) {
                *p += n;
            }
        }
        assert_eq!(predicted, stored, "final grove {g}");
        for (a, v) in avg.iter_mut().zip(stored) {
            *a += v;
        }
    }
    for a in &mut avg {
        *a /= spec.final_groves as f64;
    }
    let forecast = table(store, &layout::test_forecast_key(&run, &s)).await;
    for (a, b) in vals(&forecast, "predicted").iter().zip(&avg) {
        assert!(close(*a, *b));
    }
    let result = table(store, &layout::test_mse_key(&run, &s)).await;
    assert!(close(vals(&result, "test_mse")[0], mse(&avg, &y)));
    assert!(close(
        vals(&result, "naive_mse")[0],
        mse(&vals(&test, TYPPRICE), &y)
    ));
    assert!(close(vals(&result, "validation_mse")[0], best.0));
    for t in [&result, &scores, &chosen] {
        let col = t.column("target").unwrap();
        assert_eq!(col.str().unwrap().get(0), Some(target.as_str()));
        assert_eq!(u32s(t, "horizon")[0], horizon);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unit_run_again_leaves_the_same_bytes() {
    let b = Bucket::new();
    let spec = small_spec("twice");
    let store = b.store.as_ref();
    drive_with(store, &local_pool(b.store.clone(), None), &spec)
        .await
        .check()
        .unwrap();
    // Timing records and the parent's logs describe an attempt; everything else is a result.
    let skip = ["timings/", "runs/run=twice/stages/"];
    let before = snapshot(store, &skip).await;
    let ctx = UnitContext {
        buckets: Arc::new(OneStore(b.store.clone())),
        threads: 2, // a different thread count must not change a single byte
    };
    let rerun = |stage: Stage| {
        let ctx = &ctx;
        let spec = &spec;
        async move {
            for (_, event) in stage_units(stage, spec, &[sym()], "groves-data").unwrap() {
                let ev = parse_event(stage, &serde_json::to_vec(&event).unwrap()).unwrap();
                // The stage function itself, bypassing the skip of finished units.
                run_stage(ctx, store, &ev).await.unwrap();
                // And as a redelivered event: skipped, nothing written.
                let r = run_unit(ctx, &ev).await.unwrap();
                assert_eq!(r["skipped"], "already done", "{stage}");
            }
        }
    };
    // The timing tables first, while the other units' timing records are those of the run.
    rerun(Stage::TimingMetrics).await;
    assert_same(
        &snapshot(store, &skip).await,
        &before,
        "timing-metrics run again",
    );
    // The others rewrite their timing records, so the timing tables would change from here.
    let skip = ["timings/", "runs/run=twice/stages/", "timing_metrics/"];
    let before = snapshot(store, &skip).await;
    for &stage in RUN_STAGES {
        if stage != Stage::TimingMetrics {
            rerun(stage).await;
        }
    }
    assert_same(&snapshot(store, &skip).await, &before, "units run again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grove_that_fails_once_is_retried() {
    let b = Bucket::new();
    let spec = small_spec("retry");
    let unit = format!("{SYM}.f5_s5_g1");
    let faults = format!("param-preds:{unit}:1,train-full:{SYM}.final_g0:1");
    let out = drive_with(
        b.store.as_ref(),
        &local_pool(b.store.clone(), Some(&faults)),
        &spec,
    )
    .await;
    out.check().unwrap();
    let log = |stage: Stage| {
        out.stages
            .iter()
            .find(|l| l.stage == stage)
            .unwrap()
            .clone()
    };
    assert_eq!(log(Stage::ParamPreds).retried.get(&unit), Some(&2));
    assert_eq!(log(Stage::ParamPreds).invocations, 9);
    assert_eq!(
        log(Stage::TrainFull)
            .retried
            .get(&format!("{SYM}.final_g0")),
        Some(&2)
    );
    // The retried run's results equal a run without failures.
    let clean = Bucket::new();
    drive_with(
        clean.store.as_ref(),
        &local_pool(clean.store.clone(), None),
        &small_spec("retry"),
    )
    .await
    .check()
    .unwrap();
    let results = [
        "val_preds/",
        "pred_mses/",
        "min_mse/",
        "test_mse/",
        "test_preds/",
    ];
    let pick = |m| only(m, &results);
    let a = pick(snapshot(b.store.as_ref(), &[]).await);
    assert_eq!(a.len(), 8 + 1 + 1 + 1 + 3);
    assert_same(
        &a,
        &pick(snapshot(clean.store.as_ref(), &[]).await),
        "retried vs clean",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grove_that_keeps_failing_is_reported_missing_and_fails_the_run() {
    let b = Bucket::new();
    let spec = small_spec("broken");
    let unit = format!("{SYM}.f5_s5_g1");
    let out = drive_with(
        b.store.as_ref(),
        &local_pool(b.store.clone(), Some(&format!("param-preds:{unit}"))),
        &spec,
    )
    .await;
    let err = out.check().unwrap_err().to_string();
    assert!(
        err.contains(SYM) && err.contains(&unit) && err.contains("injected failure"),
        "{err}"
    );
    assert!(err.contains("allow_missing"), "{err}");
    let pm = out
        .stages
        .iter()
        .find(|l| l.stage == Stage::ParamPreds)
        .unwrap();
    assert_eq!(pm.failed.len(), 1);
    assert_eq!(pm.failed[0].attempts, spec.max_attempts);

    let (run, s) = (spec.run.clone().unwrap(), sym());
    let scores = table(b.store.as_ref(), &layout::pred_mses_key(&run, &s)).await;
    let i = (0..4)
        .find(|&i| u32s(&scores, "feat")[i] == 5 && u32s(&scores, "samp")[i] == 5)
        .unwrap();
    assert_eq!(u32s(&scores, "groves_found")[i], 1);
    assert_eq!(strs(&scores, "missing")[i], "g1");
    assert_eq!(
        f64s(&scores, "mse")[i],
        None,
        "an MSE built on fewer groves"
    );
    // The stock went no further; the timing tables still exist.
    assert!(b
        .store
        .head(&layout::min_mse_key(&run, &s))
        .await
        .unwrap()
        .is_none());
    assert!(b
        .store
        .head(&layout::timing_metrics_key(&run, "costs"))
        .await
        .unwrap()
        .is_some());

    // Allowed explicitly, the same failure gives an MSE on the groves that exist, and says so.
    let b2 = Bucket::new();
    let mut lenient = small_spec("lenient");
    lenient.allow_missing = true;
    let out = drive_with(
        b2.store.as_ref(),
        &local_pool(b2.store.clone(), Some(&format!("param-preds:{unit}"))),
        &lenient,
    )
    .await;
    out.check().unwrap();
    assert!(out.accepted_missing[SYM][0].contains(&unit));
    let run = lenient.run.clone().unwrap();
    let scores = table(b2.store.as_ref(), &layout::pred_mses_key(&run, &s)).await;
    assert_eq!(u32s(&scores, "groves_found")[i], 1);
    assert!(f64s(&scores, "mse")[i].is_some());
}

/// Passes every invocation on, except the first of each unit named, which it drops silently
/// (as a lost event would be): the parent must notice the silence and invoke again.
struct LosesFirst {
    inner: LocalPool,
    lose: Vec<String>,
    lost: Mutex<Vec<String>>,
}

#[async_trait]
impl Invoker for LosesFirst {
    fn describe(&self) -> String {
        "lossy".into()
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
    fn units_outlive_parent(&self) -> bool {
        false
    }
    async fn invoke(&self, stage: Stage, unit: &str, event: Value) -> Result<(), InvokeError> {
        let lose_this = {
            let mut lost = self.lost.lock().unwrap();
            let first = self.lose.iter().any(|u| u == unit) && !lost.iter().any(|u| u == unit);
            if first {
                lost.push(unit.to_string());
            }
            first
        };
        if lose_this {
            return Ok(());
        }
        self.inner.invoke(stage, unit, event).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_that_never_reports_is_invoked_again_after_its_deadline() {
    let b = Bucket::new();
    let mut spec = small_spec("silent");
    spec.unit_timeout_s = 1;
    let unit = format!("{SYM}.f9_s25_g0");
    let invoker = LosesFirst {
        inner: local_pool(b.store.clone(), None),
        lose: vec![unit.clone(), SYM.to_string()],
        lost: Mutex::default(),
    };
    let out = drive_with(b.store.as_ref(), &invoker, &spec).await;
    out.check().unwrap();
    let pm = out
        .stages
        .iter()
        .find(|l| l.stage == Stage::ParamPreds)
        .unwrap();
    assert_eq!(pm.retried.get(&unit), Some(&2));
    // The lost processing event (unit SYM) was re-sent too.
    let pr = out
        .stages
        .iter()
        .find(|l| l.stage == Stage::Processing)
        .unwrap();
    assert_eq!(pr.retried.get(SYM), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_parent_resumes_and_fan_out_skips_finished_units() {
    let b = Bucket::new();
    let spec = small_spec("pause");
    let store = b.store.as_ref();
    let invoker = local_pool(b.store.clone(), None);
    // Stop at once: the first stage is handed over, then the parent pauses.
    let opts = DriveOptions {
        stop_at: Some(tokio::time::Instant::now()),
        ..fast()
    };
    let r = drive_run(store, &invoker, &spec, "groves-data", &opts, &Quiet)
        .await
        .unwrap();
    let DriveOutcome::Paused {
        stage,
        spec: resolved,
    } = r
    else {
        panic!("not paused: {r:?}")
    };
    assert_eq!(stage, Stage::Processing);
    // The resolved run a new parent goes on with: same id, the stocks filled in.
    assert_eq!(resolved.run, spec.run);
    assert_eq!(resolved.stocks, [sym()]);
    invoker.wait_idle().await;

    // The original one-stage parent: param-preds units from the manifest, all invoked once.
    let fan = FanOutEvent {
        stage: Stage::ParamPreds,
        bucket: None,
        run: spec.run.clone().unwrap(),
    };
    let rep = fan_out(store, &invoker, &fan, "groves-data").await.unwrap();
    assert_eq!((rep.units, rep.invoked, rep.already_done), (8, 8, 0));
    invoker.wait_idle().await;
    let rep = fan_out(store, &invoker, &fan, "groves-data").await.unwrap();
    assert_eq!((rep.units, rep.invoked, rep.already_done), (8, 0, 8));

    // Driving again finishes the run without invoking the finished units.
    let out = drive_with(store, &invoker, &spec).await;
    out.check().unwrap();
    let pm = out
        .stages
        .iter()
        .find(|l| l.stage == Stage::ParamPreds)
        .unwrap();
    assert_eq!(pm.done_before, 8);
    assert_eq!(pm.invocations, 0);

    // The same run id with other parameters is refused, naming the run.
    let mut other = spec.clone();
    other.trees = 9;
    let err = drive_run(store, &invoker, &other, "groves-data", &fast(), &Quiet)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("run pause already exists"), "{err}");
}

#[cfg(feature = "external-tools")] // a moto server
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_search_on_s3_equals_the_local_run() {
    let moto = MotoServer::start();
    let s3: Arc<dyn Store> = Arc::new(moto.create_bucket("search-bucket").await);
    let local = Bucket::new();
    let raw_key = layout::raw_key(&sym());
    s3.put_file(&raw_key, &local.root.join(&raw_key))
        .await
        .unwrap();
    let spec = small_spec("s3run");
    drive_with(s3.as_ref(), &local_pool(s3.clone(), None), &spec)
        .await
        .check()
        .unwrap();
    drive_with(
        local.store.as_ref(),
        &local_pool(local.store.clone(), None),
        &spec,
    )
    .await
    .check()
    .unwrap();
    let pick = |m| only(m, &groves_tests::RESULT_PREFIXES);
    let a = pick(snapshot(s3.as_ref(), &[]).await);
    let b = pick(snapshot(local.store.as_ref(), &[]).await);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert_same(&a, &b, "S3 vs local");
}
