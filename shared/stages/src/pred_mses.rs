//! pred-mses: per setting, averages the search groves' validation predictions and scores them.
//!
//! Knows from the run's manifest how many groves each setting should have, so a missing grove is
//! named, never silently averaged away: without `allow_missing` an incomplete setting gets no MSE.
//!
//! A halving search scores round by round (`round` in the event): round 0 every setting, each
//! later round the survivors of the one before ([`crate::halving`]), over the groves the round
//! gives them; each round is its own file beside the others.

use groves_core::events::StockEvent;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Split};
use groves_core::spec::{RunSpec, SearchMethod};
use groves_core::stage::Stage;
use groves_store::Store;
use polars_core::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::{Result, StageError};
use crate::predictions::{average, mse, sum_groves};
use crate::tables::{read_manifest, read_table, split_target, table_err, write_table};
use crate::unit::{run_in_bucket, UnitContext};

/// One setting's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingScore {
    pub feat: u32,
    pub samp: u32,
    /// The round of a halving search (0 first); a grid is round 0.
    pub round: u32,
    pub groves_planned: u32,
    pub groves_found: u32,
    /// Grove numbers with no predictions.
    pub missing: Vec<u32>,
    /// Validation MSE of the averaged groves; None when no grove exists, or when some are
    /// missing and the run does not allow that.
    pub mse: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PredMsesReport {
    pub stock: String,
    pub round: u32,
    pub rows_validation: usize,
    pub settings: Vec<SettingScore>,
    pub read_ms: f64,
    pub compute_ms: f64,
    pub write_ms: f64,
}

impl PredMsesReport {
    pub fn incomplete(&self) -> impl Iterator<Item = &SettingScore> {
        self.settings.iter().filter(|s| !s.missing.is_empty())
    }
}

/// The unit of work, as its Lambda function and the in-process pool run it.
pub async fn handle(ctx: &UnitContext, e: &StockEvent) -> Result<Value> {
    run_in_bucket(
        ctx,
        &e.bucket,
        &e.run,
        Stage::PredMses,
        e.unit(),
        |store| async move { pred_mses(store.as_ref(), e).await },
    )
    .await
}

/// Averages each setting's search groves and scores them on validation.
pub async fn pred_mses(store: &dyn Store, e: &StockEvent) -> Result<PredMsesReport> {
    let mut clock = Clock::start(e.invoked_at);
    let spec = read_manifest(store, &e.run).await?;
    let (round, key) = round_and_key(&spec, e)?;
    let rounds = spec.rounds();
    let planned = rounds[round as usize].groves;
    let in_round = match round {
        0 => spec.grid(),
        r => crate::halving::round_settings(store, &e.run, &spec, &e.stock, r).await?,
    };
    let (_, y, rows) = split_target(store, &e.run, &e.stock, Split::Validation).await?;
    let mut settings = Vec::new();
    for setting in in_round {
        let keys = (0..planned).map(|g| (g, layout::val_preds_key(&e.run, &e.stock, setting, g)));
        let (mut sum, found, missing) = sum_groves(store, keys, &rows).await?;
        let usable = found > 0 && (missing.is_empty() || spec.allow_missing);
        let mse = usable.then(|| {
            average(&mut sum, found);
            mse(&sum, &y)
        });
        settings.push(SettingScore {
            feat: setting.feat,
            samp: setting.samp,
            round,
            groves_planned: planned,
            groves_found: found,
            missing,
            mse,
        });
    }
    // Reading and averaging interleave; count it all as compute after the split was read.
    clock.compute_done();

    let df = scores_frame(&e.stock, y.len(), &settings, &spec).map_err(table_err(&key))?;
    write_table(store, &key, df).await?;
    clock.write_done();
    clock
        .record(store, &e.run, Stage::PredMses, &e.unit(), 1)
        .await?;
    Ok(PredMsesReport {
        stock: e.stock.to_string(),
        round,
        rows_validation: y.len(),
        settings,
        read_ms: clock.read_ms,
        compute_ms: clock.compute_ms,
        write_ms: clock.write_ms,
    })
}

/// The round an event scores and the table it writes; refuses an event that does not fit the
/// run's search.
fn round_and_key(spec: &RunSpec, e: &StockEvent) -> Result<(u32, String)> {
    let rounds = spec.rounds().len() as u32;
    match (spec.search, e.round) {
        (SearchMethod::Grid, None) => Ok((0, layout::pred_mses_key(&e.run, &e.stock))),
        (SearchMethod::Halving, Some(r)) if r < rounds => {
            Ok((r, layout::pred_mses_round_key(&e.run, &e.stock, r)))
        }
        (SearchMethod::Halving, Some(r)) => Err(StageError::Invalid(format!(
            "run {}: its halving search has rounds 0 to {}, not {r}",
            e.run,
            rounds - 1
        ))),
        (SearchMethod::Halving, None) => Err(StageError::Invalid(format!(
            "run {} searches by halving: a pred-mses event names its `round` (0 to {})",
            e.run,
            rounds - 1
        ))),
        (SearchMethod::Grid, Some(r)) => Err(StageError::Invalid(format!(
            "run {} is a grid search: a pred-mses event has no `round` (got {r})",
            e.run
        ))),
    }
}

