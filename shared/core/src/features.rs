//! Names of the processed feature table's columns.

/// The price the search forecasts: the typical price (high + low + close) / 3 of a minute bar.
pub const TYPPRICE: &str = "TYPPRICE";
/// Number of lags of `TYPPRICE` used as features.
pub const N_LAGS: usize = 10;
/// Features per row: `TYPPRICE` and its lags.
pub const N_FEATURES: usize = 1 + N_LAGS;
/// The next minute's `TYPPRICE`.
pub const TARGET: &str = "TYPPRICE_TARGET";

/// Position of the row in the processed (kept, time-ordered) series: splits are disjoint sets
/// of these and together cover them all.
pub const ROW: &str = "row";
/// The bar's time as written in the raw file (India wall clock, +05:30), millisecond precision.
pub const DATE: &str = "date";
/// Calendar parts of `date`, kept as the original pipeline did.
pub const CALENDAR: [&str; 5] = ["month", "day", "hour", "minute", "day_of_week"];

/// `TYPPRICE_LAG_<k>` for k in 1..=10.
pub fn lag_name(k: usize) -> String {
    format!("{TYPPRICE}_LAG_{k}")
}

/// The feature columns in model order: `TYPPRICE`, `TYPPRICE_LAG_1` … `TYPPRICE_LAG_10`.
pub fn feature_names() -> Vec<String> {
    std::iter::once(TYPPRICE.to_string())
        .chain((1..=N_LAGS).map(lag_name))
        .collect()
}
