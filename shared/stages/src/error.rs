//! Why a stage failed, and the kind of failure a person filters on (in CloudWatch, the Lambda
//! error type).

use forest::ForestError;
use groves_core::events::EventError;
use groves_store::StoreError;
use polars_core::prelude::PolarsError;

use crate::processing::ProcessingError;

/// Why a stage failed. Each names the stock, the object or the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Event(EventError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Processing(#[from] ProcessingError),
    #[error("{key}: {source}")]
    Table {
        key: String,
        #[source]
        source: PolarsError,
    },
    #[error("{key}: column `{column}`: {problem}")]
    Column {
        key: String,
        column: String,
        problem: String,
    },
    #[error("{stock}: {source}")]
    Forest {
        stock: String,
        #[source]
        source: ForestError,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{what} is missing: {key} does not exist ({hint})")]
    Missing {
        what: String,
        key: String,
        hint: &'static str,
    },
    #[error("{stage} {unit}: injected failure (GROVES_FAULT)")]
    Injected { stage: String, unit: String },
    #[error("{stage}: {message}")]
    Parent { stage: String, message: String },
}

impl From<EventError> for StageError {
    fn from(e: EventError) -> Self {
        StageError::Event(e)
    }
}

impl StageError {
    /// What kind of failure this is, as a stable name: the error type of a Lambda failure.
    pub fn kind(&self) -> &'static str {
        match self {
            StageError::Event(_) => "InvalidEvent",
            StageError::Store(e) => store_kind(e),
            StageError::Processing(ProcessingError::Store(e)) => store_kind(e),
            StageError::Processing(ProcessingError::Table { .. }) => "Internal",
            StageError::Processing(_) => "InvalidData",
            StageError::Table { .. } | StageError::Column { .. } => "InvalidData",
            StageError::Forest { .. } => "TrainingFailed",
            StageError::Invalid(_) => "InvalidInput",
            StageError::Missing { .. } => "MissingInput",
            StageError::Injected { .. } => "InjectedFailure",
            StageError::Parent { .. } => "RunFailed",
        }
    }
}

fn store_kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::NotFound { .. } => "MissingInput",
        StoreError::InvalidKey { .. } => "InvalidInput",
        StoreError::Io { .. } | StoreError::Remote { .. } => "StoreUnavailable",
        StoreError::Config { .. } => "Misconfigured",
    }
}

pub type Result<T, E = StageError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use groves_core::stage::Stage;

    #[test]
    fn kinds_name_what_a_person_can_act_on() {
        let missing = StageError::Store(StoreError::NotFound {
            store: "s3://b".into(),
            key: "k".into(),
        });
        assert_eq!(missing.kind(), "MissingInput");
        let down = StageError::Store(StoreError::Remote {
            store: "s3://b".into(),
            op: "get",
            key: "k".into(),
            message: "503 SlowDown".into(),
        });
        assert_eq!(down.kind(), "StoreUnavailable");
        let event = StageError::from(EventError {
            stage: Stage::MinMse,
            problem: "missing field `stock`".into(),
        });
        assert_eq!(event.kind(), "InvalidEvent");
        assert!(event.to_string().contains("missing field `stock`"));
    }
}
