//! `groves bench processing FILE`: the processing stage on one raw file, timed, with peak
//! memory. Pair it with scripts/bench_processing.sh, which runs pandas on the same file.

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use groves_core::layout::raw_key_and_symbol;
use groves_stages::clock::Clock;
use groves_stages::processing::{process_file, write_processed};
use groves_store::LocalStore;

use crate::BenchArgs;

/// Peak resident memory of this process (Linux `VmHWM`), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub async fn bench_processing(args: &BenchArgs) -> Result<()> {
    let path = Path::new(&args.file);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{}: not a file name", args.file))?;
    let (key, stock) = raw_key_and_symbol(name).map_err(|e| anyhow!(e))?;
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let out_dir = tempfile::tempdir()?;
    let out = LocalStore::create(out_dir.path())?;
    let opts = args.processing.options()?;
    let mut best = f64::INFINITY;
    for i in 0..args.repeat.max(1) {
        let t = Instant::now();
        let (p, k, s, o) = (path.to_path_buf(), key.clone(), stock.clone(), opts.clone());
        let label = args.file.clone();
        let (splits, mut report) =
            tokio::task::spawn_blocking(move || process_file(&p, &label, &k, &s, &o)).await??;
        // The clock starts here: it measures the write alone.
        let mut clock = Clock::start(None);
        write_processed(&out, &stock, &opts, splits, &mut report, &mut clock).await?;
        let total = t.elapsed().as_secs_f64();
        best = best.min(total);
        println!(
            "run {}: read {:.2} s, compute {:.2} s, write {:.2} s, total {:.2} s ({} rows read, {} kept)",
            i + 1,
            report.read_ms / 1e3,
            report.compute_ms / 1e3,
            report.write_ms / 1e3,
            total,
            report.rows_read,
            report.rows_kept
        );
        if i + 1 == args.repeat.max(1) {
            println!(
                "groves: file {:.1} MB, best total {:.2} s: {:.1} MB/s, {:.0} rows/s, peak RSS {:.0} MB",
                size as f64 / 1e6,
                best,
                size as f64 / 1e6 / best,
                report.rows_read as f64 / best,
                peak_rss_mb().unwrap_or(f64::NAN)
            );
            println!(
                "RESULT total_s={best:.3} peak_mb={:.0}",
                peak_rss_mb().unwrap_or(f64::NAN)
            );
        }
    }
    Ok(())
}
