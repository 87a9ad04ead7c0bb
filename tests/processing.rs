//! The processing stage on generated files: features exact, splits right, quirks repaired and
//! counted, bad input refused with the file and row named and nothing written.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use groves_core::features::{lag_name, TARGET, TYPPRICE};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Split};
use groves_core::spec::{LagScope, SplitMethod};
use groves_stages::processing::{
    process_key, ProcessingError, ProcessingOptions, ProcessingReport,
};
use groves_store::{LocalStore, Store};
#[cfg(feature = "external-tools")]
use groves_tests::MotoServer;
use groves_tests::{gen_raw, read_typprice};
use polars_core::prelude::*;

const SYM: &str = "TESTSYM";
const DAYS: usize = 4;

struct Bucket {
    _dir: tempfile::TempDir,
    store: LocalStore,
}

impl Bucket {
    fn new() -> Bucket {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::create(&dir.path().join("bucket")).unwrap();
        Bucket { _dir: dir, store }
    }
    fn raw_dir(&self) -> PathBuf {
        let d = self.store.root().join("raw");
        std::fs::create_dir_all(&d).unwrap();
        d
    }
    fn gen(&self, legacy: bool) -> PathBuf {
        gen_raw(&self.raw_dir(), SYM, DAYS, 11, legacy)
    }
    /// Writes `text` as the raw file of SYM.
    fn write_raw(&self, text: &str) -> PathBuf {
        let p = self.raw_dir().join(datagen::layout::raw_file_name(SYM));
        std::fs::write(&p, text).unwrap();
        p
    }
    async fn process(&self, opts: &ProcessingOptions) -> Result<ProcessingReport, ProcessingError> {
        let sym = Symbol::new(SYM).unwrap();
        process_key(&self.store, &self.store, &layout::raw_key(&sym), &sym, opts).await
    }
    async fn split_bytes(&self, run: &str) -> Vec<Bytes> {
        let (run, sym) = (RunId::new(run).unwrap(), Symbol::new(SYM).unwrap());
        let mut out = Vec::new();
        for s in Split::ALL {
            out.push(
                self.store
                    .get(&layout::features_key(&run, s, &sym))
                    .await
                    .unwrap(),
            );
        }
        out
    }
    async fn split(&self, run: &str, split: Split) -> DataFrame {
        let key =
            layout::features_key(&RunId::new(run).unwrap(), split, &Symbol::new(SYM).unwrap());
        groves_data::table::from_parquet(&self.store.get(&key).await.unwrap()).unwrap()
    }
    async fn output_keys(&self) -> Vec<String> {
        self.store
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .filter(|k| !k.starts_with("raw/"))
            .collect()
    }
}

fn opts(run: &str, split: SplitMethod, seed: u64) -> ProcessingOptions {
    ProcessingOptions {
        run: RunId::new(run).unwrap(),
        split,
        seed,
        lags: LagScope::AcrossDays,
        ..ProcessingOptions::default()
    }
}

