//! What a run asks for: the grid, grove counts, the split and lag options, retries — and their
//! defaults, which are the original method. Once resolved (run id and stocks filled in) a
//! [`RunSpec`] is the run's manifest.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::features::Target;
use crate::ids::{RunId, Symbol};
use crate::unit::Setting;

/// The target new runs learn when they name none (measured better than `level` on generated
/// minute data; README, "What the forest learns").
pub const DEFAULT_TARGET: Target = Target::Change;

/// Minutes ahead a forecast may reach: one trading day.
pub const MAX_HORIZON: u32 = 375;

/// A named method: a bundle of choices that one flag selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Method {
    /// The original pipeline's learning problem: the next minute's level from `TYPPRICE` and
    /// its 10 lags, nothing else. (The split stays its own choice: `split: random` is the
    /// original's.)
    Original,
}

/// How the processed series is cut into train / validation / test (64 / 16 / 20 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SplitMethod {
    /// In time order: train is the oldest 64 %, test the newest 20 %. No future leaks into
    /// training, so the forecast skill it reports is honest.
    #[default]
    Chronological,
    /// Rows drawn at random with a seed, as the original pipeline did (for comparison).
    Random,
}

impl SplitMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SplitMethod::Chronological => "chronological",
            SplitMethod::Random => "random",
        }
    }
}

/// Whether lags and the target may reach across the overnight gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LagScope {
    /// As the original: the series is one sequence; the first minute of a day lags into the
    /// previous day's last minutes.
    #[default]
    AcrossDays,
    /// Rows whose lags or target would cross a day boundary are dropped.
    WithinDay,
}

impl LagScope {
    pub fn as_str(self) -> &'static str {
        match self {
            LagScope::AcrossDays => "across-days",
            LagScope::WithinDay => "within-day",
        }
    }
}

/// The three parts of a processed series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seed the original pipeline used for its split.
pub const DEFAULT_SEED: u64 = 2019;

/// Upper bounds that catch typos (a grove of 10⁶ trees is a mistake, not a plan).
pub const MAX_TREES_PER_GROVE: u32 = 10_000;
pub const MAX_GROVES: u32 = 10_000;

pub(crate) fn default_seed() -> u64 {
    DEFAULT_SEED
}

/// How the search spends its groves across the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SearchMethod {
    /// As the original: every setting gets all its groves.
    #[default]
    Grid,
    /// Successive halving: every setting gets one grove, the better half (by validation MSE)
    /// get twice as many, and so on until the survivors have the full number of groves; the
    /// winner is chosen among those.
    Halving,
}

impl SearchMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMethod::Grid => "grid",
            SearchMethod::Halving => "halving",
        }
    }

    fn is_grid(&self) -> bool {
        *self == SearchMethod::Grid
    }
}

/// One round of the search: how many settings take part, and how many groves each has once
/// the round is through (groves `0..groves`; a round adds those its settings lack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Round {
    pub settings: usize,
    pub groves: u32,
}

/// The `type` of a whole-run event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    #[default]
    Run,
}

fn default_feats() -> Vec<u32> {
    vec![5, 7, 9]
}
fn default_samps() -> Vec<u32> {
    vec![5, 15, 25]
}
fn default_groves() -> u32 {
    3
}
fn default_trees() -> u32 {
    100
}
fn default_final_groves() -> u32 {
    30
}
fn default_final_trees() -> u32 {
    25
}
fn default_max_attempts() -> u32 {
    3
}
fn default_unit_timeout_s() -> u64 {
    900
}
fn default_memory_mb() -> u32 {
    1769
}
pub(crate) fn default_horizon() -> u32 {
    1
}
fn default_promote() -> bool {
    true
}

