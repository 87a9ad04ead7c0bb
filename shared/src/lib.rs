//! groves: a per-stock random-forest hyperparameter search on minute stock data, cut into
//! small groves that coordinate only through keys in one bucket.
//!
//! Every stage's logic lives here as a plain function over a [`store::Store`]; the Lambda
//! crates under `functions/` and the `groves` CLI only parse input and call these.

pub mod events;
pub mod features;
pub mod ids;
pub mod invoke;
pub mod lambda;
pub mod layout;
pub mod pricing;
pub mod raw;
pub mod report;
pub mod stages;
pub mod store;
pub mod table;
pub mod timing;
pub mod trigger;

/// What built this library: the crate version and the git commit (`shared/build.rs`; `unknown`
/// when built outside a clone). Recorded in the parent's stage logs and shown in the report.
pub const CODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("GROVES_GIT_COMMIT"));

pub use datagen;
pub use forest;
