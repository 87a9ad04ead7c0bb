//! The halving search through the parent: each round keeps the better part of the one before
//! (checked against an independent ranking of the round's table), the survivors' groves are the
//! grid's to the byte, the winner comes from the last round, the rounds are logged and
//! reported, and a parent paused in any round resumes to the same results.

use std::sync::Arc;

use groves_core::events::{parse_event, StockEvent};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Setting};
use groves_core::spec::{RunSpec, SearchMethod};
use groves_core::stage::Stage;
use groves_data::table::from_parquet;
use groves_orchestrator::parent::{drive_run, stage_units, DriveOptions, DriveOutcome, Quiet};
use groves_stages::dispatch::run_unit;
use groves_stages::{OneStore, UnitContext};
use groves_store::{LocalStore, Store};
use groves_tests::{
    assert_same, drive_with, fast_polling, gen_raw, local_pool, only, snapshot, str_column,
    u32_column,
};
use polars_core::prelude::*;

const SYM: &str = "HALF";

fn sym() -> Symbol {
    Symbol::new(SYM).unwrap()
}

/// 3 × 2 settings and 3 groves: rounds 6 × 1, 3 × 2, 2 × 3 (11 groves instead of 18).
fn spec(run: &str, search: SearchMethod) -> RunSpec {
    RunSpec {
        run: Some(RunId::new(run).unwrap()),
        feat: vec![3, 5, 9],
        samp: vec![5, 25],
        groves: 3,
        trees: 6,
        final_groves: 2,
        final_trees: 5,
        search,
        max_attempts: 2,
        ..RunSpec::default()
    }
}

fn bucket() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket");
    let store = LocalStore::create(&root).unwrap();
    let raw = root.join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    gen_raw(&raw, SYM, 4, 11, false);
    (dir, Arc::new(store))
}

/// One row of a pred-mses table, read independently of the stage's reader.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    setting: Setting,
    round: u32,
    mse: f64,
    found: u32,
    planned: u32,
}

async fn rows(store: &dyn Store, key: &str) -> Vec<Row> {
    let df = from_parquet(&store.get(key).await.unwrap()).unwrap();
    let u = |name: &str| -> Vec<u32> {
        let c = df.column(name).unwrap().cast(&DataType::UInt32).unwrap();
        c.u32().unwrap().into_no_null_iter().collect()
    };
    let (feat, samp, round, found, planned) = (
        u("feat"),
        u("samp"),
        u("round"),
        u("groves_found"),
        u("groves_planned"),
    );
    let mse: Vec<f64> = df
        .column("mse")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    (0..df.height())
        .map(|i| Row {
            setting: Setting {
                feat: feat[i],
                samp: samp[i],
            },
            round: round[i],
            mse: mse[i],
            found: found[i],
            planned: planned[i],
        })
        .collect()
}

/// The best `n` of a round, ranked here: lowest MSE, then fewer features, then smaller split.
fn best(rows: &[Row], n: usize) -> Vec<Setting> {
    let mut r: Vec<&Row> = rows.iter().collect();
    r.sort_by(|a, b| {
        a.mse
            .partial_cmp(&b.mse)
            .unwrap()
            .then(a.setting.feat.cmp(&b.setting.feat))
            .then(a.setting.samp.cmp(&b.setting.samp))
    });
    let mut out: Vec<Setting> = r.iter().take(n).map(|r| r.setting).collect();
    out.sort();
    out
}

