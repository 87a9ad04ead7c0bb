//! The JSON events each stage takes, with the original pipeline's field names.
//!
//! Parsing goes through [`parse_event`], which names the field at fault for a missing field, a
//! wrong type or an out-of-range value.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::features::N_FEATURES;
use crate::ids::{RunId, Symbol};

/// The stages of a search, in the order a run goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Parent,
    Processing,
    ParamPreds,
    PredMses,
    MinMse,
    TrainFull,
    TestFull,
    TimingMetrics,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Parent,
        Stage::Processing,
        Stage::ParamPreds,
        Stage::PredMses,
        Stage::MinMse,
        Stage::TrainFull,
        Stage::TestFull,
        Stage::TimingMetrics,
    ];

    /// The canonical name: also the Lambda function's crate and the `stage=` partition value.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parent => "parent",
            Stage::Processing => "processing",
            Stage::ParamPreds => "param-preds",
            Stage::PredMses => "pred-mses",
            Stage::MinMse => "min-mse",
            Stage::TrainFull => "train-full",
            Stage::TestFull => "test-full",
            Stage::TimingMetrics => "timing-metrics",
        }
    }

    /// Accepts the canonical name and the spellings the original pipeline used
    /// (`parampreds`, `param_preds`, `predmses`, …): case, `-` and `_` are ignored.
    pub fn from_name(name: &str) -> Result<Stage, UnknownStage> {
        let norm: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str().replace('-', "") == norm)
            .ok_or_else(|| UnknownStage(name.to_string()))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::from_name(s)
    }
}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Stage::from_name(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage {0:?}; the stages are parent, processing, param-preds, pred-mses, min-mse, train-full, test-full, timing-metrics")]
pub struct UnknownStage(pub String);

/// How the processed series is cut into train / validation / test (64 / 16 / 20 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// The seed the original pipeline used for its split.
pub const DEFAULT_SEED: u64 = 2019;

fn default_seed() -> u64 {
    DEFAULT_SEED
}

/// `{"type": "<stage>"}`: fan out one stage's units of work (the original parent). The run's
/// manifest (written by the whole-run event) says what the units are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOutEvent {
    #[serde(rename = "type")]
    pub stage: Stage,
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub run: RunId,
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
    /// Seed of the split and of every grove (each grove's seed is derived from it, the stock,
    /// the setting and the grove number).
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub lags: LagScope,
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

/// The parent's two kinds of event.
#[derive(Debug, Clone, PartialEq)]
pub enum ParentEvent {
    /// Fan out one stage (the original behaviour).
    FanOut(FanOutEvent),
    /// Drive a whole run.
    Run(Box<RunSpec>),
}

/// Process one raw CSV into features and splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingEvent {
    /// Bucket holding the raw file.
    pub inbucket: String,
    /// Bucket receiving the tables (the same bucket in groves' one-bucket layout).
    pub outbucket: String,
    /// The raw file: its Kaggle name (`TCS_minute_data_with_indicators.csv`) or its key
    /// (`raw/TCS_minute_data_with_indicators.csv`).
    pub file: String,
    #[serde(default)]
    pub run: RunId,
    #[serde(default)]
    pub split: SplitMethod,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub lags: LagScope,
    #[serde(default)]
    pub invoked_at: Option<i64>,
}

/// Train one grove of the search on the training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamPredsEvent {
    pub bucket: String,
    pub stock: Symbol,
    /// `max_features`: how many of the features each split considers.
    pub feat: u32,
    /// `min_samples_split`.
    pub samp: u32,
    pub n_estimators: u32,
    /// Grove number within the setting.
    pub pred_num: u32,
    #[serde(default)]
    pub run: RunId,
    /// The run's seed; the grove's own seed is derived from it and the grove's identity.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// When the parent invoked this unit (Unix ms): gives the invocation latency.
    #[serde(default)]
    pub invoked_at: Option<i64>,
}