/// `{"type": "run", …}`: the whole search, driven stage after stage by the parent. Every field
/// but `type` has a default: the original method (grid 5,7,9 × 5,15,25; 3 groves of 100 trees
/// per setting; 30 final groves of 25 trees).
///
/// Once resolved (run id and stocks filled in) it is the run's manifest, stored under
/// `runs/run=<run>/run.json`; every later stage reads its parameters from there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    #[serde(rename = "type", default)]
    pub kind: RunKind,
    #[serde(default)]
    pub bucket: Option<String>,
    /// None: derived from the parameters and the raw files, so the same request resumes the
    /// same run.
    #[serde(default)]
    pub run: Option<RunId>,
    /// Empty: every raw file in the bucket.
    #[serde(default)]
    pub stocks: Vec<Symbol>,
    /// `max_features` values of the grid.
    #[serde(default = "default_feats")]
    pub feat: Vec<u32>,
    /// `min_samples_split` values of the grid.
    #[serde(default = "default_samps")]
    pub samp: Vec<u32>,
    /// Groves per setting in the search, and trees per grove.
    #[serde(default = "default_groves")]
    pub groves: u32,
    #[serde(default = "default_trees")]
    pub trees: u32,
    /// Final groves (best setting, train + validation), and trees per final grove.
    #[serde(default = "default_final_groves")]
    pub final_groves: u32,
    #[serde(default = "default_final_trees")]
    pub final_trees: u32,
    #[serde(default)]
    pub split: SplitMethod,
    /// `grid` (the original) or `halving`. Left out of a grid run's manifest, so the run ids
    /// derived before the field existed still resume.
    #[serde(default, skip_serializing_if = "SearchMethod::is_grid")]
    pub search: SearchMethod,
    /// Seed of the split and of every grove (each grove's seed is derived from it, the stock,
    /// the setting and the grove number).
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub lags: LagScope,
    /// `original` selects the original learning problem (level, 1 minute, no extra column);
    /// `target`, `horizon` and `features` may then only repeat it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// What the forest learns; None: the method's (`level` for `original`), else
    /// [`DEFAULT_TARGET`]. A prepared run's manifest always says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Minutes ahead the forecast is for.
    #[serde(default = "default_horizon")]
    pub horizon: u32,
    /// Extra raw columns (by their names in the Kaggle header) used as features beside the
    /// price features, e.g. `["RSI14", "ATR"]`.
    #[serde(default)]
    pub features: Vec<String>,
    /// Train on the bars up to this minute only (`YYYY-MM-DD HH:MM`, India time), the live
    /// minutes under `live/minutes/` after the raw file's last bar included: a retraining run
    /// on the data up to then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Promote a stock only if the new final groves beat its serving model on this run's test
    /// rows (the newest held-out minutes of a chronological split); else keep the old one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promote_if_better: bool,
    /// When the run finishes, point each stock's serving model (`models/current/`) at this
    /// run's final groves (stocks whose test MSE is complete only).
    #[serde(default = "default_promote")]
    pub promote: bool,
    /// Accept an MSE averaged over fewer groves than planned when some keep failing.
    #[serde(default)]
    pub allow_missing: bool,
    /// Invocations of one unit of work before it counts as failed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// A unit that has not reported this many seconds after its invocation is invoked again.
    #[serde(default = "default_unit_timeout_s")]
    pub unit_timeout_s: u64,
    /// Lambda memory size assumed for the GB-second and cost estimate of units that did not
    /// run on Lambda (1769 MB is one full vCPU, which is what a local unit uses).
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u32,
}

impl Default for RunSpec {
    fn default() -> Self {
        // An empty object takes every serde default, so the two can never disagree.
        serde_json::from_str("{}").unwrap_or_else(|e| unreachable!("RunSpec defaults: {e}"))
    }
}

impl RunSpec {
    /// What the forest learns, resolved.
    pub fn target(&self) -> Target {
        self.target.unwrap_or(match self.method {
            Some(Method::Original) => Target::Level,
            None => DEFAULT_TARGET,
        })
    }

    /// Input columns of the forest, in order.
    pub fn model_inputs(&self) -> Vec<String> {
        crate::features::model_inputs(self.target(), &self.features)
    }

    /// The settings of the grid, in the order of the manifest (feat outer, samp inner).
    pub fn grid(&self) -> Vec<Setting> {
        self.feat
            .iter()
            .flat_map(|&feat| self.samp.iter().map(move |&samp| Setting { feat, samp }))
            .collect()
    }

    /// The rounds of the search. A grid is one round: every setting, every grove. Halving starts
    /// with every setting at one grove; each next round keeps the better half (rounded up) and
    /// doubles their groves, capped at `groves`; the round that reaches `groves` (or has one
    /// setting left, which then gets them all) is the last. 9 settings × 3 groves: 9×1, 5×2,
    /// 3×3 = 17 groves trained instead of 27.
    pub fn rounds(&self) -> Vec<Round> {
        let n = self.grid().len();
        if self.search == SearchMethod::Grid {
            return vec![Round {
                settings: n,
                groves: self.groves,
            }];
        }
        let mut rounds = Vec::new();
        let (mut settings, mut groves) = (n, self.groves.min(1));
        loop {
            if groves >= self.groves || settings <= 1 {
                rounds.push(Round {
                    settings,
                    groves: self.groves,
                });
                return rounds;
            }
            rounds.push(Round { settings, groves });
            settings = settings.div_ceil(2);
            groves = (groves * 2).min(self.groves);
        }
    }

    /// Search groves the rounds train, over all settings of one stock.
    pub fn search_groves(&self) -> u64 {
        let mut had = 0u32;
        let mut total = 0u64;
        for r in self.rounds() {
            total += r.settings as u64 * u64::from(r.groves - had);
            had = r.groves;
        }
        total
    }

