//! Groves' predictions: the table one grove writes, and reading them back to average a
//! setting's (or the final) groves and score them.

use groves_core::features::ROW;
use groves_core::layout::Setting;
use groves_store::{Store, StoreError};
use polars_core::prelude::*;

use crate::error::{Result, StageError};
use crate::tables::{f64_column, row_column, table_err};

/// One grove's predictions: `row`, `pred`, the grove number and, for search groves, the setting.
pub fn preds_frame(
    rows: &[u32],
    preds: Vec<f64>,
    grove: u32,
    setting: Option<Setting>,
) -> PolarsResult<DataFrame> {
    let n = rows.len();
    let mut cols = vec![
        Column::new(ROW.into(), rows.to_vec()),
        Column::new("pred".into(), preds),
        Column::new("grove".into(), vec![grove; n]),
    ];
    if let Some(s) = setting {
        cols.push(Column::new("feat".into(), vec![s.feat; n]));
        cols.push(Column::new("samp".into(), vec![s.samp; n]));
    }
    DataFrame::new(n, cols)
}

/// Mean squared error.
pub fn mse(pred: &[f64], actual: &[f64]) -> f64 {
    if pred.is_empty() {
        return f64::NAN;
    }
    pred.iter()
        .zip(actual)
        .map(|(p, a)| (p - a) * (p - a))
        .sum::<f64>()
        / pred.len() as f64
}

/// Reads one grove's predictions, checking they cover exactly `rows` in order. None if absent.
pub async fn read_grove_preds(
    store: &dyn Store,
    key: &str,
    rows: &[u32],
) -> Result<Option<Vec<f64>>> {
    let bytes = match store.get(key).await {
        Ok(b) => b,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let df = groves_data::table::from_parquet(&bytes).map_err(table_err(key))?;
    if row_column(&df, key)? != rows {
        return Err(StageError::Invalid(format!(
            "{key}: its rows are not those of the split it predicts (was the stock processed again after this grove ran?)"
        )));
    }
    Ok(Some(f64_column(&df, key, "pred")?))
}

/// Sums the predictions of the groves stored under `keys` (in order), checking each covers
/// `rows`. Returns the sum, how many groves were found and the indices of the missing ones.
pub async fn sum_groves(
    store: &dyn Store,
    keys: impl Iterator<Item = (u32, String)>,
    rows: &[u32],
) -> Result<(Vec<f64>, u32, Vec<u32>)> {
    let mut sum = vec![0.0; rows.len()];
    let (mut found, mut missing) = (0, Vec::new());
    for (g, key) in keys {
        match read_grove_preds(store, &key, rows).await? {
            Some(p) => {
                found += 1;
                for (s, v) in sum.iter_mut().zip(p) {
                    *s += v;
                }
            }
            None => missing.push(g),
        }
    }
    Ok((sum, found, missing))
}

/// Averages groves' predictions in grove order (sum, then one division: the same result
/// whatever the order the groves finished in).
pub fn average(sum: &mut [f64], count: u32) {
    let n = count as f64;
    for v in sum {
        *v /= n;
    }
}