fn join_groves(g: &[u32]) -> String {
    g.iter()
        .map(|g| format!("g{g}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn scores_frame(
    stock: &Symbol,
    rows: usize,
    s: &[SettingScore],
    spec: &RunSpec,
) -> PolarsResult<DataFrame> {
    let n = s.len();
    DataFrame::new(
        n,
        vec![
            Column::new("stock".into(), vec![stock.as_str(); n]),
            Column::new("feat".into(), s.iter().map(|x| x.feat).collect::<Vec<_>>()),
            Column::new("samp".into(), s.iter().map(|x| x.samp).collect::<Vec<_>>()),
            Column::new(
                "round".into(),
                s.iter().map(|x| x.round).collect::<Vec<_>>(),
            ),
            Column::new("mse".into(), s.iter().map(|x| x.mse).collect::<Vec<_>>()),
            Column::new(
                "groves_planned".into(),
                s.iter().map(|x| x.groves_planned).collect::<Vec<_>>(),
            ),
            Column::new(
                "groves_found".into(),
                s.iter().map(|x| x.groves_found).collect::<Vec<_>>(),
            ),
            Column::new(
                "missing".into(),
                s.iter()
                    .map(|x| join_groves(&x.missing))
                    .collect::<Vec<_>>(),
            ),
            Column::new("rows_validation".into(), vec![rows as u64; n]),
            Column::new("target".into(), vec![spec.target().as_str(); n]),
            Column::new("horizon".into(), vec![spec.horizon; n]),
        ],
    )
}

/// Reads a stock's validation scores back: a grid's one table, or every round a halving search
/// has scored so far, in round order.
pub async fn read_scores(
    store: &dyn Store,
    run: &RunId,
    spec: &RunSpec,
    stock: &Symbol,
) -> Result<Vec<SettingScore>> {
    if spec.search == SearchMethod::Grid {
        return read_round(store, &layout::pred_mses_key(run, stock), stock).await;
    }
    let mut out = Vec::new();
    for r in 0..spec.rounds().len() as u32 {
        match read_round(store, &layout::pred_mses_round_key(run, stock, r), stock).await {
            Ok(rows) => out.extend(rows),
            // The rounds not scored yet.
            Err(StageError::Missing { .. }) if r > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// One pred-mses table (a grid's, or one round's).
pub async fn read_round(store: &dyn Store, key: &str, stock: &Symbol) -> Result<Vec<SettingScore>> {
    let df = read_table(
        store,
        key,
        &format!("the validation MSEs of {stock}"),
        "run pred-mses for this stock first",
    )
    .await?;
    let col = |name: &str| {
        df.column(name)
            .and_then(|c| c.cast(&DataType::UInt32))
            .map_err(table_err(key))
    };
    let (feat, samp, planned, found) = (
        col("feat")?,
        col("samp")?,
        col("groves_planned")?,
        col("groves_found")?,
    );
    // Tables written before halving existed have no round: they are a grid's, round 0.
    let round = match df.column("round") {
        Ok(_) => Some(col("round")?),
        Err(_) => None,
    };
    let mse = df
        .column("mse")
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(table_err(key))?;
    let missing = df.column("missing").map_err(table_err(key))?;
    let (feat, samp, planned, found, mse, missing) = (
        feat.u32().map_err(table_err(key))?,
        samp.u32().map_err(table_err(key))?,
        planned.u32().map_err(table_err(key))?,
        found.u32().map_err(table_err(key))?,
        mse.f64().map_err(table_err(key))?,
        missing.str().map_err(table_err(key))?,
    );
    let round = match &round {
        Some(c) => Some(c.u32().map_err(table_err(key))?),
        None => None,
    };
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let bad = || StageError::Invalid(format!("{key}: row {i} has an empty cell"));
        out.push(SettingScore {
            feat: feat.get(i).ok_or_else(bad)?,
            samp: samp.get(i).ok_or_else(bad)?,
            round: match round {
                Some(r) => r.get(i).ok_or_else(bad)?,
                None => 0,
            },
            groves_planned: planned.get(i).ok_or_else(bad)?,
            groves_found: found.get(i).ok_or_else(bad)?,
            missing: missing
                .get(i)
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|g| g.strip_prefix('g').and_then(|n| n.parse().ok()))
                .collect(),
            mse: mse.get(i),
        });
    }
    Ok(out)
}