fn f64s(df: &DataFrame, col: &str) -> Vec<f64> {
    df.column(col)
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

fn rows(df: &DataFrame) -> Vec<u32> {
    df.column("row")
        .unwrap()
        .cast(&DataType::UInt32)
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_and_splits_of_a_generated_file() {
    let b = Bucket::new();
    let raw = b.gen(false);
    let prices: Vec<f64> = read_typprice(&raw)
        .into_iter()
        .map(|(_, p)| p.unwrap())
        .collect();
    let report = b
        .process(&opts("rnd", SplitMethod::Random, 7))
        .await
        .unwrap();

    assert_eq!(report.rows_read, (DAYS * 375) as u64);
    assert_eq!(report.rows_kept, report.rows_read - report.dropped.total());
    assert_eq!(report.dropped.warmup, 10);
    assert_eq!(report.dropped.no_next_row, 1);
    assert_eq!(
        report.rows_train + report.rows_validation + report.rows_test,
        report.rows_kept
    );
    assert_eq!(report.layout, "current");

    let mut all_rows = Vec::new();
    for split in Split::ALL {
        let df = b.split("rnd", split).await;
        let r = rows(&df);
        assert!(
            r.windows(2).all(|w| w[0] < w[1]),
            "{split} not in time order"
        );
        // Kept row r is raw row r + 10 (the first 10 rows have no full lag window).
        let typ = f64s(&df, TYPPRICE);
        for (i, &row) in r.iter().enumerate() {
            let raw_i = row as usize + 10;
            assert_eq!(typ[i], prices[raw_i]);
        }
        for k in 1..=10 {
            let lag = f64s(&df, &lag_name(k));
            for (i, &row) in r.iter().enumerate() {
                assert_eq!(lag[i], prices[row as usize + 10 - k], "lag {k} row {row}");
            }
        }
        let target = f64s(&df, TARGET);
        for (i, &row) in r.iter().enumerate() {
            assert_eq!(target[i], prices[row as usize + 11], "target row {row}");
        }
        all_rows.extend(r);
    }
    all_rows.sort_unstable();
    assert_eq!(
        all_rows,
        (0..report.rows_kept as u32).collect::<Vec<_>>(),
        "splits must be disjoint and cover"
    );

    // The random split is a function of the seed.
    let first = b.split_bytes("rnd").await;
    b.process(&opts("rnd2", SplitMethod::Random, 7))
        .await
        .unwrap();
    assert_eq!(first, b.split_bytes("rnd2").await);
    b.process(&opts("rnd3", SplitMethod::Random, 8))
        .await
        .unwrap();
    assert_ne!(first, b.split_bytes("rnd3").await);

    // The chronological split is ordered: all train before validation before test.
    b.process(&opts("chrono", SplitMethod::Chronological, 7))
        .await
        .unwrap();
    let (tr, va, te) = (
        rows(&b.split("chrono", Split::Train).await),
        rows(&b.split("chrono", Split::Validation).await),
        rows(&b.split("chrono", Split::Test).await),
    );
    assert!(tr.last() < va.first() && va.last() < te.first());
    let dates = b.split("chrono", Split::Test).await;
    let d = dates.column("date").unwrap().datetime().unwrap();
    let ms: Vec<i64> = d.physical().into_no_null_iter().collect();
    assert!(ms.windows(2).all(|w| w[0] < w[1]));

    // The processing and timing records exist.
    let keys = b.output_keys().await;
    assert!(keys.contains(&"processing_stats/run=chrono/stock=TESTSYM/part-0.parquet".to_string()));
    assert!(keys.contains(&"timings/run=chrono/stage=processing/TESTSYM.parquet".to_string()));
}

/// A chronological split's price columns are windows of one series, compressed once and shared
/// between columns (see shared/data/src/table/windows.rs): over files long enough for many shared
/// fragments, polars and DuckDB (another Snappy decoder) both read back the exact prices.
#[cfg(feature = "external-tools")] // DuckDB, from pip
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chronological_price_columns_read_back_exactly_in_polars_and_duckdb() {
    let b = Bucket::new();
    // 120 days: 45,000 rows, train over 28,000 (three 64 KB fragments a column).
    let raw = gen_raw(&b.raw_dir(), SYM, 120, 5, false);
    let prices: Vec<f64> = read_typprice(&raw)
        .into_iter()
        .map(|(_, p)| p.unwrap())
        .collect();
    b.process(&opts("chrono", SplitMethod::Chronological, 1))
        .await
        .unwrap();
    let names: Vec<String> = std::iter::once(TYPPRICE.to_string())
        .chain((1..=10).map(lag_name))
        .chain(std::iter::once(TARGET.to_string()))
        .collect();
    // Column j of kept row r is raw price r + 10 - k (k = j for the lags, 0 for TYPPRICE,
    // -1 for the target).
    let expected = |row: u32, j: usize| -> f64 {
        let shift: i64 = if j == 11 { -1 } else { j as i64 };
        prices[(i64::from(row) + 10 - shift) as usize]
    };
    let (run, sym) = (RunId::new("chrono").unwrap(), Symbol::new(SYM).unwrap());
    for split in Split::ALL {
        let df = b.split("chrono", split).await;
        let r = rows(&df);
        for (j, name) in names.iter().enumerate() {
            let got = f64s(&df, name);
            assert!(
                r.iter().zip(&got).all(|(&row, &v)| v == expected(row, j)),
                "{split} {name} (polars)"
            );
        }

        let path = b.store.root().join(layout::features_key(&run, split, &sym));
        let select = format!(
            "SELECT row, {} FROM read_parquet(?) ORDER BY row",
            names.join(", ")
        );
        let out = std::process::Command::new("python3")
            .args(["-c", "import duckdb, json, sys; print(json.dumps([[repr(v) for v in r] for r in duckdb.execute(sys.argv[1], [sys.argv[2]]).fetchall()]))"])
            .arg(&select)
            .arg(&path)
            .output()
            .expect("run python3 with duckdb (pip install duckdb)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // As text: serde_json's float parsing is not always exact to the last bit.
        let table: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
        let table: Vec<Vec<f64>> = table
            .iter()
            .map(|line| line.iter().map(|v| v.parse().unwrap()).collect())
            .collect();
        assert_eq!(table.len(), r.len(), "{split} rows (duckdb)");
        for (line, &row) in table.iter().zip(&r) {
            assert_eq!(line[0], f64::from(row));
            for (j, name) in names.iter().enumerate() {
                assert_eq!(
                    line[j + 1],
                    expected(row, j),
                    "{split} {name} row {row} (duckdb)"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_parts_are_india_wall_clock() {
    let b = Bucket::new();
    let raw = b.gen(false);
    b.process(&opts("cal", SplitMethod::Chronological, 1))
        .await
        .unwrap();
    let df = b.split("cal", Split::Train).await;
    let first_date = &read_typprice(&raw)[10].0; // kept row 0 is raw row 10
                                                 // e.g. "2015-02-02 09:25:00+05:30"
    let (h, m) = (&first_date[11..13], &first_date[14..16]);
    let get = |c: &str| df.column(c).unwrap().i8().unwrap().get(0).unwrap();
    assert_eq!(get("hour").to_string(), h.trim_start_matches('0'));
    assert_eq!(format!("{:02}", get("minute")), m);
    assert_eq!(format!("{:02}", get("day")), &first_date[8..10]);
    assert_eq!(format!("{:02}", get("month")), &first_date[5..7]);
    assert!(
        (0..5).contains(&get("day_of_week")),
        "trading days are weekdays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_dataset_layouts_give_identical_output() {
    let current = Bucket::new();
    current.gen(false);
    let legacy = Bucket::new();
    legacy.gen(true);
    let o = opts("x", SplitMethod::Random, 3);
    let rc = current.process(&o).await.unwrap();
    let rl = legacy.process(&o).await.unwrap();
    assert_eq!((rc.layout, rl.layout), ("current", "legacy"));
    assert_eq!(
        current.split_bytes("x").await,
        legacy.split_bytes("x").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_day_lags_drop_rows_that_cross_the_night() {
    let b = Bucket::new();
    b.gen(false);
    let mut o = opts("wd", SplitMethod::Chronological, 1);
    o.lags = LagScope::WithinDay;
    let r = b.process(&o).await.unwrap();
    // Per day 375 bars: the first 10 lack same-day lags, the last lacks a same-day target.
    assert_eq!(r.rows_kept, (DAYS * (375 - 11)) as u64);
    assert_eq!(r.rows_kept, r.rows_read - r.dropped.total());
    let df = b.split("wd", Split::Train).await;
    let mins: Vec<i8> = df
        .column("minute")
        .unwrap()
        .i8()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let hours: Vec<i8> = df
        .column("hour")
        .unwrap()
        .i8()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert!(hours
        .iter()
        .zip(&mins)
        .all(|(h, m)| (*h, *m) >= (9, 25) && (*h, *m) <= (15, 28)));
}

/// Lines of the generated file, to mangle.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn join(lines: &[String]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

fn set_field(line: &str, header: &str, column: &str, value: &str) -> String {
    let idx = header.split(',').position(|h| h == column).unwrap();
    let mut f: Vec<&str> = line.split(',').collect();
    f[idx] = value;
    f.join(",")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quirks_are_repaired_and_counted() {
    let b = Bucket::new();
    let raw = b.gen(false);
    let clean = lines(&raw);
    let o = opts("q", SplitMethod::Random, 5);
    let base = b.process(&o).await.unwrap();
    let base_bytes = b.split_bytes("q").await;

    // Rows out of order and an exact duplicate: same output as the clean file.
    let mut l = clean.clone();
    l.swap(50, 51);
    l.insert(101, l[100].clone());
    b.write_raw(&join(&l));
    let r = b.process(&o).await.unwrap();
    assert_eq!(r.rows_out_of_order, 1);
    assert_eq!(r.dropped.duplicate_timestamp, 1);
    assert_eq!(r.duplicates_conflicting, 0);
    assert_eq!(r.rows_kept, base.rows_kept);
    assert_eq!(b.split_bytes("q").await, base_bytes);

    // A duplicate timestamp with another price: the first is kept, the conflict counted.
    let mut l = clean.clone();
    let dup = set_field(&l[200], &l[0], "TYPPRICE", "1.5");
    l.insert(201, dup);
    b.write_raw(&join(&l));
    let r = b.process(&o).await.unwrap();
    assert_eq!(
        (r.dropped.duplicate_timestamp, r.duplicates_conflicting),
        (1, 1)
    );
    assert_eq!(b.split_bytes("q").await, base_bytes);

    // A truncated last line is dropped and reported.
    let mut text = join(&clean);
    text.truncate(text.len() - 200);
    b.write_raw(&text);
    let r = b.process(&o).await.unwrap();
    assert_eq!(r.dropped.truncated_last_line, 1);
    assert_eq!(r.rows_read, base.rows_read);
    assert_eq!(r.rows_kept, base.rows_kept - 1);

    // Windows line endings: the same output.
    let crlf = join(&clean).replace('\n', "\r\n");
    b.write_raw(&crlf);
    let r = b.process(&o).await.unwrap();
    assert_eq!(r.rows_read, base.rows_read);
    assert_eq!(b.split_bytes("q").await, base_bytes);

    // Quoted fields, one holding a comma: the fast scanner cannot read them, polars does, to
    // the same output.
    let mut l = clean.clone();
    for line in l.iter_mut().skip(1) {
        let date_end = line.find(',').unwrap();
        *line = format!("\"{}\"{}", &line[..date_end], &line[date_end..]);
    }
    l[100] = set_field(&l[100], &l[0], "volume", "\"1,234\"");
    b.write_raw(&join(&l));
    let r = b.process(&o).await.unwrap();
    assert_eq!(r.rows_read, base.rows_read);
    assert_eq!(b.split_bytes("q").await, base_bytes);

    // An empty TYPPRICE cell: its row, the 10 rows whose lags reach it and the row whose
    // target it is are dropped.
    let mut l = clean.clone();
    l[300] = set_field(&l[300], &l[0], "TYPPRICE", "");
    b.write_raw(&join(&l));
    let r = b.process(&o).await.unwrap();
    assert_eq!(r.dropped.missing_typprice, 1);
    assert_eq!(r.dropped.neighbour_missing, 11);
    assert_eq!(r.rows_kept, base.rows_kept - 12);
}

/// Writes `text` as the raw file, processes it, and returns the error message. Checks that
/// nothing was written.
async fn refused(text: &str) -> String {
    let b = Bucket::new();
    b.write_raw(text);
    let err = b
        .process(&opts("bad", SplitMethod::Random, 1))
        .await
        .expect_err("bad input was accepted")
        .to_string();
    assert!(
        err.contains(&datagen::layout::raw_file_name(SYM)),
        "error does not name the file: {err}"
    );
    assert!(
        b.output_keys().await.is_empty(),
        "partial output written for: {err}"
    );
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_file_row_and_column() {
    let src = Bucket::new();
    let clean = lines(&src.gen(false));
    let header = clean[0].clone();
    let with_header = |h: String| {
        let mut l = clean.clone();
        l[0] = h;
        join(&l)
    };

    let e = refused(&with_header(header.replace(",TYPPRICE,", ",TYPPRICEX,"))).await;
    assert!(e.contains("missing column `TYPPRICE`"), "{e}");
    let e = refused(&with_header(header.replacen("date,", "when,", 1))).await;
    assert!(e.contains("missing column `date`"), "{e}");
    let e = refused(&with_header(header.replace(",sma5,", ",sma_5,"))).await;
    assert!(
        e.contains("neither dataset version") && e.contains("sma5") && e.contains("sma_5"),
        "{e}"
    );
    let e = refused(&with_header(header.replace(",ema5,", ",sma5,"))).await;
    assert!(e.contains("more than once"), "{e}");

    let e = refused("").await;
    assert!(e.contains("empty"), "{e}");
    let e = refused(&format!("{header}\n")).await;
    assert!(e.contains("no data rows"), "{e}");

    let mut l = clean.clone();
    l[41] = set_field(&l[41], &header, "TYPPRICE", "12.3.4");
    let e = refused(&join(&l)).await;
    assert!(
        e.contains("row 42") && e.contains("`TYPPRICE`") && e.contains("12.3.4"),
        "{e}"
    );

    let mut l = clean.clone();
    l[9] = set_field(&l[9], &header, "date", "2015-13-01 09:24:00+05:30");
    let e = refused(&join(&l)).await;
    assert!(e.contains("row 10") && e.contains("`date`"), "{e}");

    let mut l = clean.clone();
    l[7] = set_field(&l[7], &header, "date", "2015-02-02 09:21:00");
    let e = refused(&join(&l)).await;
    assert!(e.contains("row 8") && e.contains("offset"), "{e}");

    let mut l = clean.clone();
    l[20].push_str(",1.0");
    let e = refused(&join(&l)).await;
    assert!(e.contains("row 21") && e.contains("61 fields"), "{e}");

    let mut l = clean.clone();
    let cut: Vec<&str> = l[15].split(',').take(30).collect();
    l[15] = cut.join(",");
    let e = refused(&join(&l)).await;
    assert!(e.contains("row 16") && e.contains("30 fields"), "{e}");

    let mut l = clean.clone();
    l[5] = set_field(&l[5], &header, "TYPPRICE", "-4");
    let e = refused(&join(&l)).await;
    assert!(e.contains("row 6") && e.contains("not positive"), "{e}");

    // Too short to split after warm-up.
    let e = refused(&join(&clean[..12])).await;
    assert!(e.contains("at least 3"), "{e}");
}

#[cfg(feature = "external-tools")] // a moto server
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_processing_matches_local() {
    let local = Bucket::new();
    let raw = local.gen(false);
    let o = opts("s3", SplitMethod::Random, 9);
    local.process(&o).await.unwrap();

    let moto = MotoServer::start();
    let s3 = moto.create_bucket("groves-proc").await;
    let sym = Symbol::new(SYM).unwrap();
    let key = layout::raw_key(&sym);
    s3.put_file(&key, &raw).await.unwrap();
    let report = process_key(&s3, &s3, &key, &sym, &o).await.unwrap();
    assert!(report.rows_kept > 0);
    for split in Split::ALL {
        let k = layout::features_key(&o.run, split, &sym);
        assert_eq!(
            s3.get(&k).await.unwrap(),
            local.store.get(&k).await.unwrap(),
            "{split}"
        );
    }
    assert!(s3
        .head(&layout::processing_stats_key(&o.run, &sym))
        .await
        .unwrap()
        .is_some());
    assert!(s3
        .head(&layout::timing_key(
            &o.run,
            "processing",
            &layout::Unit::Stock(Symbol::new(SYM).unwrap()),
        ))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_features_and_a_horizon_shape_the_table_and_a_missing_column_is_named() {
    let b = Bucket::new();
    b.gen(false);
    let mut o = opts("ex", SplitMethod::Chronological, 1);
    o.horizon = 5;
    o.features = vec!["RSI14".into(), "volume".into()];
    let r = b.process(&o).await.unwrap();
    assert_eq!(r.horizon, 5);
    assert_eq!(r.features, "RSI14,volume");
    // RSI14's first 14 cells are empty: the rows past the 10-row warm-up that lack it.
    assert_eq!(r.dropped.missing_feature, 4);
    assert_eq!(r.dropped.no_next_row, 5);
    let (run, sym) = (RunId::new("ex").unwrap(), Symbol::new(SYM).unwrap());
    let train = groves_data::table::from_parquet(
        &b.store
            .get(&layout::features_key(&run, Split::Train, &sym))
            .await
            .unwrap(),
    )
    .unwrap();
    let names: Vec<String> = train
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let at = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(at("TYPPRICE_LAG_10") < at("RSI14") && at("volume") < at("TYPPRICE_TARGET"));
    let (price, target) = (f64s(&train, "TYPPRICE"), f64s(&train, "TYPPRICE_TARGET"));
    assert_eq!(target[0], price[5], "the target is 5 minutes on");

    // The older layout has no MFI: the error names the column and the file.
    let legacy = Bucket::new();
    legacy.gen(true);
    o.features = vec!["MFI".into()];
    let e = legacy.process(&o).await.unwrap_err().to_string();
    assert!(
        e.contains("`MFI`") && e.contains("_minute_data_with_indicators.csv"),
        "{e}"
    );
}
