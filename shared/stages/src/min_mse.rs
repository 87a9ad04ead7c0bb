//! min-mse: the setting with the lowest validation MSE wins (ties: fewer features, then the
//! smaller `min_samples_split`, so the choice never depends on listing order). A halving search's
//! winner comes from its last round, where every setting has all its groves.

use groves_core::events::StockEvent;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Setting};
use groves_core::stage::Stage;
use groves_store::Store;
use polars_core::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::{Result, StageError};
use crate::pred_mses::{read_scores, SettingScore};
use crate::tables::{read_manifest, read_table, table_err, write_table};
use crate::unit::{run_in_bucket, UnitContext};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Best {
    pub stock: String,
    pub feat: u32,
    pub samp: u32,
    pub mse: f64,
    pub groves: u32,
    pub settings_compared: u32,
}

impl Best {
    pub fn setting(&self) -> Setting {
        Setting {
            feat: self.feat,
            samp: self.samp,
        }
    }
}

/// Picks the winner among scored settings of the last round scored. Refuses when a setting is
/// incomplete and the run does not allow that, or when nothing was scored.
pub fn choose(stock: &Symbol, scores: &[SettingScore], allow_missing: bool) -> Result<Best> {
    let last = scores.iter().map(|s| s.round).max().unwrap_or(0);
    let scores: Vec<SettingScore> = scores.iter().filter(|s| s.round == last).cloned().collect();
    if !allow_missing {
        let incomplete: Vec<String> = scores
            .iter()
            .filter(|s| !s.missing.is_empty())
            .map(|s| {
                format!(
                    "f{}_s{} has {} of {} groves",
                    s.feat, s.samp, s.groves_found, s.groves_planned
                )
            })
            .collect();
        if !incomplete.is_empty() {
            return Err(StageError::Invalid(format!(
                "{stock}: refusing to pick a setting from incomplete results: {} (allow_missing accepts fewer groves)",
                incomplete.join("; ")
            )));
        }
    }
    let scored: Vec<(&SettingScore, f64)> = scores
        .iter()
        .filter_map(|s| s.mse.filter(|m| m.is_finite()).map(|m| (s, m)))
        .collect();
    let (s, m) = scored
        .iter()
        .min_by(|(a, _), (b, _)| crate::halving::rank(a, b))
        .ok_or_else(|| StageError::Invalid(format!("{stock}: no setting has a validation MSE")))?;
    Ok(Best {
        stock: stock.to_string(),
        feat: s.feat,
        samp: s.samp,
        mse: *m,
        groves: s.groves_found,
        settings_compared: scored.len() as u32,
    })
}

/// The unit of work, as its Lambda function and the in-process pool run it.
pub async fn handle(ctx: &UnitContext, e: &StockEvent) -> Result<Value> {
    run_in_bucket(
        ctx,
        &e.bucket,
        &e.run,
        Stage::MinMse,
        e.unit(),
        |store| async move { min_mse(store.as_ref(), e).await },
    )
    .await
}

/// Chooses the stock's best setting from its validation scores.
pub async fn min_mse(store: &dyn Store, e: &StockEvent) -> Result<Best> {
    let mut clock = Clock::start(e.invoked_at);
    let spec = read_manifest(store, &e.run).await?;
    let scores = read_scores(store, &e.run, &spec, &e.stock).await?;
    clock.read_done();
    let last = spec.rounds().len() as u32 - 1;
    if scores.iter().all(|s| s.round != last) {
        return Err(StageError::Missing {
            what: format!("round {last} of {}'s halving search", e.stock),
            key: layout::pred_mses_round_key(&e.run, &e.stock, last),
            hint: "run pred-mses for every round first",
        });
    }
    let best = choose(&e.stock, &scores, spec.allow_missing)?;
    clock.compute_done();
    let key = layout::min_mse_key(&e.run, &e.stock);
    let df = DataFrame::new(
        1,
        vec![
            Column::new("stock".into(), [best.stock.as_str()]),
            Column::new("feat".into(), [best.feat]),
            Column::new("samp".into(), [best.samp]),
            Column::new("mse".into(), [best.mse]),
            Column::new("groves".into(), [best.groves]),
            Column::new("settings_compared".into(), [best.settings_compared]),
            Column::new("target".into(), [spec.target().as_str()]),
            Column::new("horizon".into(), [spec.horizon]),
        ],
    )
    .map_err(table_err(&key))?;
    write_table(store, &key, df).await?;
    clock.write_done();
    clock
        .record(store, &e.run, Stage::MinMse, &e.unit(), 1)
        .await?;
    Ok(best)
}

/// Reads a stock's winning setting back.
pub async fn read_best(store: &dyn Store, run: &RunId, stock: &Symbol) -> Result<Best> {
    let key = layout::min_mse_key(run, stock);
    let df = read_table(
        store,
        &key,
        &format!("the best setting of {stock}"),
        "run min-mse for this stock first",
    )
    .await?;
    let bad = || StageError::Invalid(format!("{key}: not a min-mse table"));
    let u = |name: &str| -> Result<u32> {
        df.column(name)
            .and_then(|c| c.cast(&DataType::UInt32))
            .map_err(table_err(&key))?
            .u32()
            .map_err(table_err(&key))?
            .get(0)
            .ok_or_else(bad)
    };
    let mse = df
        .column("mse")
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(table_err(&key))?
        .f64()
        .map_err(table_err(&key))?
        .get(0)
        .ok_or_else(bad)?;
    Ok(Best {
        stock: stock.to_string(),
        feat: u("feat")?,
        samp: u("samp")?,
        mse,
        groves: u("groves")?,
        settings_compared: u("settings_compared")?,
    })
}
