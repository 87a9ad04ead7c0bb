use std::io;
use std::path::PathBuf;

use chrono::NaiveDate;

/// Everything that can go wrong while generating; each variant names the symbol or path.
///
/// Wrapped I/O errors are exposed through `source()` (not repeated in the message), so an
/// `anyhow` chain or `{:#}` prints each cause once.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The symbol is empty or has a character outside `[A-Z0-9&_-]`.
    #[error("invalid symbol {symbol:?}: {reason}")]
    InvalidSymbol {
        symbol: String,
        reason: &'static str,
    },
    /// `days` was 0.
    #[error("{symbol}: days must be at least 1 (got {days})")]
    InvalidDays { symbol: String, days: usize },
    /// The requested trading days would run past the last date chrono can represent.
    #[error("{symbol}: {days} trading days from {start} run past the last representable date")]
    DateRange {
        symbol: String,
        start: NaiveDate,
        days: usize,
    },
    /// `symbols_for_count` was asked for 0 or more symbols than the list has.
    #[error("cannot pick {requested} symbols: the NIFTY-100 list has {available} (ask for 1 to {available})")]
    SymbolCount { requested: usize, available: usize },
    /// Writing the CSV to the caller's writer failed.
    #[error("{symbol}: writing the CSV failed")]
    Write {
        symbol: String,
        #[source]
        source: io::Error,
    },
    /// A file-system step of `write_symbol_file` failed.
    #[error("{symbol}: cannot {action} {}", path.display())]
    File {
        symbol: String,
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
