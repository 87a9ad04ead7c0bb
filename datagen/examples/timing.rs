//! Times the generation of one symbol file.
//!
//! `cargo run --release -p datagen --example timing -- [DAYS] [SYMBOL] [DIR] [legacy]`
//! (defaults: 1870 days, RELIANCE, the system temp dir). Prints rows, size, time and the
//! process's peak resident memory, and leaves the file in DIR for inspection.

use std::path::PathBuf;
use std::time::Instant;

use datagen::{write_symbol_file, GenOptions, Layout};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let days = match args.next() {
        Some(d) => d.parse()?,
        None => 1870,
    };
    let symbol = args.next().unwrap_or_else(|| "RELIANCE".to_string());
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let layout = match args.next().as_deref() {
        Some("legacy") => Layout::Legacy,
        _ => Layout::Current,
    };
    let opts = GenOptions {
        days,
        layout,
        ..GenOptions::default()
    };
    let started = Instant::now();
    let mut last = 0;
    let (path, stats) = write_symbol_file(&dir, &symbol, &opts, &mut |rows| last = rows)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}: {days} days, {} rows, {} bytes ({:.1} MB) in {secs:.2} s ({:.0} MB/s), last progress {last}",
        path.display(),
        stats.rows,
        stats.bytes,
        stats.bytes as f64 / 1e6,
        stats.bytes as f64 / 1e6 / secs,
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!("peak memory {}", line.trim_start_matches("VmHWM:").trim());
        }
    }
    Ok(())
}
