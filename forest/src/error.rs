//! The one error type of the crate: every bad input is reported here, never as a panic.

use thiserror::Error;

/// Everything that can go wrong when building, training, using or loading a forest.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ForestError {
    /// A matrix needs at least one feature column.
    #[error("the feature matrix has no columns")]
    NoFeatures,

    /// Training needs at least one row.
    #[error("no training rows: the feature matrix is empty")]
    NoRows,

    /// `names` and `columns` passed to `Matrix::from_columns` differ in length.
    #[error("{names} feature names were given for {columns} columns")]
    NameCountMismatch { names: usize, columns: usize },

    /// Two feature columns carry the same name.
    #[error("feature name {0:?} appears more than once")]
    DuplicateFeatureName(String),

    /// Feature columns must all have the same length.
    #[error("feature column {name:?} has {rows} rows but column {first:?} has {expected}")]
    RaggedColumns {
        name: String,
        rows: usize,
        first: String,
        expected: usize,
    },

    /// A feature value is NaN or infinite (or too large for `f32`, which is how features are held).
    #[error("feature {feature:?} has a non-finite value {value} at row {row} (features are held as f32)")]
    NonFiniteFeature {
        feature: String,
        row: usize,
        value: f64,
    },

    /// The target must have one value per matrix row.
    #[error("the target has {targets} values but the feature matrix has {rows} rows")]
    LengthMismatch { rows: usize, targets: usize },

    /// A target value is NaN or infinite.
    #[error("the target has a non-finite value {value} at row {row}")]
    NonFiniteTarget { row: usize, value: f64 },

    /// `max_features` must lie in `1..=n_features`.
    #[error(
        "max_features must be between 1 and the feature count {n_features}, got {max_features}"
    )]
    InvalidMaxFeatures {
        max_features: usize,
        n_features: usize,
    },

    /// Any other out-of-range hyperparameter.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },

    /// More rows or features than the compact index types can address.
    #[error("too large: {0}")]
    TooLarge(String),

    /// The matrix given to `predict` does not have the features the forest was trained on.
    #[error("feature mismatch: the forest was trained on {expected:?} but got {found:?}")]
    FeatureMismatch {
        expected: Vec<String>,
        found: Vec<String>,
    },

    /// The kernel version asked for by `FOREST_KERNELS` (or `FOREST_NO_SIMD`) cannot be used:
    /// unknown, contradictory, or not runnable on this CPU (see `kernels_in_use`).
    #[error("kernel choice: {0}")]
    Kernels(String),

    /// The rayon thread pool could not be created.
    #[error("could not start the thread pool: {0}")]
    ThreadPool(String),

    /// `average_predictions` was given no groves.
    #[error("no predictions to average")]
    NothingToAverage,

    /// `average_predictions` was given groves of different lengths.
    #[error("grove {index} has {found} predictions but grove 0 has {expected}")]
    PredictionLengthMismatch {
        index: usize,
        expected: usize,
        found: usize,
    },

    /// Forests that cannot be merged into one (different features, parameters or data).
    #[error("cannot merge forests: {0}")]
    IncompatibleForests(String),

    /// The bytes do not start with the model file magic.
    #[error("not a groves forest model (bad magic bytes)")]
    NotAModel,

    /// A model written by a different (older or newer) format version.
    #[error("unsupported model format version {found}; this build reads version {supported}")]
    UnsupportedVersion { found: u32, supported: u32 },

    /// The file ends early, or has trailing bytes.
    #[error("model file has the wrong length: header says {expected} bytes, found {found}")]
    Truncated { expected: u64, found: u64 },

    /// The checksum does not match or the content is structurally invalid.
    #[error("corrupt model file: {0}")]
    Corrupt(String),

    /// Serialisation failed (should not happen for a valid forest).
    #[error("could not encode the model: {0}")]
    Encode(String),
}
