//! A loaded serving model: the pointer and its final groves, and forecasts for rows.

use forest::{Forest, Matrix};
use groves_core::features::{base_row, N_FEATURES};
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_core::serving::ServingPointer;
use groves_store::{Store, StoreError};

use crate::ServeError;

/// One row to forecast: `TYPPRICE` of the last 11 minutes (oldest first, the last one now)
/// and the model's extra features in the pointer's `features` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub prices: [f64; N_FEATURES],
    pub extras: Vec<f64>,
}

impl Row {
    /// `TYPPRICE` now: the naive forecast, and the base of a predicted change.
    pub fn now(&self) -> f64 {
        self.prices[N_FEATURES - 1]
    }
}

/// A stock's promoted final groves, decoded.
#[derive(Debug)]
pub struct LoadedModel {
    pub pointer: ServingPointer,
    groves: Vec<Forest>,
    /// The groves' stored size: what the cache counts against its bound.
    pub bytes: usize,
    /// Milliseconds the load took (reading and decoding).
    pub load_ms: f64,
}

/// Reads a stock's serving pointer; None if none was promoted.
pub async fn read_pointer(
    store: &dyn Store,
    stock: &Symbol,
) -> Result<Option<ServingPointer>, ServeError> {
    let key = layout::serving_pointer_key(stock);
    let bytes = match store.get(&key).await {
        Ok(b) => b,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let pointer: ServingPointer =
        serde_json::from_slice(&bytes).map_err(|e| ServeError::Model {
            stock: stock.to_string(),
            problem: format!("{key}: {e}"),
        })?;
    if pointer.stock != *stock {
        return Err(ServeError::Model {
            stock: stock.to_string(),
            problem: format!("{key} names stock {}", pointer.stock),
        });
    }
    Ok(Some(pointer))
}

impl LoadedModel {
    /// Reads and decodes the groves `pointer` names.
    pub async fn load(store: &dyn Store, pointer: ServingPointer) -> Result<Self, ServeError> {
        let started = std::time::Instant::now();
        let bad = |problem: String| ServeError::Model {
            stock: pointer.stock.to_string(),
            problem,
        };
        if pointer.groves.is_empty() {
            return Err(bad("the pointer names no grove".into()));
        }
        let mut groves = Vec::with_capacity(pointer.groves.len());
        let mut bytes = 0;
        for &g in &pointer.groves {
            let key = layout::model_key(&pointer.run, &pointer.stock, g);
            let data = match store.get(&key).await {
                Ok(d) => d,
                Err(StoreError::NotFound { .. }) => {
                    return Err(bad(format!("grove {key} is missing")))
                }
                Err(e) => return Err(e.into()),
            };
            bytes += data.len();
            let forest = Forest::from_bytes(&data).map_err(|e| bad(format!("{key}: {e}")))?;
            if forest.feature_names() != pointer.inputs.as_slice() {
                return Err(bad(format!(
                    "{key} takes {:?}, the pointer says {:?}",
                    forest.feature_names(),
                    pointer.inputs
                )));
            }
            groves.push(forest);
        }
        Ok(LoadedModel {
            pointer,
            groves,
            bytes,
            load_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Level forecasts for `rows`: each grove's prediction turned into a level, summed in
    /// grove order, divided by the number of groves — test-full's arithmetic exactly.
    pub fn forecast(&self, rows: &[Row]) -> Result<Vec<f64>, ServeError> {
        let p = &self.pointer;
        let n_extra = p.features.len();
        let n_base = p.target.base_features();
        let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(rows.len()); n_base + n_extra];
        for (i, row) in rows.iter().enumerate() {
            if row.extras.len() != n_extra {
                return Err(ServeError::field_err(
                    format!("rows[{i}]"),
                    format!(
                        "{} extra features where the model takes {n_extra}",
                        row.extras.len()
                    ),
                ));
            }
            for (col, v) in columns.iter_mut().zip(
                base_row(p.target, &row.prices)
                    .into_iter()
                    .chain(row.extras.iter().copied()),
            ) {
                col.push(v);
            }
        }
        let x = Matrix::from_columns(p.inputs.clone(), columns).map_err(|e| {
            ServeError::BadRequest(format!("the rows do not make a feature matrix: {e}"))
        })?;
        let mut sum = vec![0.0; rows.len()];
        for forest in &self.groves {
            let predicted = forest.predict(&x).map_err(|e| ServeError::Model {
                stock: p.stock.to_string(),
                problem: e.to_string(),
            })?;
            for ((s, v), row) in sum.iter_mut().zip(predicted).zip(rows) {
                *s += p.target.level(v, row.now());
            }
        }
        let n = self.groves.len() as f64;
        for s in &mut sum {
            *s /= n;
        }
        Ok(sum)
    }
}
