//! `groves process`: raw files → feature table and splits.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, raw_key_and_symbol};
use groves_stages::processing::{process_key, ProcessingOptions, ProcessingReport};

use super::StoreRef;
use crate::{progress, ProcessArgs, ProcessingArgs};

impl ProcessingArgs {
    pub fn options(&self) -> Result<ProcessingOptions> {
        groves_core::events::check_features(&self.features).map_err(|e| anyhow!("{e}"))?;
        let until_ms = self
            .until
            .as_deref()
            .map(|u| {
                groves_core::calendar::parse_wall(u).map_err(|e| anyhow!("--until {u:?}: {e}"))
            })
            .transpose()?;
        Ok(ProcessingOptions {
            run: RunId::new(self.run.as_str())?,
            split: self.split,
            seed: self.seed,
            lags: self.lags,
            horizon: self.horizon,
            features: self.features.clone(),
            until_ms,
            invoked_at: None,
        })
    }
}

/// Every raw file in the store, as (key, stock), sorted by key.
pub async fn raw_files(store: &StoreRef) -> Result<Vec<(String, Symbol)>> {
    let mut out = Vec::new();
    for obj in store.list(layout::RAW_PREFIX).await? {
        if let Some(sym) = layout::symbol_from_raw_key(&obj.key) {
            out.push((obj.key.clone(), Symbol::new(sym)?));
        }
    }
    Ok(out)
}

/// Resolves one command-line argument to a raw key in the store.
async fn resolve(store: &StoreRef, arg: &str) -> Result<(String, Symbol)> {
    let local = Path::new(arg);
    if local.is_file() {
        let name = local
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("{arg}: not a file name"))?;
        let (key, sym) = raw_key_and_symbol(name).map_err(|e| anyhow!(e))?;
        eprintln!("copying {arg} into {}/{key}", store.describe());
        store
            .put_file(&key, local)
            .await
            .with_context(|| format!("copying {arg} into the store"))?;
        return Ok((key, sym));
    }
    if let Ok(sym) = Symbol::new(arg) {
        let key = layout::raw_key(&sym);
        if store.head(&key).await?.is_some() {
            return Ok((key, sym));
        }
        if !arg.ends_with(".csv") {
            bail!(
                "no raw file for stock {arg}: {}/{key} does not exist",
                store.describe()
            );
        }
    }
    let (key, sym) = raw_key_and_symbol(arg).map_err(|e| anyhow!(e))?;
    if store.head(&key).await?.is_none() {
        bail!("{}/{key} does not exist", store.describe());
    }
    Ok((key, sym))
}

/// Processes the given files (all raw files when none are given). Every file is attempted;
/// the command fails if any failed.
pub async fn process(store: &StoreRef, args: &ProcessArgs) -> Result<Vec<ProcessingReport>> {
    let opts = args.processing.options()?;
    let files = if args.files.is_empty() {
        let all = raw_files(store).await?;
        if all.is_empty() {
            bail!(
                "no raw files under {}/{} (expected <SYMBOL>_minute_data_with_indicators.csv); try `groves gen`",
                store.describe(),
                layout::RAW_PREFIX
            );
        }
        all
    } else {
        let mut v = Vec::new();
        for a in &args.files {
            v.push(resolve(store, a).await?);
        }
        v
    };
    process_files(store, &files, &opts).await
}

pub async fn process_files(
    store: &StoreRef,
    files: &[(String, Symbol)],
    opts: &ProcessingOptions,
) -> Result<Vec<ProcessingReport>> {
    let bar = progress::bar(files.len() as u64, "processing", "files");
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (key, sym) in files {
        bar.set_message(sym.to_string());
        match process_key(store.as_ref(), store.as_ref(), key, sym, opts).await {
            Ok(r) => reports.push(r),
            Err(e) => {
                bar.suspend(|| eprintln!("error: {e}"));
                failures.push(format!("{sym}: {e}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    print_summary(&reports);
    if !failures.is_empty() {
        bail!(
            "{} of {} files failed (nothing was written for them):\n  {}",
            failures.len(),
            files.len(),
            failures.join("\n  ")
        );
    }
    Ok(reports)
}

pub fn print_summary(reports: &[ProcessingReport]) {
    if reports.is_empty() {
        return;
    }
    println!(
        "{:<12} {:>9} {:>9} {:>8} {:>9} {:>8} {:>8}  {:>8} {:>8} {:>8}",
        "stock",
        "read",
        "kept",
        "dropped",
        "train",
        "valid",
        "test",
        "read ms",
        "comp ms",
        "write ms"
    );
    for r in reports {
        println!(
            "{:<12} {:>9} {:>9} {:>8} {:>9} {:>8} {:>8}  {:>8.0} {:>8.0} {:>8.0}",
            r.stock,
            r.rows_read,
            r.rows_kept,
            r.dropped.total(),
            r.rows_train,
            r.rows_validation,
            r.rows_test,
            r.read_ms,
            r.compute_ms,
            r.write_ms
        );
    }
    if let Some(r) = reports.first() {
        println!(
            "run {} · split {} (seed {}) · lags {} · tables under features/run={}/",
            r.run, r.split_method, r.seed, r.lags, r.run
        );
    }
}