/// Stages that work on one whole stock: pred-mses, min-mse, test-full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockEvent {
    pub bucket: String,
    pub stock: Symbol,
    #[serde(default)]
    pub run: RunId,
    #[serde(default)]
    pub invoked_at: Option<i64>,
}

/// Train one final grove with the best setting on train + validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainFullEvent {
    pub bucket: String,
    pub stock: Symbol,
    pub n_estimators: u32,
    pub pred_num: u32,
    #[serde(default)]
    pub run: RunId,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub invoked_at: Option<i64>,
}

/// Gather the timing records of a run (`{}` in the original).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingMetricsEvent {
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub run: RunId,
    #[serde(default)]
    pub invoked_at: Option<i64>,
}

/// Any stage's event, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum StageEvent {
    Parent(ParentEvent),
    Processing(ProcessingEvent),
    ParamPreds(ParamPredsEvent),
    PredMses(StockEvent),
    MinMse(StockEvent),
    TrainFull(TrainFullEvent),
    TestFull(StockEvent),
    TimingMetrics(TimingMetricsEvent),
}

impl StageEvent {
    pub fn stage(&self) -> Stage {
        match self {
            StageEvent::Parent(_) => Stage::Parent,
            StageEvent::Processing(_) => Stage::Processing,
            StageEvent::ParamPreds(_) => Stage::ParamPreds,
            StageEvent::PredMses(_) => Stage::PredMses,
            StageEvent::MinMse(_) => Stage::MinMse,
            StageEvent::TrainFull(_) => Stage::TrainFull,
            StageEvent::TestFull(_) => Stage::TestFull,
            StageEvent::TimingMetrics(_) => Stage::TimingMetrics,
        }
    }
}

/// A refused event: which stage, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{stage} event: {problem}")]
pub struct EventError {
    pub stage: Stage,
    pub problem: String,
}

/// Upper bounds that catch typos (a grove of 10⁶ trees is a mistake, not a plan).
pub const MAX_TREES_PER_GROVE: u32 = 10_000;
pub const MAX_GROVES: u32 = 10_000;

fn check_range(field: &str, value: u32, lo: u32, hi: u32) -> Result<(), String> {
    if value < lo || value > hi {
        Err(format!(
            "field `{field}`: must be between {lo} and {hi}, got {value}"
        ))
    } else {
        Ok(())
    }
}

fn check_bucket(field: &str, value: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "field `{field}`: {value:?} is not a valid bucket name (3–63 characters: lowercase letters, digits, '-' and '.')"
        ))
    }
}

/// Seeds are stored in the tables, which hold signed 64-bit integers (Athena's `bigint`).
fn check_seed(seed: u64) -> Result<(), String> {
    if seed > i64::MAX as u64 {
        Err(format!(
            "field `seed`: must be at most {} (stored as a signed 64-bit integer), got {seed}",
            i64::MAX
        ))
    } else {
        Ok(())
    }
}

trait Validate {
    fn validate(&self) -> Result<(), String>;
}

impl Validate for FanOutEvent {
    fn validate(&self) -> Result<(), String> {
        if self.stage == Stage::Parent {
            return Err("field `type`: the parent cannot fan out itself".into());
        }
        if let Some(b) = &self.bucket {
            check_bucket("bucket", b)?;
        }
        Ok(())
    }
}

fn check_list(field: &str, values: &[u32], lo: u32, hi: u32) -> Result<(), String> {
    if values.is_empty() {
        return Err(format!("field `{field}`: needs at least one value"));
    }
    for (i, v) in values.iter().enumerate() {
        check_range(&format!("{field}[{i}]"), *v, lo, hi)?;
        if values[..i].contains(v) {
            return Err(format!("field `{field}`: {v} appears twice"));
        }
    }
    Ok(())
}

