//! The `randomforest` crate's regressor on the CSV files `scripts/bench_forest.sh` writes, with
//! what of the search's settings it takes (trees, max_features, seed; it has no
//! min_samples_split: it splits down to 2 rows, at most 64 deep). Prints one `RESULT` line per
//! training size, the format of forest-bench and the scikit-learn script.
//!
//! usage: randomforest-crate-bench --train FILE --validation FILE [--rows 16000,50000]
//!          [--trees 100] [--max-features 7] [--threads 2] [--seed 1]

use randomforest::criterion::Mse;
use randomforest::table::TableBuilder;
use randomforest::RandomForestRegressorOptions;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Instant;

const TARGET: &str = "TYPPRICE_TARGET";

fn feature_names() -> Vec<String> {
    std::iter::once("TYPPRICE".to_string())
        .chain((1..=10).map(|i| format!("TYPPRICE_LAG_{i}")))
        .collect()
}

/// Rows of features and their targets, the first `limit` data rows of `path`.
fn read_csv(path: &str, limit: usize) -> Result<(Vec<Vec<f64>>, Vec<f64>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("{path}: empty file"))?
        .split(',')
        .map(str::trim)
        .collect();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("{path}: no column {name}"))
    };
    let features: Vec<usize> = feature_names()
        .iter()
        .map(|n| find(n))
        .collect::<Result<_, _>>()?;
    let target = find(TARGET)?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (i, line) in lines.take(limit).enumerate() {
        let fields: Vec<f64> = line
            .split(',')
            .map(|f| f.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{path}: line {}: {e}", i + 2))?;
        if fields.len() != header.len() {
            return Err(format!(
                "{path}: line {}: {} fields, the header has {}",
                i + 2,
                fields.len(),
                header.len()
            ));
        }
        xs.push(features.iter().map(|&c| fields[c]).collect());
        ys.push(fields[target]);
    }
    Ok((xs, ys))
}

/// CPU seconds of this process so far (user + system, every thread), as forest-bench counts.
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

struct Args {
    train: String,
    validation: String,
    rows: Vec<usize>,
    trees: usize,
    max_features: usize,
    threads: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        train: String::new(),
        validation: String::new(),
        rows: vec![16_000, 50_000],
        trees: 100,
        max_features: 7,
        threads: 2,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<usize>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--train" => args.train = value,
            "--validation" => args.validation = value,
            "--rows" => {
                args.rows = value.split(',').map(number).collect::<Result<_, _>>()?;
            }
            "--trees" => args.trees = number(&value)?,
            "--max-features" => args.max_features = number(&value)?,
            "--threads" => args.threads = number(&value)?,
            "--seed" => args.seed = number(&value)? as u64,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if args.train.is_empty() || args.validation.is_empty() {
        return Err("--train and --validation are required".into());
    }
    Ok(args)
}

fn run(args: &Args) -> Result<(), String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
        .map_err(|e| e.to_string())?;
    let (vx, vy) = read_csv(&args.validation, usize::MAX)?;
    let max = args.rows.iter().copied().max().unwrap_or(0);
    let (tx, ty) = read_csv(&args.train, max)?;
    let nonzero = |n: usize, what: &str| NonZeroUsize::new(n).ok_or(format!("{what} must be > 0"));
    for &rows in &args.rows {
        let rows = rows.min(tx.len());
        let mut builder = TableBuilder::new();
        for (x, &y) in tx[..rows].iter().zip(&ty[..rows]) {
            builder.add_row(x, y).map_err(|e| e.to_string())?;
        }
        let table = builder.build().map_err(|e| e.to_string())?;
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        let model = RandomForestRegressorOptions::new()
            .seed(args.seed)
            .trees(nonzero(args.trees, "--trees")?)
            .max_features(nonzero(args.max_features, "--max-features")?)
            .parallel()
            .fit(Mse, table);
        let (fit_wall, fit_cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        let start = Instant::now();
        let preds: Vec<f64> = vx.iter().map(|x| model.predict(x)).collect();
        let predict_s = start.elapsed().as_secs_f64();
        let mse = preds
            .iter()
            .zip(&vy)
            .map(|(p, y)| (p - y) * (p - y))
            .sum::<f64>()
            / vy.len() as f64;
        let mut bytes = Vec::new();
        model.serialize(&mut bytes).map_err(|e| e.to_string())?;
        println!(
            "RESULT impl=randomforest-crate rows={rows} trees={} fit_wall_s={fit_wall:.3} \
             fit_cpu_s={fit_cpu:.3} predict_s={predict_s:.3} valid_rows={} mse={mse:.6} \
             model_bytes={}",
            args.trees,
            vy.len(),
            bytes.len()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("randomforest-crate-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
