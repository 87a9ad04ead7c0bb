//! Promotion: point a stock's serving model (`models/current/stock=S.json`) at a finished
//! run's final groves. Written by the parent when a run finishes (unless the run says
//! `promote: false`) and by `groves promote`.

use bytes::Bytes;
use groves_core::calendar::format_wall;
use groves_core::features::DATE;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Split};
use groves_core::serving::ServingPointer;
use groves_core::spec::SplitMethod;
use groves_store::{Store, StoreError};
use polars_core::prelude::*;

use crate::error::{Result, StageError};
use crate::min_mse::read_best;
use crate::tables::{f64_column, read_manifest, read_split, read_table};

/// What promoting one stock did.
#[derive(Debug, Clone, PartialEq)]
pub enum Promotion {
    Promoted(Box<ServingPointer>),
    /// Not promoted, and why (no complete test result, say).
    Refused {
        stock: Symbol,
        reason: String,
    },
}

/// Promotes each of `stocks` to `run`'s final groves. A stock whose test MSE is missing or
/// was not computed (groves missing) is refused, not an error; a store failure is an error.
pub async fn promote(store: &dyn Store, run: &RunId, stocks: &[Symbol]) -> Result<Vec<Promotion>> {
    let mut out = Vec::with_capacity(stocks.len());
    for stock in stocks {
        out.push(match pointer(store, run, stock).await {
            Ok(p) => {
                let json = serde_json::to_vec_pretty(&p)
                    .map_err(|e| StageError::Invalid(format!("encoding the pointer: {e}")))?;
                // One put replaces the object whole: a reader sees the old pointer or the new.
                store
                    .put(&layout::serving_pointer_key(stock), Bytes::from(json))
                    .await?;
                Promotion::Promoted(Box::new(p))
            }
            Err(StageError::Store(e)) if !matches!(e, StoreError::NotFound { .. }) => {
                return Err(StageError::Store(e))
            }
            Err(e) => Promotion::Refused {
                stock: stock.clone(),
                reason: e.to_string(),
            },
        });
    }
    Ok(out)
}

/// The pointer `run` would give `stock`, from its manifest, winner and test result.
pub async fn pointer(store: &dyn Store, run: &RunId, stock: &Symbol) -> Result<ServingPointer> {
    let spec = read_manifest(store, run).await?;
    let best = read_best(store, run, stock).await?;
    let key = layout::test_mse_key(run, stock);
    let result = read_table(
        store,
        &key,
        &format!("the test result of {stock}"),
        "the run has not finished test-full for this stock",
    )
    .await?;
    let one = |name: &str| -> Result<f64> {
        f64_column(&result, &key, name)?
            .first()
            .copied()
            .ok_or_else(|| StageError::Invalid(format!("{key}: no row")))
    };
    let test_mse = one("test_mse").map_err(|_| {
        StageError::Invalid(format!(
            "{stock} has no test MSE in run {run} (final groves missing): nothing to serve"
        ))
    })?;
    let missing: Vec<u32> = result
        .column("missing")
        .ok()
        .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(str::to_string)))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|g| g.strip_prefix('g')?.parse().ok())
        .collect();
    // Chronologically, validation holds the newest training bars; a random split spreads
    // them over both.
    let splits: &[Split] = match spec.split {
        SplitMethod::Chronological => &[Split::Validation],
        SplitMethod::Random => &[Split::Train, Split::Validation],
    };
    let mut until = i64::MIN;
    for &split in splits {
        let (key, df) = read_split(store, run, stock, split).await?;
        let dates = df
            .column(DATE)
            .and_then(|c| c.cast(&DataType::Int64))
            .map_err(|source| StageError::Table {
                key: key.clone(),
                source,
            })?;
        let max = dates
            .i64()
            .map_err(|source| StageError::Table { key, source })?
            .max();
        until = until.max(max.unwrap_or(i64::MIN));
    }
    Ok(ServingPointer {
        stock: stock.clone(),
        run: run.clone(),
        feat: best.feat,
        samp: best.samp,
        // The groves test-full averaged: all of them, or those a run allowing missing groves
        // found.
        groves: (0..spec.final_groves)
            .filter(|g| !missing.contains(g))
            .collect(),
        trees: spec.final_trees,
        target: spec.target(),
        horizon: spec.horizon,
        features: spec.features.clone(),
        inputs: spec.model_inputs(),
        trained_until: format_wall(until),
        validation_mse: best.mse,
        test_mse,
        naive_mse: one("naive_mse")?,
        skill_ratio: one("skill_ratio")?,
        code_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}
