//! Sample-data generator for groves: NIFTY-100-style minute bars with the Kaggle dataset's
//! technical indicators, written in the dataset's exact CSV layout.
//!
//! The dataset ("Stock Market Data – Nifty 100 Stocks (1 min) data") has one file per
//! symbol, `<SYMBOL>_minute_data_with_indicators.csv`, 375 bars a day from 09:15 to 15:29
//! India time, prices on the 0.05 tick, and 54 TA-Lib indicators whose warm-up cells are
//! empty. [`write_symbol`] streams such a file for a synthetic but realistic price series;
//! the same (seed, symbol, days, start) always gives the same bytes.
//!
//! ```
//! let opts = datagen::GenOptions { days: 1, ..Default::default() };
//! let mut csv = Vec::new();
//! let stats = datagen::write_symbol(&mut csv, "TCS", &opts, &mut |_rows| {}).unwrap();
//! assert_eq!(stats.rows, 375);
//! assert!(csv.starts_with(b"date,close,high,low,open,volume,sma5,"));
//! ```

mod error;
mod format;
pub mod indicators;
pub mod layout;
mod rng;
mod sim;
mod symbols;
mod writer;

use chrono::NaiveDate;

pub use error::GenError;
pub use layout::Layout;
pub use sim::{bars, is_trading_day, ist, trading_days, Bar, Bars, BARS_PER_DAY, HOLIDAYS};
pub use symbols::{symbols_for_count, NIFTY100};
pub use writer::{write_symbol, write_symbol_file, GenStats, PROGRESS_EVERY};

/// What to generate for each symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// Trading days (375 rows each); at least 1. The full dataset has ≈1870.
    pub days: usize,
    /// Seeds every symbol's series (together with the symbol's name).
    pub seed: u64,
    /// Column order of the written file; the bars are the same for both layouts.
    pub layout: Layout,
    /// First calendar day; the series starts on the first trading day on or after it.
    pub start: NaiveDate,
}

impl GenOptions {
    /// Days in the default options: 7,500 rows (≈7 MB) per symbol, quick to demo.
    pub const DEFAULT_DAYS: usize = 20;
    /// Seed of the default options.
    pub const DEFAULT_SEED: u64 = 42;

    /// The dataset's first day, 2015-02-02 (a Monday).
    pub fn default_start() -> NaiveDate {
        NaiveDate::from_ymd_opt(2015, 2, 2).expect("2015-02-02 is a valid date")
    }

    /// Rows (bars) per symbol file, header excluded.
    pub fn rows(&self) -> u64 {
        self.days as u64 * BARS_PER_DAY as u64
    }
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            days: Self::DEFAULT_DAYS,
            seed: Self::DEFAULT_SEED,
            layout: Layout::Current,
            start: Self::default_start(),
        }
    }
}

/// A symbol this generator accepts: non-empty, only `A-Z`, `0-9`, `&`, `_` and `-`.
pub fn validate_symbol(symbol: &str) -> Result<(), GenError> {
    let reason = if symbol.is_empty() {
        "it is empty"
    } else if !symbol
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'&' | b'_' | b'-'))
    {
        "only A-Z, 0-9, '&', '_' and '-' are allowed"
    } else {
        return Ok(());
    };
    Err(GenError::InvalidSymbol {
        symbol: symbol.to_string(),
        reason,
    })
}

/// Checks a (symbol, options) pair before anything is generated or written.
pub(crate) fn validate(symbol: &str, opts: &GenOptions) -> Result<(), GenError> {
    validate_symbol(symbol)?;
    if opts.days == 0 {
        return Err(GenError::InvalidDays {
            symbol: symbol.to_string(),
            days: opts.days,
        });
    }
    sim::check_date_range(symbol, opts.start, opts.days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_validation() {
        for ok in ["RELIANCE", "M&M", "BAJAJ-AUTO", "A_1"] {
            validate_symbol(ok).unwrap();
        }
        for bad in ["", "tcs", "TCS ", "A/B", "NIFTY 50", "É"] {
            let err = validate_symbol(bad).unwrap_err();
            assert!(matches!(err, GenError::InvalidSymbol { .. }), "{bad:?}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn option_validation() {
        let opts = GenOptions {
            days: 0,
            ..GenOptions::default()
        };
        let err = validate("TCS", &opts).unwrap_err();
        assert!(matches!(err, GenError::InvalidDays { days: 0, .. }));
        assert!(err.to_string().contains("TCS"), "{err}");
        let opts = GenOptions {
            start: NaiveDate::MAX,
            days: 1,
            ..GenOptions::default()
        };
        assert!(matches!(
            validate("TCS", &opts),
            Err(GenError::DateRange { .. })
        ));
        validate("TCS", &GenOptions::default()).unwrap();
        assert_eq!(GenOptions::default().rows(), 7_500);
    }
}