async fn winner(store: &dyn Store, run: &RunId) -> (Setting, f64) {
    let df = from_parquet(&store.get(&layout::min_mse_key(run, &sym())).await.unwrap()).unwrap();
    let u = |name: &str| {
        df.column(name)
            .unwrap()
            .cast(&DataType::UInt32)
            .unwrap()
            .u32()
            .unwrap()
            .get(0)
            .unwrap()
    };
    let mse = df.column("mse").unwrap().f64().unwrap().get(0).unwrap();
    (
        Setting {
            feat: u("feat"),
            samp: u("samp"),
        },
        mse,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_round_keeps_the_better_part_and_the_winner_has_every_grove() {
    let (_dir, store) = bucket();
    let s = sym();
    let grid = spec("grid", SearchMethod::Grid);
    let halving = spec("halving", SearchMethod::Halving);
    let rounds: Vec<(usize, u32)> = halving
        .rounds()
        .iter()
        .map(|r| (r.settings, r.groves))
        .collect();
    assert_eq!(rounds, [(6, 1), (3, 2), (2, 3)]);
    drive_with(store.as_ref(), &local_pool(store.clone(), None), &grid)
        .await
        .check()
        .unwrap();
    let out = drive_with(store.as_ref(), &local_pool(store.clone(), None), &halving).await;
    out.check().unwrap();
    let (g_run, h_run) = (grid.run.clone().unwrap(), halving.run.clone().unwrap());

    // The parent's logs: each round's param-preds, then its pred-mses.
    let labels: Vec<(String, usize)> = out.stages.iter().map(|l| (l.label(), l.units)).collect();
    let want: Vec<(String, usize)> = [
        ("processing", 1),
        ("param-preds round 0", 6),
        ("pred-mses round 0", 1),
        ("param-preds round 1", 3),
        ("pred-mses round 1", 1),
        ("param-preds round 2", 2),
        ("pred-mses round 2", 1),
        ("min-mse", 1),
        ("train-full", 2),
        ("test-full", 1),
        ("timing-metrics", 1),
    ]
    .iter()
    .map(|(l, n)| (l.to_string(), *n))
    .collect();
    assert_eq!(labels, want);

    // Round by round: the settings are the best of the round before, ranked independently
    // here; every one has the round's groves.
    let mut tables: Vec<Vec<Row>> = Vec::new();
    for (r, &(n, groves)) in rounds.iter().enumerate() {
        let t = rows(
            store.as_ref(),
            &layout::pred_mses_round_key(&h_run, &s, r as u32),
        )
        .await;
        let mut settings: Vec<Setting> = t.iter().map(|x| x.setting).collect();
        settings.sort();
        let expected = match r {
            0 => {
                let mut all = grid.grid();
                all.sort();
                all
            }
            _ => best(&tables[r - 1], n),
        };
        assert_eq!(settings, expected, "round {r}");
        assert_eq!(t.len(), n, "round {r}");
        for x in &t {
            assert_eq!((x.round, x.found, x.planned), (r as u32, groves, groves));
        }
        tables.push(t);
    }
    // Trained: 6 + 3 + 2 groves, each the grid's grove of that setting, byte for byte (a
    // grove's seed does not depend on the run).
    let val = store
        .list(&format!("val_preds/run={h_run}/"))
        .await
        .unwrap();
    assert_eq!(val.len(), halving.search_groves() as usize);
    assert_eq!(halving.search_groves(), 11);
    for m in &val {
        let grid_key = m.key.replace("run=halving", "run=grid");
        assert_eq!(
            store.get(&m.key).await.unwrap(),
            store.get(&grid_key).await.unwrap(),
            "{}",
            m.key
        );
    }
    // So the last round's MSEs are the grid's for the same settings, to the bit.
    let grid_rows = rows(store.as_ref(), &layout::pred_mses_key(&g_run, &s)).await;
    for x in tables.last().unwrap() {
        let g = grid_rows.iter().find(|g| g.setting == x.setting).unwrap();
        assert_eq!(x.mse.to_bits(), g.mse.to_bits(), "{:?}", x.setting);
    }
    // The winner is the last round's best, and it is the grid's whenever the grid's winner
    // survives the rounds; then the final groves and the test score are the grid's too.
    let (h_best, h_mse) = winner(store.as_ref(), &h_run).await;
    let last = tables.last().unwrap();
    assert_eq!(vec![h_best], best(last, 1));
    assert_eq!(h_mse, best_mse(last));
    let (g_best, _) = winner(store.as_ref(), &g_run).await;
    // On this seeded data it did survive, so the comparison below runs.
    assert!(last.iter().any(|x| x.setting == g_best), "{g_best} out");
    assert_eq!(h_best, g_best);
    let test = |run: &RunId| layout::test_mse_key(run, &s);
    let (a, b) = (
        from_parquet(&store.get(&test(&h_run)).await.unwrap()).unwrap(),
        from_parquet(&store.get(&test(&g_run)).await.unwrap()).unwrap(),
    );
    assert!(a
        .column("test_mse")
        .unwrap()
        .equals(b.column("test_mse").unwrap()));

    // The cost table counts what ran: 11 search groves, a pred-mses per round.
    let costs = from_parquet(
        &store
            .get(&layout::timing_metrics_key(&h_run, "costs"))
            .await
            .unwrap(),
    )
    .unwrap();
    let stages = str_column(&costs, "stage");
    let inv = u32_column(&costs, "invocations");
    let count = |st: &str| inv[stages.iter().position(|x| x == st).unwrap()];
    assert_eq!((count("param-preds"), count("pred-mses")), (11, 3));
    // Every unit recorded the architecture it ran on, and was priced at it.
    let arch = str_column(&costs, "arch");
    assert!(arch.iter().all(|a| a == std::env::consts::ARCH), "{arch:?}");

    // The report shows the rounds: the stage log per round, each cell's last round.
    let html = String::from_utf8(
        store
            .get(&layout::report_key(&h_run))
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(html.contains("param-preds round 2"), "stage logs by round");
    assert!(html.contains("halving 6×1, 3×2, 2×3"), "the run's summary");
    for x in tables.iter().flatten() {
        let cell = format!("data-cell=\"{}\"", x.setting);
        let at = html.find(&cell).unwrap_or_else(|| panic!("{cell}"));
        let round = format!("data-round=\"{}\"", x.round);
        let last_round = tables
            .iter()
            .flatten()
            .filter(|y| y.setting == x.setting)
            .map(|y| y.round)
            .max()
            .unwrap();
        if x.round == last_round {
            assert!(html[at..at + 200].contains(&round), "{cell}: {round}");
        }
    }

    // Driving the finished run again invokes nothing and changes nothing.
    let before = snapshot(store.as_ref(), &[]).await;
    drive_with(store.as_ref(), &local_pool(store.clone(), None), &halving)
        .await
        .check()
        .unwrap();
    assert_same(
        &snapshot(store.as_ref(), &[]).await,
        &before,
        "second drive",
    );
}

fn best_mse(rows: &[Row]) -> f64 {
    rows.iter().map(|r| r.mse).fold(f64::INFINITY, f64::min)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_paused_in_every_round_resumes_to_the_same_results() {
    let (_clean_dir, clean) = bucket();
    let halving = spec("resume", SearchMethod::Halving);
    drive_with(clean.as_ref(), &local_pool(clean.clone(), None), &halving)
        .await
        .check()
        .unwrap();

    // A parent whose time is up at once: each drive hands over what it can, then pauses.
    let (_dir, store) = bucket();
    let invoker = local_pool(store.clone(), None);
    let opts = DriveOptions {
        stop_at: Some(tokio::time::Instant::now()),
        ..fast_polling()
    };
    let mut paused_in = Vec::new();
    loop {
        match drive_run(
            store.as_ref(),
            &invoker,
            &halving,
            "groves-data",
            &opts,
            &Quiet,
        )
        .await
        .unwrap()
        {
            DriveOutcome::Paused { stage, .. } => paused_in.push(stage),
            DriveOutcome::Finished(o) => {
                o.check().unwrap();
                break;
            }
        }
        invoker.wait_idle().await;
        assert!(paused_in.len() < 100, "no progress: {paused_in:?}");
    }
    // It paused in the rounds, not only before them.
    assert!(
        paused_in.contains(&Stage::PredMses) && paused_in.contains(&Stage::ParamPreds),
        "{paused_in:?}"
    );
    let results = [
        "val_preds/",
        "pred_mses/",
        "min_mse/",
        "test_mse/",
        "test_preds/",
        "models/run=",
    ];
    let pick = |m| only(m, &results);
    let a = pick(snapshot(store.as_ref(), &[]).await);
    assert_eq!(a.len(), 11 + 3 + 1 + 1 + 2 + 2);
    assert_same(
        &a,
        &pick(snapshot(clean.as_ref(), &[]).await),
        "paused vs clean",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_do_not_fit_the_search_are_refused_by_name() {
    let (_dir, store) = bucket();
    let halving = spec("refuse", SearchMethod::Halving);
    drive_with(store.as_ref(), &local_pool(store.clone(), None), &halving)
        .await
        .check()
        .unwrap();
    let run = halving.run.clone().unwrap();
    let ctx = UnitContext {
        buckets: Arc::new(OneStore(store.clone())),
        threads: 1,
    };
    let event = |round: Option<u32>| {
        serde_json::to_value(StockEvent {
            bucket: "groves-data".into(),
            stock: sym(),
            run: run.clone(),
            round,
            invoked_at: None,
        })
        .unwrap()
    };
    let err = |round| {
        let e = event(round);
        let ctx = &ctx;
        async move {
            run_unit(ctx, &pred_mses_event(&e))
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let e = err(None).await;
    assert!(
        e.contains("searches by halving") && e.contains("`round`"),
        "{e}"
    );
    let e = err(Some(3)).await;
    assert!(e.contains("rounds 0 to 2, not 3"), "{e}");
    // A round run again leaves the same bytes.
    let key = layout::pred_mses_round_key(&run, &sym(), 1);
    let before = store.get(&key).await.unwrap();
    store
        .delete(&layout::done_key(
            &run,
            "pred-mses",
            &groves_core::layout::Unit::StockRound {
                stock: sym(),
                round: 1,
            },
        ))
        .await
        .unwrap();
    run_unit(&ctx, &pred_mses_event(&event(Some(1))))
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap(), before);
    // The one-stage parent cannot plan a round.
    let e = stage_units(Stage::ParamPreds, &halving, &[sym()], "groves-data")
        .unwrap_err()
        .to_string();
    assert!(e.contains("searches by halving"), "{e}");
    // A grid run's pred-mses refuses a round.
    let grid = spec("refuse-grid", SearchMethod::Grid);
    drive_with(store.as_ref(), &local_pool(store.clone(), None), &grid)
        .await
        .check()
        .unwrap();
    let mut e = event(Some(0));
    e["run"] = "refuse-grid".into();
    let e = run_unit(&ctx, &pred_mses_event(&e))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("grid search"), "{e}");
}

fn pred_mses_event(v: &serde_json::Value) -> groves_core::events::StageEvent {
    parse_event(Stage::PredMses, &serde_json::to_vec(v).unwrap()).unwrap()
}
