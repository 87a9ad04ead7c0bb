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

pub use datagen;
pub use forest;
