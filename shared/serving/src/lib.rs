//! Serving a stock's promoted model: [`model`] loads the final groves a serving pointer names
//! and forecasts rows with them (the same sums, in the same order, as test-full: a served
//! forecast equals the stored one to the bit); [`cache`] keeps loaded models within a memory
//! bound; [`request`] turns query strings and JSON bodies into rows, naming any bad field;
//! [`http`] is the API `groves serve` binds and the predict Lambda runs behind its Function URL.

pub mod cache;
pub mod http;
pub mod model;
pub mod request;

pub use cache::{CacheOptions, ModelCache};
pub use model::{LoadedModel, Row};

use groves_store::StoreError;

/// Why a forecast could not be made. [`ServeError::status`] is the HTTP status: the caller's
/// mistakes are 4xx and name the field; only our own failures are 5xx.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("field `{field}`: {problem}")]
    BadField { field: String, problem: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("unknown stock {0}: no raw file and no promoted model in this store")]
    UnknownStock(String),
    #[error(
        "no model promoted for {0} (finish a run of it, or `groves promote --run R --stocks {0}`)"
    )]
    NotPromoted(String),
    #[error("the body is over the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the store could not be read: {0}")]
    Store(#[from] StoreError),
    #[error("the model of {stock} cannot be used: {problem}")]
    Model { stock: String, problem: String },
}

impl ServeError {
    pub fn status(&self) -> u16 {
        match self {
            ServeError::BadField { .. } | ServeError::BadRequest(_) => 400,
            ServeError::UnknownStock(_) | ServeError::NotPromoted(_) => 404,
            ServeError::TooLarge { .. } => 413,
            ServeError::Store(_) => 503,
            ServeError::Model { .. } => 500,
        }
    }

    /// The field at fault, for the answer's `field`.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServeError::BadField { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn field_err(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ServeError::BadField {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
