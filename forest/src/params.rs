//! Hyperparameters, named and defaulted as in scikit-learn's `RandomForestRegressor`.

use crate::error::ForestError;
use serde::{Deserialize, Serialize};

/// Hyperparameters of a forest.
///
/// Sample counts (`min_samples_split`, `min_samples_leaf`) count distinct training rows in a
/// node, as scikit-learn does when bootstrapping (a row drawn three times counts once, but
/// weighs three times in the squared-error criterion and the leaf mean).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees (scikit-learn default 100).
    pub n_estimators: usize,
    /// Number of features drawn as split candidates at each node, `1..=n_features`. As in
    /// scikit-learn, constant features count among those drawn, but drawing goes on past
    /// `max_features` until one non-constant feature is found. There is no usable default:
    /// `Default` leaves it at 0, which `fit` rejects (see [`ForestParams::with_max_features`]).
    pub max_features: usize,
    /// A node with fewer distinct rows than this is a leaf (default 2, at least 2).
    pub min_samples_split: usize,
    /// Each child must keep at least this many distinct rows (default 1).
    pub min_samples_leaf: usize,
    /// Maximum depth, the root being at depth 0 (default unlimited).
    pub max_depth: Option<usize>,
    /// Train each tree on n rows drawn with replacement (default true).
    pub bootstrap: bool,
    /// Seed of the forest; tree `i` uses a seed derived from `(seed, i)` only.
    pub seed: u64,
    /// Threads used by `fit` and `predict` (`None`: all available). Results do not depend on it.
    pub n_threads: Option<usize>,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_estimators: 100,
            max_features: 0,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_depth: None,
            bootstrap: true,
            seed: 0,
            n_threads: None,
        }
    }
}

impl ForestParams {
    /// scikit-learn's defaults with the given `max_features`.
    pub fn with_max_features(max_features: usize) -> Self {
        ForestParams {
            max_features,
            ..Self::default()
        }
    }

    /// Checks every parameter against a matrix of `n_features` columns.
    pub fn validate(&self, n_features: usize) -> Result<(), ForestError> {
        if self.max_features == 0 || self.max_features > n_features {
            return Err(ForestError::InvalidMaxFeatures {
                max_features: self.max_features,
                n_features,
            });
        }
        if self.n_estimators == 0 {
            return Err(invalid("n_estimators", "must be at least 1"));
        }
        if self.min_samples_split < 2 {
            return Err(invalid(
                "min_samples_split",
                format!("must be at least 2, got {}", self.min_samples_split),
            ));
        }
        if self.min_samples_leaf == 0 {
            return Err(invalid("min_samples_leaf", "must be at least 1"));
        }
        if self.max_depth == Some(0) {
            return Err(invalid("max_depth", "must be at least 1 (or None)"));
        }
        if self.n_threads == Some(0) {
            return Err(invalid("n_threads", "must be at least 1 (or None)"));
        }
        Ok(())
    }

    /// Threads to use: `n_threads`, or the available parallelism.
    pub(crate) fn threads(&self) -> usize {
        self.n_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ForestError {
    ForestError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}
