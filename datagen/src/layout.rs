//! The Kaggle CSV layouts the generator writes: file names and the two header versions, as
//! groves' domain crate defines them (processing checks headers against the same constants).

pub use groves_core::dataset::{
    raw_file_name, symbol_from_file_name, Layout, CURRENT_COLUMNS, FILE_SUFFIX, LEGACY_COLUMNS,
};
