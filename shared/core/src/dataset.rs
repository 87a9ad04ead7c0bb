//! The Kaggle dataset ("Stock Market Data – Nifty 100 Stocks (1 min) data" with indicators):
//! its file names and its two header versions.
//!
//! Processing validates headers against these constants and the sample-data generator writes
//! them, so they must stay exactly as the dataset spells them (case included: `HT_TRENDLINE`,
//! `slowk`, `Trange`, …).

/// Every raw file is named `<SYMBOL>` followed by this suffix.
pub const FILE_SUFFIX: &str = "_minute_data_with_indicators.csv";

/// Header of the current version of the dataset, in file order (60 columns).
pub const CURRENT_COLUMNS: [&str; 60] = [
    "date",
    "close",
    "high",
    "low",
    "open",
    "volume",
    "sma5",
    "sma10",
    "sma15",
    "sma20",
    "ema5",
    "ema10",
    "ema15",
    "ema20",
    "upperband",
    "middleband",
    "lowerband",
    "HT_TRENDLINE",
    "KAMA10",
    "KAMA20",
    "KAMA30",
    "SAR",
    "TRIMA5",
    "TRIMA10",
    "TRIMA20",
    "ADX5",
    "ADX10",
    "ADX20",
    "APO",
    "CCI5",
    "CCI10",
    "CCI15",
    "macd510",
    "macd520",
    "macd1020",
    "macd1520",
    "macd1226",
    "MFI",
    "MOM10",
    "MOM15",
    "MOM20",
    "ROC5",
    "ROC10",
    "ROC20",
    "PPO",
    "RSI14",
    "RSI8",
    "slowk",
    "slowd",
    "fastk",
    "fastd",
    "fastksr",
    "fastdsr",
    "ULTOSC",
    "WILLR",
    "ATR",
    "Trange",
    "TYPPRICE",
    "HT_DCPERIOD",
    "BETA",
];

/// Header of the older ("legacy") version: `open` first among the prices and no `MFI`
/// (59 columns); the indicators otherwise keep the current order.
pub const LEGACY_COLUMNS: [&str; 59] = [
    "date",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "sma5",
    "sma10",
    "sma15",
    "sma20",
    "ema5",
    "ema10",
    "ema15",
    "ema20",
    "upperband",
    "middleband",
    "lowerband",
    "HT_TRENDLINE",
    "KAMA10",
    "KAMA20",
    "KAMA30",
    "SAR",
    "TRIMA5",
    "TRIMA10",
    "TRIMA20",
    "ADX5",
    "ADX10",
    "ADX20",
    "APO",
    "CCI5",
    "CCI10",
    "CCI15",
    "macd510",
    "macd520",
    "macd1020",
    "macd1520",
    "macd1226",
    "MOM10",
    "MOM15",
    "MOM20",
    "ROC5",
    "ROC10",
    "ROC20",
    "PPO",
    "RSI14",
    "RSI8",
    "slowk",
    "slowd",
    "fastk",
    "fastd",
    "fastksr",
    "fastdsr",
    "ULTOSC",
    "WILLR",
    "ATR",
    "Trange",
    "TYPPRICE",
    "HT_DCPERIOD",
    "BETA",
];

/// The raw column holding the bar time.
pub const DATE_COLUMN: &str = "date";

/// Which version of the dataset's header a file follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// `date,close,high,low,open,volume,…` with `MFI` (60 columns).
    #[default]
    Current,
    /// `date,open,high,low,close,volume,…` without `MFI` (59 columns).
    Legacy,
}

impl Layout {
    /// The header of this layout, in file order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Layout::Current => &CURRENT_COLUMNS,
            Layout::Legacy => &LEGACY_COLUMNS,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Current => "current",
            Layout::Legacy => "legacy",
        }
    }
}

/// `<SYMBOL>_minute_data_with_indicators.csv`
pub fn raw_file_name(symbol: &str) -> String {
    format!("{symbol}{FILE_SUFFIX}")
}

/// The symbol of a raw file name (`RELIANCE_minute_data_with_indicators.csv` → `RELIANCE`).
///
/// Takes a bare file name: `None` when the suffix is missing, nothing precedes it, or the
/// prefix holds a path separator. The prefix is otherwise returned as is, because real
/// files may carry names this generator would never produce; callers validate it.
pub fn symbol_from_file_name(name: &str) -> Option<&str> {
    let symbol = name.strip_suffix(FILE_SUFFIX)?;
    if symbol.is_empty() || symbol.contains(['/', '\\']) {
        return None;
    }
    Some(symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_is_current_reordered_without_mfi() {
        let mut expected: Vec<&str> = vec!["date", "open", "high", "low", "close", "volume"];
        expected.extend(CURRENT_COLUMNS[6..].iter().filter(|c| **c != "MFI"));
        assert_eq!(expected, LEGACY_COLUMNS.to_vec());
        let mut prices = CURRENT_COLUMNS[1..6].to_vec();
        prices.sort_unstable();
        assert_eq!(prices, ["close", "high", "low", "open", "volume"]);
    }

    #[test]
    fn column_names_are_unique() {
        for cols in [Layout::Current.columns(), Layout::Legacy.columns()] {
            let mut sorted = cols.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), cols.len());
        }
    }

    #[test]
    fn file_names_round_trip() {
        assert_eq!(raw_file_name("M&M"), "M&M_minute_data_with_indicators.csv");
        for s in ["RELIANCE", "M&M", "BAJAJ-AUTO", "MCDOWELL-N"] {
            assert_eq!(symbol_from_file_name(&raw_file_name(s)), Some(s));
        }
        assert_eq!(symbol_from_file_name(FILE_SUFFIX), None);
        assert_eq!(symbol_from_file_name("RELIANCE.csv"), None);
        assert_eq!(
            symbol_from_file_name("raw/TCS_minute_data_with_indicators.csv"),
            None
        );
        assert_eq!(
            symbol_from_file_name("TCS_minute_data_with_indicators.csv.gz"),
            None
        );
    }
}