impl Validate for RunSpec {
    fn validate(&self) -> Result<(), String> {
        if let Some(b) = &self.bucket {
            check_bucket("bucket", b)?;
        }
        for (i, s) in self.stocks.iter().enumerate() {
            if self.stocks[..i].contains(s) {
                return Err(format!("field `stocks`: {s} appears twice"));
            }
        }
        check_seed(self.seed)?;
        check_list("feat", &self.feat, 1, N_FEATURES as u32)?;
        check_list("samp", &self.samp, 2, 1_000_000)?;
        check_range("groves", self.groves, 1, MAX_GROVES)?;
        check_range("trees", self.trees, 1, MAX_TREES_PER_GROVE)?;
        check_range("final_groves", self.final_groves, 1, MAX_GROVES)?;
        check_range("final_trees", self.final_trees, 1, MAX_TREES_PER_GROVE)?;
        check_range("max_attempts", self.max_attempts, 1, 100)?;
        check_range("memory_mb", self.memory_mb, 128, 10_240)?;
        if self.unit_timeout_s == 0 {
            return Err("field `unit_timeout_s`: must be at least 1".into());
        }
        Ok(())
    }
}

impl Validate for ProcessingEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("inbucket", &self.inbucket)?;
        check_bucket("outbucket", &self.outbucket)?;
        check_seed(self.seed)?;
        crate::stages::processing::raw_key_and_symbol(&self.file)
            .map(|_| ())
            .map_err(|e| format!("field `file`: {e}"))
    }
}

impl Validate for ParamPredsEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("bucket", &self.bucket)?;
        check_range("feat", self.feat, 1, N_FEATURES as u32)?;
        check_range("samp", self.samp, 2, 1_000_000)?;
        check_range("n_estimators", self.n_estimators, 1, MAX_TREES_PER_GROVE)?;
        check_range("pred_num", self.pred_num, 0, MAX_GROVES - 1)
    }
}

impl Validate for StockEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("bucket", &self.bucket)
    }
}

impl Validate for TrainFullEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("bucket", &self.bucket)?;
        check_range("n_estimators", self.n_estimators, 1, MAX_TREES_PER_GROVE)?;
        check_range("pred_num", self.pred_num, 0, MAX_GROVES - 1)
    }
}

impl Validate for TimingMetricsEvent {
    fn validate(&self) -> Result<(), String> {
        match &self.bucket {
            Some(b) => check_bucket("bucket", b),
            None => Ok(()),
        }
    }
}

fn decode<T: serde::de::DeserializeOwned + Validate>(
    stage: Stage,
    json: &[u8],
) -> Result<T, EventError> {
    let err = |problem: String| EventError { stage, problem };
    let de = &mut serde_json::Deserializer::from_slice(json);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            err(inner.to_string())
        } else {
            err(format!("field `{path}`: {inner}"))
        }
    })?;
    value.validate().map_err(err)?;
    Ok(value)
}

/// A parent event is a whole run when its `type` is `run`, else a one-stage fan-out.
fn decode_parent(json: &[u8]) -> Result<ParentEvent, EventError> {
    #[derive(Deserialize)]
    struct Peek {
        #[serde(rename = "type", default)]
        kind: Option<serde_json::Value>,
    }
    let is_run = serde_json::from_slice::<Peek>(json)
        .ok()
        .and_then(|p| p.kind)
        .is_some_and(|k| k.as_str() == Some("run"));
    if is_run {
        Ok(ParentEvent::Run(Box::new(decode(Stage::Parent, json)?)))
    } else {
        Ok(ParentEvent::FanOut(decode(Stage::Parent, json)?))
    }
}

/// Parses and checks the event of `stage`.
/// A whole-run event on its own (`type` may be left out): the trigger's configured search.
pub fn parse_run_spec(json: &[u8]) -> Result<RunSpec, EventError> {
    decode(Stage::Parent, json)
}

