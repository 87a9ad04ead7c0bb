//! The feature matrix: named columns, held once, column-major, as `f32`.

use crate::error::ForestError;
use std::collections::HashSet;

/// A column-major `f32` feature matrix with feature names.
///
/// Features are held as `f32`, like scikit-learn's trees do internally: split thresholds are
/// `f32` too, and a value is routed left when `x <= threshold` in `f32`, so training and
/// prediction see exactly the same numbers. (Prices of 1000–3000 with ticks of 0.05/3 stay
/// distinct in `f32`, whose spacing there is at most 2.4e-4.) `-0.0` is stored as `0.0` so
/// that equal values compare equal bit for bit.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    names: Vec<String>,
    n_rows: usize,
    /// Column `f` is `data[f * n_rows..(f + 1) * n_rows]`.
    data: Vec<f32>,
}

impl Matrix {
    /// Builds a matrix from one `Vec<f64>` per feature. Rejects missing or duplicate names,
    /// columns of different lengths, and values that are NaN, infinite or beyond `f32` range.
    /// Zero rows are allowed here (prediction on nothing gives nothing); `Forest::fit`
    /// rejects them.
    pub fn from_columns(names: Vec<String>, columns: Vec<Vec<f64>>) -> Result<Self, ForestError> {
        Self::check_shape(&names, columns.len(), |i| columns[i].len())?;
        let n_rows = columns[0].len();
        let mut data = Vec::with_capacity(n_rows * columns.len());
        for (name, column) in names.iter().zip(&columns) {
            for (row, &v) in column.iter().enumerate() {
                let x = v as f32;
                if !x.is_finite() {
                    return Err(ForestError::NonFiniteFeature {
                        feature: name.clone(),
                        row,
                        value: v,
                    });
                }
                // `+ 0.0` turns -0.0 into 0.0.
                data.push(x + 0.0);
            }
        }
        Ok(Matrix {
            names,
            n_rows,
            data,
        })
    }

    /// Like [`Matrix::from_columns`] for data that is already `f32`.
    pub fn from_f32_columns(
        names: Vec<String>,
        columns: Vec<Vec<f32>>,
    ) -> Result<Self, ForestError> {
        Self::check_shape(&names, columns.len(), |i| columns[i].len())?;
        let n_rows = columns[0].len();
        let mut data = Vec::with_capacity(n_rows * columns.len());
        for (name, column) in names.iter().zip(&columns) {
            for (row, &x) in column.iter().enumerate() {
                if !x.is_finite() {
                    return Err(ForestError::NonFiniteFeature {
                        feature: name.clone(),
                        row,
                        value: f64::from(x),
                    });
                }
                data.push(x + 0.0);
            }
        }
        Ok(Matrix {
            names,
            n_rows,
            data,
        })
    }

    fn check_shape(
        names: &[String],
        n_columns: usize,
        len: impl Fn(usize) -> usize,
    ) -> Result<(), ForestError> {
        if names.len() != n_columns {
            return Err(ForestError::NameCountMismatch {
                names: names.len(),
                columns: n_columns,
            });
        }
        if n_columns == 0 {
            return Err(ForestError::NoFeatures);
        }
        if n_columns >= usize::from(u16::MAX) {
            return Err(ForestError::TooLarge(format!(
                "{n_columns} features (at most {} supported)",
                u16::MAX - 1
            )));
        }
        let mut seen = HashSet::new();
        for name in names {
            if !seen.insert(name.as_str()) {
                return Err(ForestError::DuplicateFeatureName(name.clone()));
            }
        }
        let expected = len(0);
        for (i, name) in names.iter().enumerate() {
            if len(i) != expected {
                return Err(ForestError::RaggedColumns {
                    name: name.clone(),
                    rows: len(i),
                    first: names[0].clone(),
                    expected,
                });
            }
        }
        Ok(())
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of features (columns).
    pub fn n_features(&self) -> usize {
        self.names.len()
    }

    /// Feature names, in column order.
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// Column `feature` as stored (`f32`). Panics if `feature >= n_features()`.
    pub fn column(&self, feature: usize) -> &[f32] {
        &self.data[feature * self.n_rows..(feature + 1) * self.n_rows]
    }
}
