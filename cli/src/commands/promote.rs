//! `groves promote`: point stocks' serving models at a finished run's final groves.

use anyhow::{bail, Result};
use groves_core::ids::{RunId, Symbol};
use groves_stages::promote::{promote as promote_stocks, Promotion};
use groves_stages::tables::read_manifest;

use super::StoreRef;
use crate::PromoteArgs;

pub async fn promote(store: &StoreRef, args: &PromoteArgs) -> Result<()> {
    let run = RunId::new(args.run.as_str())?;
    let stocks = if args.stocks.is_empty() {
        read_manifest(store.as_ref(), &run).await?.stocks
    } else {
        args.stocks
            .iter()
            .map(Symbol::new)
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut refused = 0;
    for p in promote_stocks(store.as_ref(), &run, &stocks).await? {
        match p {
            Promotion::Promoted(p) => println!(
                "{}: serving run {} (target {}, {} min ahead, f{} s{}, {} groves × {} trees, trained until {}, skill {:.3})",
                p.stock,
                p.run,
                p.target,
                p.horizon,
                p.feat,
                p.samp,
                p.groves.len(),
                p.trees,
                p.trained_until,
                p.skill_ratio
            ),
            Promotion::Refused { stock, reason } => {
                refused += 1;
                eprintln!("{stock}: not promoted: {reason}");
            }
        }
    }
    if refused > 0 {
        bail!("{refused} of {} stocks not promoted", stocks.len());
    }
    Ok(())
}
