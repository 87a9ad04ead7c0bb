//! The NIFTY-100 symbols, spelled as in the Kaggle file names.

use crate::GenError;

/// The NIFTY-100 constituents of the dataset's era (2021–22), as they appear in the Kaggle
/// file names. The most traded plain alphanumeric names come first, so a small
/// `symbols_for_count(n)` gives familiar stocks; `M&M`, `BAJAJ-AUTO` and `MCDOWELL-N` come
/// later and exercise the special characters.
pub const NIFTY100: &[&str] = &[
    // NIFTY 50
    "RELIANCE",
    "TCS",
    "INFY",
    "HDFCBANK",
    "ICICIBANK",
    "HINDUNILVR",
    "HDFC",
    "SBIN",
    "BHARTIARTL",
    "KOTAKBANK",
    "ITC",
    "LT",
    "AXISBANK",
    "ASIANPAINT",
    "BAJFINANCE",
    "MARUTI",
    "HCLTECH",
    "WIPRO",
    "SUNPHARMA",
    "TITAN",
    "ULTRACEMCO",
    "NESTLEIND",
    "TECHM",
    "POWERGRID",
    "NTPC",
    "TATASTEEL",
    "M&M",
    "BAJAJ-AUTO",
    "BAJAJFINSV",
    "ONGC",
    "JSWSTEEL",
    "TATAMOTORS",
    "ADANIPORTS",
    "GRASIM",
    "HINDALCO",
    "INDUSINDBK",
    "DIVISLAB",
    "DRREDDY",
    "CIPLA",
    "BRITANNIA",
    "COALINDIA",
    "EICHERMOT",
    "HEROMOTOCO",
    "BPCL",
    "IOC",
    "SHREECEM",
    "UPL",
    "SBILIFE",
    "HDFCLIFE",
    "TATACONSUM",
    // NIFTY Next 50
    "ACC",
    "ADANIENT",
    "ADANIGREEN",
    "ADANITRANS",
    "AMBUJACEM",
    "APOLLOHOSP",
    "AUROPHARMA",
    "BAJAJHLDNG",
    "BANDHANBNK",
    "BANKBARODA",
    "BERGEPAINT",
    "BIOCON",
    "BOSCHLTD",
    "CADILAHC",
    "CHOLAFIN",
    "COLPAL",
    "DABUR",
    "DLF",
    "DMART",
    "GAIL",
    "GLAND",
    "GODREJCP",
    "HAVELLS",
    "HDFCAMC",
    "HINDPETRO",
    "ICICIGI",
    "ICICIPRULI",
    "IGL",
    "INDIGO",
    "INDUSTOWER",
    "JUBLFOOD",
    "LTI",
    "LUPIN",
    "MARICO",
    "MCDOWELL-N",
    "MOTHERSUMI",
    "MUTHOOTFIN",
    "NAUKRI",
    "NMDC",
    "PEL",
    "PGHH",
    "PIDILITIND",
    "PNB",
    "SAIL",
    "SBICARD",
    "SIEMENS",
    "TORNTPHARM",
    "UBL",
    "VEDL",
    "YESBANK",
];

/// The first `n` symbols of [`NIFTY100`]; `n` must be between 1 and its length.
pub fn symbols_for_count(n: usize) -> Result<Vec<String>, GenError> {
    if n == 0 || n > NIFTY100.len() {
        return Err(GenError::SymbolCount {
            requested: n,
            available: NIFTY100.len(),
        });
    }
    Ok(NIFTY100[..n].iter().map(|s| (*s).to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate_symbol;

    #[test]
    fn hundred_unique_valid_symbols() {
        assert_eq!(NIFTY100.len(), 100);
        let mut sorted = NIFTY100.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), NIFTY100.len());
        for s in NIFTY100 {
            validate_symbol(s).unwrap();
        }
        for s in ["M&M", "BAJAJ-AUTO"] {
            assert!(NIFTY100.contains(&s));
        }
        for s in &NIFTY100[..5] {
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn counts() {
        assert_eq!(symbols_for_count(3).unwrap(), ["RELIANCE", "TCS", "INFY"]);
        assert_eq!(symbols_for_count(100).unwrap().len(), 100);
        assert!(matches!(
            symbols_for_count(0),
            Err(GenError::SymbolCount { requested: 0, .. })
        ));
        let err = symbols_for_count(101).unwrap_err();
        assert!(err.to_string().contains("101"), "{err}");
    }
}
