//! Benchmark of the forest on CSV files of processed features (see scripts/bench_forest.sh).
//!
//! For each training size it runs a fresh child process of itself (so that the peak memory is
//! that size's own) and prints one `RESULT key=value ...` line, the format the scikit-learn
//! script prints too:
//!
//! ```text
//! forest-bench --train train.csv --validation validation.csv --rows 50000,200000,450000 \
//!     --trees 100 --max-features 7 --min-samples-split 15 --threads 2 --seed 1
//! ```
//!
//! The kernel version (`FOREST_KERNELS=avx512|avx2|neon|portable` forces one) is printed first
//! and is part of every `RESULT` line (`kernels=...`).

use forest::{kernels_in_use, Forest, ForestParams, Matrix};
use std::process::{Command, ExitCode};
use std::time::Instant;

const TARGET: &str = "TYPPRICE_TARGET";

fn feature_names() -> Vec<String> {
    std::iter::once("TYPPRICE".to_string())
        .chain((1..=10).map(|i| format!("TYPPRICE_LAG_{i}")))
        .collect()
}

struct Args {
    train: String,
    validation: String,
    rows: Vec<usize>,
    child_rows: Option<usize>,
    params: ForestParams,
}

fn usage() -> String {
    "usage: forest-bench --train FILE --validation FILE [--rows 50000,200000,450000] \
     [--trees 100] [--max-features 7] [--min-samples-split 15] [--min-samples-leaf 1] \
     [--threads 2] [--seed 1]"
        .to_string()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        train: String::new(),
        validation: String::new(),
        rows: vec![50_000, 200_000, 450_000],
        child_rows: None,
        params: ForestParams {
            n_estimators: 100,
            max_features: 7,
            min_samples_split: 15,
            seed: 1,
            n_threads: Some(2),
            ..ForestParams::default()
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))
        };
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--train" => args.train = value()?,
            "--validation" => args.validation = value()?,
            "--rows" => {
                args.rows = value()?
                    .split(',')
                    .map(|r| {
                        r.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("--rows: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--child-rows" => args.child_rows = Some(num(value()?)?),
            "--trees" => args.params.n_estimators = num(value()?)?,
            "--max-features" => args.params.max_features = num(value()?)?,
            "--min-samples-split" => args.params.min_samples_split = num(value()?)?,
            "--min-samples-leaf" => args.params.min_samples_leaf = num(value()?)?,
            "--threads" => args.params.n_threads = Some(num(value()?)?),
            "--seed" => args.params.seed = num(value()?)? as u64,
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other}\n{}", usage())),
        }
    }
    if args.train.is_empty() || args.validation.is_empty() {
        return Err(usage());
    }
    Ok(args)
}

/// Features and target of the first `limit` rows of a CSV, columns picked by header name.
fn read_csv(path: &str, limit: usize) -> Result<(Matrix, Vec<f64>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("{path}: empty file"))?
        .split(',')
        .map(str::trim)
        .collect();
    let names = feature_names();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("{path}: no column {name}"))
    };
    let feature_idx: Vec<usize> = names.iter().map(|n| find(n)).collect::<Result<_, _>>()?;
    let target_idx = find(TARGET)?;
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut y = Vec::new();
    let mut fields: Vec<f64> = Vec::with_capacity(header.len());
    for (i, line) in lines.take(limit).enumerate() {
        fields.clear();
        for field in line.split(',') {
            let v = field
                .trim()
                .parse::<f64>()
                .map_err(|e| format!("{path}: line {}: {e}", i + 2))?;
            fields.push(v);
        }
        if fields.len() != header.len() {
            return Err(format!(
                "{path}: line {} has {} fields",
                i + 2,
                fields.len()
            ));
        }
        for (col, &j) in columns.iter_mut().zip(&feature_idx) {
            col.push(fields[j]);
        }
        y.push(fields[target_idx]);
    }
    let x = Matrix::from_columns(names, columns).map_err(|e| format!("{path}: {e}"))?;
    Ok((x, y))
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the zero-initialised struct we pass.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn status_kb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN)
}

/// Resets the peak-RSS counter (VmHWM), so that the peak read after it is the fit's own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mse(pred: &[f64], y: &[f64]) -> f64 {
    pred.iter()
        .zip(y)
        .map(|(p, t)| (p - t) * (p - t))
        .sum::<f64>()
        / y.len() as f64
}

fn child(args: &Args, rows: usize) -> Result<(), String> {
    let kernels = kernels_in_use().map_err(|e| e.to_string())?;
    let (x, y) = read_csv(&args.train, rows)?;
    if x.n_rows() < rows {
        eprintln!(
            "warning: {} has only {} rows, {rows} requested",
            args.train,
            x.n_rows()
        );
    }
    let (vx, vy) = read_csv(&args.validation, usize::MAX)?;

    reset_peak();
    let rss_before = status_kb("VmRSS:");
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let forest = Forest::fit(&x, &y, &args.params).map_err(|e| e.to_string())?;
    let (fit_wall, fit_cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let fit_peak = status_kb("VmHWM:");

    let t0 = Instant::now();
    let pred = forest.predict(&vx).map_err(|e| e.to_string())?;
    let predict_s = t0.elapsed().as_secs_f64();

    let bytes = forest.to_bytes().map_err(|e| e.to_string())?;
    let loaded = Forest::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let roundtrip = loaded.predict(&vx).map_err(|e| e.to_string())? == pred;

    let naive: Vec<f64> = vx.column(0).iter().map(|&v| f64::from(v)).collect();
    let trees = forest.n_trees() as f64;
    let nodes = forest.trees().map(|t| t.n_nodes()).sum::<usize>() as f64 / trees;
    let depth = forest.trees().map(|t| t.depth()).sum::<usize>() as f64 / trees;
    let peak = status_kb("VmHWM:").max(fit_peak);
    println!(
        "RESULT impl=ours kernels={kernels} rows={} fit_wall_s={fit_wall:.3} \
         fit_cpu_s={fit_cpu:.3} predict_s={predict_s:.3} valid_rows={} peak_rss_mb={:.1} \
         fit_rss_growth_mb={:.1} \
         mse={:.6} naive_mse={:.6} model_bytes={} bytes_per_tree={:.0} nodes_per_tree={nodes:.0} \
         mean_depth={depth:.1} roundtrip_identical={roundtrip}",
        x.n_rows(),
        vy.len(),
        peak / 1024.0,
        (fit_peak - rss_before) / 1024.0,
        mse(&pred, &vy),
        mse(&naive, &vy),
        bytes.len(),
        bytes.len() as f64 / trees,
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(rows) = args.child_rows {
        return match child(&args, rows) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("forest-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match kernels_in_use() {
        Ok(kernels) => eprintln!("forest-bench: kernels {kernels}"),
        Err(e) => {
            eprintln!("forest-bench: {e}");
            return ExitCode::FAILURE;
        }
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("forest-bench: cannot find own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    for &rows in &args.rows {
        // A fresh process per size: its peak RSS is that size's alone.
        let mut cmd = Command::new(&exe);
        cmd.args(std::env::args().skip(1))
            .args(["--child-rows", &rows.to_string()]);
        match cmd.status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("forest-bench: run with {rows} rows failed: {s}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("forest-bench: cannot run child: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
