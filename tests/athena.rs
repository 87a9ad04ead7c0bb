//! The Athena DDL and queries under `athena/`, run in a real SQL engine (DuckDB, through
//! `athena/duckdb_check.py`) over the files a real run wrote: the declared columns must match the
//! files, and every shipped query must return what the stores hold.

use std::process::Command;
use std::sync::Arc;

use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::{RunSpec, SearchMethod};
use groves_data::table::from_parquet;
use groves_stages::min_mse::read_best;
use groves_store::{LocalStore, Store};
use groves_tests::{drive_locally, gen_raw, workspace_root};
use serde_json::Value;

const STOCKS: [&str; 2] = ["INFY", "TCS"];

async fn f64_cell(store: &dyn Store, key: &str, col: &str) -> f64 {
    let df = from_parquet(&store.get(key).await.unwrap()).unwrap();
    df.column(col).unwrap().f64().unwrap().get(0).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_athena_ddl_and_queries_run_in_duckdb_over_a_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket");
    let store: Arc<dyn Store> = Arc::new(LocalStore::create(&root).unwrap());
    std::fs::create_dir_all(root.join("raw")).unwrap();
    for (i, s) in STOCKS.iter().enumerate() {
        gen_raw(&root.join("raw"), s, 4, 20 + i as u64, false);
    }
    // One grove of INFY keeps failing and the run accepts it: the incomplete-settings query
    // has something to find.
    let spec = RunSpec {
        run: Some(RunId::new("athena").unwrap()),
        feat: vec![5, 9],
        samp: vec![5, 25],
        groves: 2,
        trees: 6,
        final_groves: 2,
        final_trees: 5,
        max_attempts: 2,
        allow_missing: true,
        ..RunSpec::default()
    };
    drive_locally(store.clone(), &spec, Some("param-preds:INFY.f9_s25_g1"))
        .await
        .check()
        .unwrap();

    // Live minutes of INFY replayed and scored: the live tables have rows (and compacted days).
    let live = replay_and_score(store.clone(), &root.join("raw"), "INFY").await;

    let result = duckdb_check(&root, "athena");
    let tables: Vec<&str> = result["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tables,
        [
            "features",
            "processing_stats",
            "timings",
            "val_preds",
            "pred_mses",
            "min_mse",
            "test_preds",
            "test_mse",
            "test_forecast",
            "timing_units",
            "timing_views",
            "timing_costs",
            "live_forecasts",
            "live_outcomes"
        ]
    );
    let rows = |q: &str| query_rows(&result, q);
    let run = RunId::new("athena").unwrap();

    // Best setting per stock, recomputed in SQL, equals what min-mse chose.
    let best = rows("best_setting_per_stock");
    assert_best_is_min_mse(store.as_ref(), &run, &best).await;

    // Test vs naive: the stored MSEs, best skill first.
    let tvn = rows("test_vs_naive");
    assert_eq!(tvn.len(), STOCKS.len());
    let skills: Vec<f64> = tvn.iter().map(|r| r[5].as_f64().unwrap()).collect();
    assert!(skills.windows(2).all(|w| w[0] >= w[1]), "{skills:?}");
    for r in &tvn {
        let s = Symbol::new(r[0].as_str().unwrap()).unwrap();
        let key = layout::test_mse_key(&run, &s);
        assert!(close(
            r[3].as_f64().unwrap(),
            f64_cell(store.as_ref(), &key, "test_mse").await
        ));
        assert!(close(
            r[4].as_f64().unwrap(),
            f64_cell(store.as_ref(), &key, "naive_mse").await
        ));
        assert_eq!(r[6].as_bool(), Some(r[3].as_f64() < r[4].as_f64()));
    }

    // Slowest groves: ten of the 16 search groves that ran (one failed), the slowest first,
    // equal to the timing records.
    let slow = rows("slowest_groves");
    assert_eq!(slow.len(), 10);
    let mut totals = Vec::new();
    for m in store.list(&layout::timings_prefix(&run)).await.unwrap() {
        if !m.key.contains("stage=param-preds/") {
            continue;
        }
        let df = from_parquet(&store.get(&m.key).await.unwrap()).unwrap();
        let v = |c: &str| df.column(c).unwrap().f64().unwrap().get(0).unwrap();
        totals.push(v("read_ms") + v("compute_ms") + v("write_ms"));
    }
    totals.sort_by(|a, b| b.total_cmp(a));
    assert!(close(slow[0][5].as_f64().unwrap(), totals[0]));
    assert!(close(slow[9][5].as_f64().unwrap(), totals[9]));

    // Cost per stage: every stage of the cost table, shares summing to one.
    let costs = rows("cost_per_stage");
    let table = from_parquet(
        &store
            .get(&layout::timing_metrics_key(&run, "costs"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(costs.len(), table.height());
    let share: f64 = costs.iter().map(|r| r[5].as_f64().unwrap()).sum();
    assert!(close(share, 1.0), "{share}");

    // Incomplete settings: exactly the one with the failing grove.
    let incomplete = rows("incomplete_settings");
    assert_eq!(incomplete.len(), 1, "{incomplete:?}");
    let r = &incomplete[0];
    assert_eq!(
        (r[0].as_str(), r[1].as_u64(), r[2].as_u64()),
        (Some("INFY"), Some(9), Some(25))
    );
    assert_eq!((r[3].as_u64(), r[4].as_u64()), (Some(1), Some(2)));
    assert_eq!(r[5], "g1");

    // Live skill per day: the realised outcomes, recomputed from the stored table.
    let per_day = rows("live_skill_per_day");
    assert!(per_day.len() >= 2, "{per_day:?}");
    let realised: u64 = per_day.iter().map(|r| r[2].as_u64().unwrap()).sum();
    assert_eq!(realised as usize, live.len());
    let first_day = per_day[0][1].as_str().unwrap().to_string();
    let (mut m, mut z, mut n) = (0.0, 0.0, 0.0);
    for (minute, e, ne) in &live {
        if groves_core::calendar::format_wall(*minute).starts_with(&first_day) {
            m += e * e;
            z += ne * ne;
            n += 1.0;
        }
    }
    assert_eq!(per_day[0][2].as_u64(), Some(n as u64));
    assert!(close(per_day[0][3].as_f64().unwrap(), m / n));
    assert!(close(per_day[0][5].as_f64().unwrap(), m / z));

    // The search round by round: a grid is one round of every setting.
    let grid_rounds = rows("search_rounds");
    assert_eq!(grid_rounds.len(), STOCKS.len());
    for r in &grid_rounds {
        assert_eq!((r[1].as_u64(), r[2].as_u64()), (Some(0), Some(4)), "{r:?}");
    }

    // A halving search of the same data: its rounds, and its winner from the last round.
    let halving = RunSpec {
        run: Some(RunId::new("athena-halving").unwrap()),
        search: SearchMethod::Halving,
        allow_missing: false,
        ..spec
    };
    drive_locally(store.clone(), &halving, None)
        .await
        .check()
        .unwrap();
    let result = duckdb_check(&root, "athena-halving");
    let rows = |q: &str| query_rows(&result, q);
    let rounds = rows("search_rounds");
    let shape: Vec<(String, u64, u64, u64)> = rounds
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_u64().unwrap(),
                r[2].as_u64().unwrap(),
                r[3].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64, u64, u64)> = STOCKS
        .iter()
        .flat_map(|s| [(s.to_string(), 0, 4, 1), (s.to_string(), 1, 2, 2)])
        .collect();
    assert_eq!(shape, want);
    let run = RunId::new("athena-halving").unwrap();
    let best = rows("best_setting_per_stock");
    assert_best_is_min_mse(store.as_ref(), &run, &best).await;
    // Every winner has both groves of the last round, round 1.
    for row in &best {
        assert_eq!(
            (row[4].as_u64(), row[5].as_u64()),
            (Some(2), Some(1)),
            "{row:?}"
        );
    }
}

/// `athena/duckdb_check.py` over the bucket folder for one run: its JSON.
fn duckdb_check(root: &std::path::Path, run: &str) -> Value {
    let out = Command::new("python3")
        .arg(workspace_root().join("athena/duckdb_check.py"))
        .arg("--bucket-dir")
        .arg(root)
        .args(["--run", run])
        .output()
        .expect("run python3 athena/duckdb_check.py (pip install duckdb pyarrow)");
    assert!(
        out.status.success(),
        "duckdb_check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Replays the newest 900 minutes of `stock` into `live/` and scores them; the realised
/// outcomes (minute, error, naive error) as the store holds them.
async fn replay_and_score(
    store: Arc<dyn Store>,
    raw_dir: &std::path::Path,
    stock: &str,
) -> Vec<(i64, f64, f64)> {
    let sym = Symbol::new(stock).unwrap();
    let path = raw_dir.join(groves_core::dataset::raw_file_name(stock));
    let opts = groves_live::LiveOptions {
        flush: true,
        ..Default::default()
    };
    groves_tests::replay_tail_scored(store.clone(), &path, &sym, 900, opts).await;
    let df = groves_live::tables::read_table(store.as_ref(), layout::LIVE_OUTCOMES_PREFIX, &sym)
        .await
        .unwrap()
        .unwrap();
    let minutes = groves_tests::ms_column(&df, "minute");
    let (e, ne) = (
        groves_tests::f64_column(&df, "error"),
        groves_tests::f64_column(&df, "naive_error"),
    );
    (0..minutes.len())
        .map(|i| (minutes[i], e[i], ne[i]))
        .collect()
}

/// One query's rows from `duckdb_check`'s JSON.
fn query_rows(result: &Value, q: &str) -> Vec<Vec<Value>> {
    serde_json::from_value(result["queries"][q]["rows"].clone())
        .unwrap_or_else(|e| panic!("query {q}: {e}"))
}

/// `best_setting_per_stock` names, for each stock in order, the setting, MSE and groves
/// min-mse chose.
async fn assert_best_is_min_mse(store: &dyn Store, run: &RunId, best: &[Vec<Value>]) {
    assert_eq!(best.len(), STOCKS.len());
    for (row, s) in best.iter().zip(STOCKS) {
        let chosen = read_best(store, run, &Symbol::new(s).unwrap())
            .await
            .unwrap();
        assert_eq!(row[0], s);
        assert_eq!(row[1].as_u64(), Some(u64::from(chosen.feat)), "{s}");
        assert_eq!(row[2].as_u64(), Some(u64::from(chosen.samp)), "{s}");
        assert!(close(row[3].as_f64().unwrap(), chosen.mse), "{s}");
        assert_eq!(row[4].as_u64(), Some(u64::from(chosen.groves)), "{s}");
    }
}
