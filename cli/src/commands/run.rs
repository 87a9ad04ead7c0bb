//! `groves run`: the main job on whatever the store holds (sample data if it holds nothing).

use anyhow::Result;
use shared::layout;
use shared::store::StoreSpec;

use super::{gen, process, StoreRef};
use crate::{GenArgs, RunArgs};

/// Symbols generated when the store is empty and none were named.
const SAMPLE_SYMBOLS: usize = 2;

pub async fn run(spec: &StoreSpec, store: &StoreRef, args: &RunArgs) -> Result<()> {
    let opts = args.processing.options()?;
    let mut files = process::raw_files(store).await?;
    if files.is_empty() {
        let gen_args = GenArgs {
            symbols: args.stocks.clone(),
            count: args.stocks.is_empty().then_some(SAMPLE_SYMBOLS),
            days: args.days,
            seed: 42,
            legacy: false,
        };
        eprintln!(
            "no raw files under {}/{}: generating sample data ({} trading days per symbol)",
            store.describe(),
            layout::RAW_PREFIX,
            args.days
        );
        gen::gen(spec, store, &gen_args).await?;
        files = process::raw_files(store).await?;
    }
    if !args.stocks.is_empty() {
        files.retain(|(_, s)| args.stocks.iter().any(|w| w == s.as_str()));
        if files.is_empty() {
            anyhow::bail!(
                "none of the stocks {:?} has a raw file in {}",
                args.stocks,
                store.describe()
            );
        }
    }
    process::process_files(store, &files, &opts).await?;
    println!(
        "processed tables are in {}/{}run={}/ (query them with DuckDB or Athena)",
        store.describe(),
        layout::FEATURES_PREFIX,
        opts.run
    );
    Ok(())
}
