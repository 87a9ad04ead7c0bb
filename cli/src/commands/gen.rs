//! `groves gen`: sample raw files in the Kaggle layout.

use anyhow::{bail, Context, Result};
use datagen::{GenOptions, Layout};
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_store::StoreSpec;

use super::StoreRef;
use crate::progress;
use crate::GenArgs;

/// Bars per trading day (09:15–15:29).
const BARS_PER_DAY: u64 = 375;

/// Writes the raw files; returns the symbols written.
pub async fn gen(spec: &StoreSpec, store: &StoreRef, args: &GenArgs) -> Result<Vec<Symbol>> {
    let names = match (&args.symbols[..], args.count) {
        ([], Some(n)) => datagen::symbols_for_count(n)?,
        ([], None) => datagen::symbols_for_count(1)?,
        (list, _) => list.to_vec(),
    };
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let symbols = names
        .iter()
        .map(|s| Symbol::new(s.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = GenOptions {
        days: args.days,
        seed: args.seed,
        layout: if args.legacy {
            Layout::Legacy
        } else {
            Layout::Current
        },
        ..GenOptions::default()
    };
    let total = symbols.len() as u64 * args.days as u64 * BARS_PER_DAY;
    let bar = progress::bar(total, "generating", "rows");
    let mut done_before = 0u64;
    for symbol in &symbols {
        bar.set_message(symbol.to_string());
        let key = layout::raw_key(symbol);
        let gen_one = |dir: &std::path::Path| {
            let mut on_rows = |rows: u64| bar.set_position(done_before + rows);
            datagen::write_symbol_file(dir, symbol.as_str(), &opts, &mut on_rows)
                .with_context(|| format!("generating {symbol}"))
        };
        let stats = match spec {
            // Straight into the bucket folder: no copy of a 650 MB file.
            StoreSpec::Local(root) => {
                let dir = root.join(layout::RAW_PREFIX);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                gen_one(&dir)?.1
            }
            StoreSpec::S3 { .. } => {
                let dir = tempfile::tempdir().context("creating a temporary directory")?;
                let (path, stats) = gen_one(dir.path())?;
                store
                    .put_file(&key, &path)
                    .await
                    .with_context(|| format!("uploading {key}"))?;
                stats
            }
        };
        done_before += stats.rows;
        bar.set_position(done_before);
        eprintln!(
            "wrote {}/{key}: {} rows, {:.1} MB",
            store.describe(),
            stats.rows,
            stats.bytes as f64 / 1e6
        );
    }
    bar.finish_and_clear();
    Ok(symbols)
}
