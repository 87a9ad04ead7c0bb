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

/// What the forest learns. Either way its forecasts are turned back into the level, so MSEs,
/// the naive forecast and skill compare across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Target {
    /// The original: the next `TYPPRICE` from `TYPPRICE` and its lags. Trees can only predict
    /// levels they have seen, so a price that leaves its training range gets a flat forecast.
    Level,
    /// The next change `TYPPRICE[t+h] − TYPPRICE[t]` from the lag differences
    /// `TYPPRICE − TYPPRICE_LAG_k`; the level forecast is `TYPPRICE + predicted change`.
    Change,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Level => "level",
            Target::Change => "change",
        }
    }

    /// Features the target is learnt from before any extra column: 11 for `level`
    /// (`TYPPRICE` and its lags), 10 for `change` (the lag differences).
    pub fn base_features(self) -> usize {
        match self {
            Target::Level => N_FEATURES,
            Target::Change => N_LAGS,
        }
    }

    /// What the forest is trained to predict, from the level it forecasts and today's price.
    pub fn learnt(self, level: f64, typprice: f64) -> f64 {
        match self {
            Target::Level => level,
            Target::Change => level - typprice,
        }
    }

    /// The level forecast from what the forest predicted. Every stage and the serving path
    /// call this one function, so a served forecast equals the stored one to the bit.
    pub fn level(self, predicted: f64, typprice: f64) -> f64 {
        match self {
            Target::Level => predicted,
            Target::Change => typprice + predicted,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most this many extra raw columns per run (the dataset has 58 besides `date`).
pub const MAX_EXTRA_FEATURES: usize = 58;

/// `TYPPRICE_DIFF_<k>` = `TYPPRICE − TYPPRICE_LAG_<k>`, a feature of the `change` target.
pub fn diff_name(k: usize) -> String {
    format!("{TYPPRICE}_DIFF_{k}")
}

/// The forest's input columns in order: the target's base features, then the extra raw
/// columns as named.
pub fn model_inputs(target: Target, extras: &[String]) -> Vec<String> {
    let base: Vec<String> = match target {
        Target::Level => feature_names(),
        Target::Change => (1..=N_LAGS).map(diff_name).collect(),
    };
    base.into_iter().chain(extras.iter().cloned()).collect()
}

/// One row of base features from the window `prices` = `TYPPRICE` of the last `N_LAGS + 1`
/// minutes, oldest first (the last one is now). The same arithmetic as the stages' matrices.
pub fn base_row(target: Target, prices: &[f64; N_FEATURES]) -> Vec<f64> {
    let now = prices[N_LAGS];
    match target {
        // TYPPRICE, LAG_1 (one minute ago), …, LAG_10.
        Target::Level => (0..=N_LAGS).map(|k| prices[N_LAGS - k]).collect(),
        Target::Change => (1..=N_LAGS).map(|k| now - prices[N_LAGS - k]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_rows_follow_the_input_names() {
        let prices: [f64; N_FEATURES] = std::array::from_fn(|i| 100.0 + i as f64);
        let level = base_row(Target::Level, &prices);
        assert_eq!(model_inputs(Target::Level, &[])[1], "TYPPRICE_LAG_1");
        assert_eq!((level[0], level[1], level[10]), (110.0, 109.0, 100.0));
        let change = base_row(Target::Change, &prices);
        assert_eq!(model_inputs(Target::Change, &[])[0], "TYPPRICE_DIFF_1");
        assert_eq!(change.len(), Target::Change.base_features());
        assert_eq!((change[0], change[9]), (1.0, 10.0));
        let extras = vec!["RSI14".to_string()];
        assert_eq!(model_inputs(Target::Change, &extras).len(), 11);
        for t in [Target::Level, Target::Change] {
            assert_eq!(t.level(t.learnt(105.5, 100.25), 100.25), 105.5);
        }
    }
}
