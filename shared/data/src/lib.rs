//! groves' data layer: raw Kaggle minute files in, Parquet tables out and back.
//!
//! - [`raw`]: reads the two columns the search needs from a raw CSV file, a block at a time on
//!   every core, with errors naming the file, the row and the column;
//! - [`table`]: one Parquet encoder for every table groves writes (all column chunks of several
//!   tables compressed on all cores), and reading tables back;
//! - [`timing`]: the timing record of a unit as a one-row table, and back.

pub mod raw;
pub mod table;
pub mod timing;
