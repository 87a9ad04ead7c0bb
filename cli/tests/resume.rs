//! Kill `groves run` in the middle of the grove search, start it again: it finishes without
//! redoing the groves that were done, and its results equal those of an uninterrupted run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// 2 × 2 settings × 3 groves of 150 trees on 20 trading days: long enough to be caught midway.
const ARGS: [&str; 14] = [
    "run",
    "--days",
    "20",
    "--stocks",
    "KILLME",
    "--grid",
    "5,9x5,25",
    "--groves",
    "3",
    "--trees",
    "150",
    "--final-groves",
    "2",
    "--final-trees",
];

fn cmd(store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_groves"));
    c.arg("--store").arg(store).args(ARGS).arg("10");
    c
}

/// Every file under `dir`, by its path relative to `dir`.
fn paths(dir: &Path) -> BTreeMap<String, std::path::PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let key = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(key, p);
            }
        }
    }
    out
}

/// Every file under `dir` with its bytes and modification time. A file that vanishes between
/// the listing and the read (a running process's temporary file, renamed into place) is left
/// out.
fn files(dir: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut out = BTreeMap::new();
    for (key, p) in paths(dir) {
        let mtime = match std::fs::metadata(&p).and_then(|m| m.modified()) {
            Ok(t) => t,
            Err(e) if gone(&e) => continue,
            Err(e) => panic!("{}: {e}", p.display()),
        };
        match std::fs::read(&p) {
            Ok(bytes) => out.insert(key, (bytes, mtime)),
            Err(e) if gone(&e) => continue,
            Err(e) => panic!("{}: {e}", p.display()),
        };
    }
    out
}

fn done_groves(store: &Path) -> Vec<String> {
    // Names only: this runs while the search writes.
    paths(store)
        .into_keys()
        .filter(|k| k.contains("stage=param-preds/") && k.ends_with(".done"))
        .collect()
}

#[test]
fn a_killed_run_resumes_without_redoing_finished_groves() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bucket");
    // Generate first, so the kill lands in the search, not in the generator.
    let o = Command::new(env!("CARGO_BIN_EXE_groves"))
        .arg("--store")
        .arg(&store)
        .args(["gen", "--symbols", "KILLME", "--days", "20"])
        .output()
        .unwrap();
    assert!(o.status.success());

    let mut child = cmd(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if done_groves(&store).len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no grove finished in 120 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended too soon"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished = done_groves(&store);
    assert!(
        finished.len() < 12,
        "all 12 groves finished before the kill: make the groves bigger"
    );
    let before = files(&store);

    let o = cmd(&store).output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{out}");
    let after = files(&store);
    // A finished grove's predictions and timing record are untouched: it was not run again.
    for done in &finished {
        let unit = done
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".done")
            .to_string();
        let setting_grove = unit.split_once('.').unwrap().1;
        let related: Vec<&String> = before
            .keys()
            .filter(|k| {
                k.ends_with(&format!("{unit}.parquet"))
                    || k.ends_with(&format!("stock=KILLME/{setting_grove}.parquet"))
            })
            .collect();
        assert_eq!(related.len(), 2, "{unit}: {related:?}");
        for k in related {
            assert_eq!(before[k], after[k], "{k} was rewritten");
        }
    }

    // The same command on a second bucket, never interrupted, gives the same results.
    let clean = dir.path().join("clean");
    let o = Command::new(env!("CARGO_BIN_EXE_groves"))
        .arg("--store")
        .arg(&clean)
        .args(["gen", "--symbols", "KILLME", "--days", "20"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(cmd(&clean).output().unwrap().status.success());
    let results = |m: &BTreeMap<String, (Vec<u8>, std::time::SystemTime)>| {
        m.iter()
            .filter(|(k, _)| {
                [
                    "val_preds/",
                    "pred_mses/",
                    "min_mse/",
                    "test_preds/",
                    "models/",
                    "test_mse/",
                ]
                .iter()
                .any(|p| k.starts_with(p))
            })
            .map(|(k, (b, _))| (k.clone(), b.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let (a, b) = (results(&after), results(&files(&clean)));
    // Grove predictions, scores, winner, final groves and models, test result, and the
    // serving pointer under models/current/.
    assert_eq!(a.len(), 12 + 1 + 1 + 2 + 2 + 1 + 1);
    assert!(
        a == b,
        "the resumed run's results differ from an uninterrupted run's"
    );
}
