//! groves' domain, with nothing heavy under it: no polars, no AWS SDK, no async runtime.
//!
//! - [`stage`]: the stages of a run, in order;
//! - [`spec`]: what a run asks for (the grid, grove counts, split and lag options) and its
//!   defaults — the original method;
//! - [`unit`]: the units of work a stage is cut into, and a search setting;
//! - [`events`]: the JSON event of every stage, parsed and checked;
//! - [`ids`], [`dataset`]: stock symbols, run ids, the Kaggle files' names and headers;
//! - [`layout`]: every object key;
//! - [`serving`]: the pointer to a stock's serving model;
//! - [`calendar`], [`features`], [`timing`], [`pricing`]: bar times, column names, the timing
//!   record, Lambda prices.

pub mod calendar;
pub mod dataset;
pub mod events;
pub mod features;
pub mod ids;
pub mod layout;
pub mod pricing;
pub mod serving;
pub mod spec;
pub mod stage;
pub mod timing;
pub mod unit;
