//! Promotion: point a stock's serving model (`models/current/stock=S.json`) at a finished
//! run's final groves. Written by the parent when a run finishes (unless the run says
//! `promote: false`) and by `groves promote`. A run with `promote_if_better` (a retraining
//! run) replaces a stock's serving model only if its final groves beat it on the run's test
//! rows — the newest held-out minutes of a chronological split.

use bytes::Bytes;
use groves_core::calendar::{format_wall, parse_wall};
use groves_core::features::{lag_name, DATE, N_FEATURES, N_LAGS, TARGET, TYPPRICE};
use groves_core::ids::{RunId, Symbol};
use groves_core::layout::{self, Split};
use groves_core::serving::ServingPointer;
use groves_core::spec::SplitMethod;
use groves_serving::{LoadedModel, Row};
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
    let if_better = read_manifest(store, run).await?.promote_if_better;
    let mut out = Vec::with_capacity(stocks.len());
    for stock in stocks {
        let candidate = match pointer(store, run, stock).await {
            Ok(p) if if_better => match beaten_by(store, run, &p).await? {
                Some(reason) => Err(StageError::Invalid(reason)),
                None => Ok(p),
            },
            other => other,
        };
        out.push(match candidate {
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

/// Why `new` should not replace the stock's serving model, judged on the run's test rows
/// newer than the serving model's training data (held out from both): None if the new groves'
/// MSE there is lower. No serving model: promote. A serving model of another horizon, or
/// reading an extra column this run's tables lack, cannot be scored on the same rows: the new
/// one is promoted. No test row newer than the serving model's data: nothing to judge on, the
/// serving model stays.
async fn beaten_by(store: &dyn Store, run: &RunId, new: &ServingPointer) -> Result<Option<String>> {
    let stock = &new.stock;
    let invalid = |e: groves_serving::ServeError| StageError::Invalid(e.to_string());
    let Some(old) = groves_serving::model::read_pointer(store, stock)
        .await
        .map_err(invalid)?
    else {
        return Ok(None);
    };
    let (key, df) = read_split(store, run, stock, Split::Test).await?;
    if old.run == *run
        || old.horizon != new.horizon
        || !old.features.iter().all(|f| df.column(f).is_ok())
    {
        return Ok(None);
    }
    let old_until = parse_wall(&old.trained_until).map_err(|e| {
        StageError::Invalid(format!(
            "the serving pointer of {stock}: trained_until {:?}: {e}",
            old.trained_until
        ))
    })?;
    let dates = date_ms(&df, &key)?;
    let held_out: Vec<usize> = (0..dates.len())
        .filter(|&i| dates[i].is_some_and(|d| d > old_until))
        .collect();
    if held_out.is_empty() {
        return Ok(Some(format!(
            "no test row of run {run} is newer than the serving model's data ({}): nothing to judge on (promote_if_better)",
            old.trained_until
        )));
    }
    let column = |name: &str| f64_column(&df, &key, name);
    let mut prices: Vec<Vec<f64>> = Vec::with_capacity(N_FEATURES);
    for k in (1..=N_LAGS).rev() {
        prices.push(column(&lag_name(k))?);
    }
    prices.push(column(TYPPRICE)?);
    let extras = old
        .features
        .iter()
        .map(|f| column(f))
        .collect::<Result<Vec<_>>>()?;
    let actual = column(TARGET)?;
    // The new groves' forecasts, as test-full stored them, in the test split's row order.
    let fkey = layout::test_forecast_key(run, stock);
    let stored = read_table(
        store,
        &fkey,
        &format!("the test forecast of {stock}"),
        "the run has not finished test-full for this stock",
    )
    .await?;
    let predicted = f64_column(&stored, &fkey, "predicted")?;
    if predicted.len() != actual.len() {
        return Err(StageError::Invalid(format!(
            "{fkey}: {} rows where the test split has {}",
            predicted.len(),
            actual.len()
        )));
    }
    let rows: Vec<Row> = held_out
        .iter()
        .map(|&i| Row {
            prices: std::array::from_fn(|k| prices[k][i]),
            extras: extras.iter().map(|c| c[i]).collect(),
        })
        .collect();
    let old_run = old.run.clone();
    let model = LoadedModel::load(store, old).await.map_err(invalid)?;
    let old_forecast = model.forecast(&rows).map_err(invalid)?;
    let n = held_out.len() as f64;
    let old_mse = held_out
        .iter()
        .zip(&old_forecast)
        .map(|(&i, f)| (f - actual[i]).powi(2))
        .sum::<f64>()
        / n;
    let new_mse = held_out
        .iter()
        .map(|&i| (predicted[i] - actual[i]).powi(2))
        .sum::<f64>()
        / n;
    Ok((old_mse <= new_mse).then(|| {
        format!(
            "the serving model (run {old_run}) does as well on the {} test rows newer than its data: MSE {old_mse:.6} against {new_mse:.6} (promote_if_better)",
            held_out.len()
        )
    }))
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
        let max = date_ms(&df, &key)?.into_iter().flatten().max();
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

/// A table's `date` column as wall-clock milliseconds, row by row (`key` names it in errors).
fn date_ms(df: &DataFrame, key: &str) -> Result<Vec<Option<i64>>, StageError> {
    let err = |source| StageError::Table {
        key: key.to_string(),
        source,
    };
    let dates = df
        .column(DATE)
        .and_then(|c| c.cast(&DataType::Int64))
        .map_err(err)?;
    Ok(dates.i64().map_err(err)?.iter().collect())
}