    /// What the search does, in one line (the CLI's report and the HTML page's header):
    /// `grid max_features [5, 7, 9] × min_samples_split [5, 15, 25] · 3 groves × 100 trees,
    /// final 30 × 25 · split chronological (seed 2019)`.
    pub fn summary(&self) -> String {
        let extras = if self.features.is_empty() {
            String::new()
        } else {
            format!(" + {}", self.features.join(","))
        };
        let halving = match self.search {
            SearchMethod::Grid => String::new(),
            SearchMethod::Halving => format!(
                " · halving {} ({} of {} groves)",
                self.rounds()
                    .iter()
                    .map(|r| format!("{}×{}", r.settings, r.groves))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.search_groves(),
                self.grid().len() as u64 * u64::from(self.groves)
            ),
        };
        format!(
            "target {} {} min ahead{extras} · grid max_features {:?} × min_samples_split {:?}{halving} · {} groves × {} trees, final {} × {} · split {} (seed {})",
            self.target(),
            self.horizon,
            self.feat,
            self.samp,
            self.groves,
            self.trees,
            self.final_groves,
            self.final_trees,
            self.split.as_str(),
            self.seed
        )
    }

    /// The grid as the command line writes it: `5,7,9x5,15,25`.
    pub fn grid_arg(&self) -> String {
        let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        format!("{}x{}", join(&self.feat), join(&self.samp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_grid_the_groves_and_the_split() {
        let spec = RunSpec {
            feat: vec![5, 9],
            samp: vec![25],
            groves: 2,
            trees: 8,
            final_groves: 3,
            final_trees: 6,
            split: SplitMethod::Random,
            seed: 7,
            ..RunSpec::default()
        };
        assert_eq!(
            spec.summary(),
            "target change 1 min ahead · grid max_features [5, 9] × min_samples_split [25] · 2 groves × 8 trees, final 3 × 6 · split random (seed 7)"
        );
    }

    #[test]
    fn halving_rounds_halve_the_settings_and_double_the_groves() {
        let spec = |feat: Vec<u32>, samp: Vec<u32>, groves: u32, search| RunSpec {
            feat,
            samp,
            groves,
            search,
            ..RunSpec::default()
        };
        let rounds = |s: &RunSpec| -> Vec<(usize, u32)> {
            s.rounds().iter().map(|r| (r.settings, r.groves)).collect()
        };
        let original = spec(vec![5, 7, 9], vec![5, 15, 25], 3, SearchMethod::Halving);
        assert_eq!(rounds(&original), [(9, 1), (5, 2), (3, 3)]);
        assert_eq!(original.search_groves(), 9 + 5 + 3);
        assert!(original
            .summary()
            .contains("halving 9×1, 5×2, 3×3 (17 of 27 groves)"));
        let grid = spec(vec![5, 7, 9], vec![5, 15, 25], 3, SearchMethod::Grid);
        assert_eq!(rounds(&grid), [(9, 3)]);
        assert_eq!(grid.search_groves(), 27);
        assert!(!grid.summary().contains("halving"));
        // One grove per setting: nothing to halve.
        let one = spec(vec![5, 7, 9], vec![5, 15, 25], 1, SearchMethod::Halving);
        assert_eq!(rounds(&one), [(9, 1)]);
        // One setting: it gets every grove at once.
        let single = spec(vec![5], vec![15], 4, SearchMethod::Halving);
        assert_eq!(rounds(&single), [(1, 4)]);
        // Many groves: halving stops when one setting is left, and it gets the rest.
        let long = spec(vec![1, 2, 3, 4], vec![2], 8, SearchMethod::Halving);
        assert_eq!(rounds(&long), [(4, 1), (2, 2), (1, 8)]);
        assert_eq!(long.search_groves(), 4 + 2 + 6);
        // The field stays out of a grid run's manifest (its derived run id is unchanged).
        let json = serde_json::to_value(&grid).unwrap();
        assert!(json.get("search").is_none(), "{json}");
        let json = serde_json::to_value(&original).unwrap();
        assert_eq!(json["search"], "halving");
    }

    #[test]
    fn the_default_is_the_original_method() {
        let spec = RunSpec::default();
        assert_eq!(spec.grid().len(), 9);
        assert_eq!(spec.grid()[1], Setting { feat: 5, samp: 15 });
        assert_eq!(spec.grid_arg(), "5,7,9x5,15,25");
        assert_eq!((spec.groves, spec.trees), (3, 100));
        assert_eq!((spec.final_groves, spec.final_trees), (30, 25));
        assert_eq!(spec.seed, DEFAULT_SEED);
    }
}