pub fn parse_event(stage: Stage, json: &[u8]) -> Result<StageEvent, EventError> {
    Ok(match stage {
        Stage::Parent => StageEvent::Parent(decode_parent(json)?),
        Stage::Processing => StageEvent::Processing(decode(stage, json)?),
        Stage::ParamPreds => StageEvent::ParamPreds(decode(stage, json)?),
        Stage::PredMses => StageEvent::PredMses(decode(stage, json)?),
        Stage::MinMse => StageEvent::MinMse(decode(stage, json)?),
        Stage::TrainFull => StageEvent::TrainFull(decode(stage, json)?),
        Stage::TestFull => StageEvent::TestFull(decode(stage, json)?),
        Stage::TimingMetrics => StageEvent::TimingMetrics(decode(stage, json)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_accept_original_spellings() {
        assert_eq!(Stage::from_name("parampreds").unwrap(), Stage::ParamPreds);
        assert_eq!(Stage::from_name("param_preds").unwrap(), Stage::ParamPreds);
        assert_eq!(Stage::from_name("Train-Full").unwrap(), Stage::TrainFull);
        let e = Stage::from_name("procesing").unwrap_err().to_string();
        assert!(e.contains("procesing") && e.contains("param-preds"), "{e}");
        for s in Stage::ALL {
            assert_eq!(Stage::from_name(s.as_str()).unwrap(), s);
        }
    }

    #[test]
    fn original_events_parse() {
        let e = parse_event(
            Stage::ParamPreds,
            br#"{"bucket":"groves-data","stock":"TCS","feat":7,"samp":15,"n_estimators":100,"pred_num":2}"#,
        )
        .unwrap();
        let StageEvent::ParamPreds(p) = e else {
            panic!("wrong variant")
        };
        assert_eq!((p.feat, p.samp, p.pred_num), (7, 15, 2));
        assert_eq!(p.run.as_str(), "default");
        let e = parse_event(Stage::Parent, br#"{"type":"processing"}"#).unwrap();
        assert_eq!(e.stage(), Stage::Parent);
        assert!(parse_event(Stage::TimingMetrics, b"{}").is_ok());
        let e = parse_event(
            Stage::Processing,
            br#"{"inbucket":"in-b","outbucket":"out-b","file":"TCS_minute_data_with_indicators.csv","split":"random"}"#,
        )
        .unwrap();
        let StageEvent::Processing(p) = e else {
            panic!("wrong variant")
        };
        assert_eq!(p.split, SplitMethod::Random);
        assert_eq!(p.seed, DEFAULT_SEED);
    }

    fn problem(stage: Stage, json: &str) -> String {
        parse_event(stage, json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn bad_events_name_the_field() {
        let p = problem(
            Stage::ParamPreds,
            r#"{"bucket":"groves-data","stock":"TCS","feat":12,"samp":15,"n_estimators":100,"pred_num":0}"#,
        );
        assert!(p.contains("`feat`") && p.contains("12"), "{p}");
        let p = problem(
            Stage::ParamPreds,
            r#"{"bucket":"groves-data","stock":"TCS","feat":"7","samp":15,"n_estimators":100,"pred_num":0}"#,
        );
        assert!(p.contains("`feat`") && p.contains("invalid type"), "{p}");
        let p = problem(Stage::MinMse, r#"{"bucket":"groves-data"}"#);
        assert!(p.contains("missing field `stock`"), "{p}");
        let p = problem(Stage::Parent, r#"{"type":"everything"}"#);
        assert!(p.contains("`type`") && p.contains("unknown stage"), "{p}");
        let p = problem(
            Stage::MinMse,
            r#"{"bucket":"groves-data","stock":"TCS","extra":1}"#,
        );
        assert!(p.contains("unknown field `extra`"), "{p}");
        let p = problem(Stage::MinMse, r#"{"bucket":"Bad_Bucket","stock":"TCS"}"#);
        assert!(p.contains("`bucket`"), "{p}");
        let p = problem(Stage::MinMse, r#"{"bucket":"groves-data","stock":"../x"}"#);
        assert!(p.contains("`stock`"), "{p}");
        let p = problem(
            Stage::Processing,
            r#"{"inbucket":"in-b","outbucket":"out-b","file":"notes.txt"}"#,
        );
        assert!(p.contains("`file`"), "{p}");
        let p = problem(Stage::TrainFull, "not json");
        assert!(p.starts_with("train-full event:"), "{p}");
    }
}
