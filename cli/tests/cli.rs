//! The `groves` binary as a user runs it: exit codes, messages, no partial output, and the S3
//! path configured from the standard AWS environment against a real S3-compatible server.

use std::path::Path;
use std::process::{Command, Output};

#[cfg(feature = "external-tools")]
use groves_tests::MotoServer;

fn groves(store: &str, args: &[&str]) -> Output {
    groves_env(store, args, &[])
}

fn groves_env(store: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_groves"));
    cmd.arg("--store").arg(store).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run groves")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn help_is_there_for_every_command() {
    for sub in [
        "gen", "process", "invoke", "run", "report", "bench", "promote", "predict", "serve",
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_groves"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{sub} --help: {}", text(&o));
        assert!(text(&o).contains("Usage"), "{sub}");
    }
}

/// A reduced search: 1 setting, 1 grove of 4 trees, 1 final grove.
const SMALL: [&str; 12] = [
    "--grid",
    "5x5",
    "--groves",
    "1",
    "--trees",
    "4",
    "--final-groves",
    "1",
    "--final-trees",
    "4",
    "--run",
    "default",
];

#[test]
fn run_on_an_empty_store_generates_and_runs_the_whole_search() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bucket");
    let s = store.to_str().unwrap();
    let args: Vec<&str> = ["run", "--days", "2"].into_iter().chain(SMALL).collect();
    let o = groves(s, &args);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("generating sample data"), "{out}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    for want in ["RELIANCE", "TCS", "skill", "param-preds", "GB-s", "done"] {
        assert!(
            stdout.contains(want),
            "{want} not in the summary:\n{stdout}"
        );
    }
    let files = files_under(&store);
    for want in [
        "raw/RELIANCE_minute_data_with_indicators.csv",
        "features/run=default/split=test/stock=TCS/part-0.parquet",
        "processing_stats/run=default/stock=RELIANCE/part-0.parquet",
        "timings/run=default/stage=processing/TCS.parquet",
        "val_preds/run=default/stock=TCS/f5_s5_g0.parquet",
        "test_mse/run=default/stock=RELIANCE/part-0.parquet",
        "models/run=default/stock=TCS/g0.grove",
        "timing_metrics/costs/run=default/part-0.parquet",
    ] {
        assert!(
            files.iter().any(|f| f == want),
            "{want} missing from {files:?}"
        );
    }
    // A second run finds the raw files and the finished run: nothing generated, nothing redone.
    let o = groves(s, &["run"].into_iter().chain(SMALL).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("generating"));
    assert_eq!(files_under(&store), files, "a finished run was redone");

    // The report reads the same from the store; --json for machines.
    let o = groves(s, &["report"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        stdout,
        "report differs from the run's summary"
    );
    let o = groves(s, &["report", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stocks"].as_array().unwrap().len(), 2);
    assert_eq!(v["stocks"][0]["status"], "done");

    // The HTML report: written by the run into the store, and by `report --html` to a file,
    // the same bytes (rendering depends only on the store).
    let page = dir.path().join("report.html");
    let o = groves(s, &["report", "--html", page.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("report of run default written to"),
        "{}",
        text(&o)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html,
        std::fs::read_to_string(store.join("reports/run=default/index.html")).unwrap(),
        "report --html differs from the run's report in the store"
    );
    for stock in ["RELIANCE", "TCS"] {
        assert!(
            html.contains(&format!("<tr data-stock=\"{stock}\"")),
            "{stock}"
        );
        assert!(
            html.contains(&format!("data-heatmap=\"{stock}\"")),
            "{stock}"
        );
    }
    assert_eq!(
        html.matches("data-cell=\"").count(),
        2,
        "1 setting × 2 stocks"
    );
}

#[test]
fn a_bad_file_fails_with_its_name_and_row_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bucket");
    let s = store.to_str().unwrap();
    assert!(groves(s, &["gen", "--symbols", "BAD", "--days", "1"])
        .status
        .success());
    let raw = store.join("raw/BAD_minute_data_with_indicators.csv");
    let body = std::fs::read_to_string(&raw).unwrap();
    let mut lines: Vec<String> = body.lines().map(str::to_string).collect();
    let idx = lines[0].split(',').position(|h| h == "TYPPRICE").unwrap();
    let mut fields: Vec<String> = lines[30].split(',').map(str::to_string).collect();
    fields[idx] = "n/a".into();
    lines[30] = fields.join(",");
    std::fs::write(&raw, lines.join("\n") + "\n").unwrap();

    let o = groves(s, &["process", "BAD"]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("BAD_minute_data_with_indicators.csv") && out.contains("row 31"),
        "{out}"
    );
    let files = files_under(&store);
    assert_eq!(
        files,
        ["raw/BAD_minute_data_with_indicators.csv"],
        "partial output: {files:?}"
    );
}

#[test]
fn invoke_runs_processing_and_refuses_bad_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bucket");
    let s = store.to_str().unwrap();
    assert!(groves(s, &["gen", "--symbols", "RELIANCE", "--days", "1"])
        .status
        .success());
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let o = groves(
        s,
        &[
            "invoke",
            "processing",
            "--event",
            events.join("processing.json").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["stock"], "RELIANCE");
    assert_eq!(report["rows_read"], 375);

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"inbucket":"groves-data","outbucket":"groves-data"}"#,
    )
    .unwrap();
    let o = groves(
        s,
        &["invoke", "processing", "--event", bad.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("missing field `file`"), "{}", text(&o));

    let o = groves(
        s,
        &["invoke", "everything", "--event", bad.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown stage"), "{}", text(&o));

    std::fs::write(&bad, r#"{"bucket":"groves-data","stock":"RELIANCE","feat":"seven","samp":5,"n_estimators":10,"pred_num":0}"#).unwrap();
    let o = groves(
        s,
        &["invoke", "param-preds", "--event", bad.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("`feat`"), "{}", text(&o));
}

#[test]
fn gen_is_deterministic_and_legacy_differs_only_in_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for (store, extra) in [(&a, None), (&b, None), (&c, Some("--legacy"))] {
        let mut args = vec!["gen", "--symbols", "TCS", "--days", "2", "--seed", "5"];
        args.extend(extra);
        assert!(groves(store.to_str().unwrap(), &args).status.success());
    }
    let f = "raw/TCS_minute_data_with_indicators.csv";
    let (ba, bb, bc) = (
        std::fs::read(a.join(f)).unwrap(),
        std::fs::read(b.join(f)).unwrap(),
        std::fs::read(c.join(f)).unwrap(),
    );
    assert_eq!(ba, bb);
    assert_ne!(ba, bc);
    assert!(bc.starts_with(b"date,open,high,low,close,volume,"));
}

#[cfg(feature = "external-tools")] // a moto server
#[test]
fn s3_store_from_the_standard_environment() {
    let moto = MotoServer::start();
    let env = moto.env();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(moto.create_bucket("cli-bucket"));
    let args: Vec<&str> = ["run", "--days", "1", "--stocks", "INFY"]
        .into_iter()
        .chain(SMALL)
        .collect();
    let o = groves_env("s3://cli-bucket", &args, &env);
    assert!(o.status.success(), "{}", text(&o));
    let client = moto.client();
    let keys: Vec<String> = rt.block_on(async {
        client
            .list_objects_v2()
            .bucket("cli-bucket")
            .send()
            .await
            .unwrap()
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    });
    for want in [
        "raw/INFY_minute_data_with_indicators.csv",
        "features/run=default/split=train/stock=INFY/part-0.parquet",
        "processing_stats/run=default/stock=INFY/part-0.parquet",
        "test_mse/run=default/stock=INFY/part-0.parquet",
        "timing_metrics/views/run=default/part-0.parquet",
    ] {
        assert!(
            keys.iter().any(|k| k == want),
            "{want} missing from {keys:?}"
        );
    }
    assert!(
        keys.iter().any(|k| k == "reports/run=default/index.html"),
        "no report in the bucket: {keys:?}"
    );
    let page = tempfile::tempdir().unwrap();
    let file = page.path().join("r.html");
    let o = groves_env(
        "s3://cli-bucket",
        &["report", "--html", file.to_str().unwrap()],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.contains("<tr data-stock=\"INFY\""),
        "INFY not in the report"
    );

    // A missing bucket is a clear error naming it.
    let o = groves_env("s3://no-such-bucket", &["process"], &env);
    assert!(!o.status.success());
    assert!(text(&o).contains("s3://no-such-bucket"), "{}", text(&o));
}

/// A Parquet table of the store as (column → f64 values), read with polars.
fn parquet_f64s(path: &Path, columns: &[&str]) -> Vec<Vec<f64>> {
    use polars_core::prelude::DataType;
    use polars_io::prelude::{ParquetReader, SerReader};
    let df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    columns
        .iter()
        .map(|c| {
            let col = df.column(c).unwrap().cast(&DataType::Float64).unwrap();
            col.f64().unwrap().iter().map(Option::unwrap).collect()
        })
        .collect()
}

#[test]
fn predict_forecasts_a_series_or_named_rows_as_the_test_stage_did() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bucket");
    let s = store.to_str().unwrap();
    assert!(groves(s, &["gen", "--symbols", "TCS", "--days", "4"])
        .status
        .success());
    let small = [
        "--grid",
        "3x5",
        "--groves",
        "1",
        "--trees",
        "4",
        "--final-groves",
        "2",
        "--final-trees",
        "4",
        "--run",
        "p",
    ];
    let o = groves(s, &[&["run"][..], &small].concat());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("serving: TCS"), "{}", text(&o));

    let split = store.join("features/run=p/split=test/stock=TCS/part-0.parquet");
    let names: Vec<String> = std::iter::once("TYPPRICE".to_string())
        .chain((1..=10).map(|k| format!("TYPPRICE_LAG_{k}")))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let cols = parquet_f64s(&split, &refs);
    let stored = parquet_f64s(
        &store.join("test_forecast/run=p/stock=TCS/part-0.parquet"),
        &["predicted"],
    )
    .remove(0);

    // A series: TYPPRICE alone, in time order; rows from the 11th on get a forecast.
    let csv = dir.path().join("series.csv");
    let mut text_in = String::from("TYPPRICE\n");
    for p in &cols[0] {
        text_in.push_str(&format!("{p}\n"));
    }
    std::fs::write(&csv, text_in).unwrap();
    let o = groves(
        s,
        &[
            "predict",
            "--stock",
            "TCS",
            "--format",
            "json",
            csv.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), cols[0].len());
    assert!(rows[9]["forecast"].is_null());
    for i in 10..rows.len() {
        let got = rows[i]["forecast"].as_f64().unwrap();
        assert_eq!(got.to_bits(), stored[i].to_bits(), "row {i}");
        assert_eq!(rows[i]["naive"].as_f64(), Some(cols[0][i]));
    }

    // Named rows on standard input, CSV out.
    let mut named = format!("stock,{}\n", names.join(","));
    for i in 0..5 {
        let vals: Vec<String> = cols.iter().map(|c| c[i].to_string()).collect();
        named.push_str(&format!("TCS,{}\n", vals.join(",")));
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_groves"))
        .args(["--store", s, "predict"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(named.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "stock,date,TYPPRICE,forecast,naive,horizon");
    for i in 0..5 {
        let f: f64 = lines[i + 1].split(',').nth(3).unwrap().parse().unwrap();
        assert_eq!(f.to_bits(), stored[i].to_bits(), "named row {i}");
    }

    // Mistakes name the file and what is wrong.
    std::fs::write(&csv, "price\n1\n").unwrap();
    let o = groves(s, &["predict", "--stock", "TCS", csv.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no `TYPPRICE` column"), "{}", text(&o));
    std::fs::write(&csv, "TYPPRICE\n1\n").unwrap();
    let o = groves(s, &["predict", "--stock", "NOSUCH", csv.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown stock NOSUCH"), "{}", text(&o));
    let o = groves(s, &["predict", csv.to_str().unwrap()]);
    assert!(text(&o).contains("--stock"), "{}", text(&o));
}
