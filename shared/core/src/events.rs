//! The JSON events each stage takes, with the original pipeline's field names.
//!
//! Parsing goes through [`parse_event`] (bytes, e.g. a file) or [`decode_value`] (an event a
//! Lambda runtime has already decoded as JSON); either names the field at fault for a missing
//! field, a wrong type or an out-of-range value.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::dataset::{CURRENT_COLUMNS, DATE_COLUMN};
use crate::features::{Target, MAX_EXTRA_FEATURES, N_FEATURES, TYPPRICE};
use crate::ids::{RunId, Symbol};
use crate::layout;
use crate::spec::{
    default_horizon, default_seed, LagScope, Method, RunSpec, SplitMethod, MAX_GROVES, MAX_HORIZON,
    MAX_TREES_PER_GROVE,
};
use crate::stage::Stage;
use crate::unit::{Setting, Unit};

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
    /// Minutes ahead the target is.
    #[serde(default = "default_horizon")]
    pub horizon: u32,
    /// Extra raw columns kept as features.
    #[serde(default)]
    pub features: Vec<String>,
    /// Only the bars up to this minute (`YYYY-MM-DD HH:MM`, India time), the stock's live
    /// minutes after the raw file's last bar included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default)]
    pub invoked_at: Option<i64>,
}

fn level() -> Target {
    Target::Level
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
    /// What the grove learns (the original events' `level` when absent).
    #[serde(default = "level")]
    pub target: Target,
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
    /// pred-mses of a halving search: the round to score (0 first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
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
    #[serde(default = "level")]
    pub target: Target,
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

/// Where a unit of work writes and what it is called: its bucket, its run, its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Address<'a> {
    pub bucket: &'a str,
    pub run: &'a RunId,
    pub unit: Unit,
}

impl StageEvent {
    /// The unit an event is for; None for the parent, which is no unit of work.
    pub fn address(&self) -> Option<Address<'_>> {
        let (bucket, run, unit) = match self {
            StageEvent::Parent(_) => return None,
            // The file was checked when the event was parsed.
            StageEvent::Processing(e) => (e.outbucket.as_str(), &e.run, e.unit().ok()?),
            StageEvent::ParamPreds(e) => (e.bucket.as_str(), &e.run, e.unit()),
            StageEvent::PredMses(e) | StageEvent::MinMse(e) | StageEvent::TestFull(e) => {
                (e.bucket.as_str(), &e.run, e.unit())
            }
            StageEvent::TrainFull(e) => (e.bucket.as_str(), &e.run, e.unit()),
            StageEvent::TimingMetrics(e) => {
                (e.bucket.as_deref().unwrap_or_default(), &e.run, Unit::Run)
            }
        };
        Some(Address { bucket, run, unit })
    }
}

impl ProcessingEvent {
    /// The raw file's key and the stock it names.
    pub fn source(&self) -> Result<(String, Symbol), String> {
        layout::raw_key_and_symbol(&self.file)
    }

    pub fn unit(&self) -> Result<Unit, String> {
        self.source().map(|(_, stock)| Unit::Stock(stock))
    }
}

impl ParamPredsEvent {
    pub fn setting(&self) -> Setting {
        Setting {
            feat: self.feat,
            samp: self.samp,
        }
    }

    pub fn unit(&self) -> Unit {
        Unit::Grove {
            stock: self.stock.clone(),
            setting: self.setting(),
            grove: self.pred_num,
        }
    }
}

impl StockEvent {
    pub fn unit(&self) -> Unit {
        match self.round {
            None => Unit::Stock(self.stock.clone()),
            Some(round) => Unit::StockRound {
                stock: self.stock.clone(),
                round,
            },
        }
    }
}

impl TrainFullEvent {
    pub fn unit(&self) -> Unit {
        Unit::FinalGrove {
            stock: self.stock.clone(),
            grove: self.pred_num,
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

/// An event that checks its own values after parsing (ranges, names, bucket rules).
pub trait Event: DeserializeOwned {
    fn validate(&self) -> Result<(), String>;
}

impl Event for FanOutEvent {
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

impl Event for RunSpec {
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
        check_learning(self)?;
        let inputs = (self.target().base_features() + self.features.len()) as u32;
        check_list("feat", &self.feat, 1, inputs).map_err(|e| {
            format!(
                "{e} (max_features cannot exceed the {inputs} features of target {})",
                self.target()
            )
        })?;
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

/// Target, horizon and extra features: in range, and not contradicting `method`.
/// `until`, if given, is a minute.
fn check_until(until: Option<&str>) -> Result<(), String> {
    match until {
        Some(u) => crate::calendar::parse_wall(u)
            .map(|_| ())
            .map_err(|e| format!("field `until`: {u:?} is {e}")),
        None => Ok(()),
    }
}

fn check_learning(spec: &RunSpec) -> Result<(), String> {
    check_range("horizon", spec.horizon, 1, MAX_HORIZON)?;
    check_features(&spec.features)?;
    check_until(spec.until.as_deref())?;
    if spec.method == Some(Method::Original) {
        let clash = |field: &str, what: &str| {
            Err(format!(
                "field `{field}`: method `original` learns the next minute's level from TYPPRICE and its lags only; {what} (leave `method` out to choose freely)"
            ))
        };
        if spec.target == Some(Target::Change) {
            return clash("target", "it cannot learn `change`");
        }
        if spec.horizon != 1 {
            return clash("horizon", "its horizon is 1");
        }
        if !spec.features.is_empty() {
            return clash("features", "it takes no extra column");
        }
    }
    Ok(())
}

/// Extra feature columns: names of the Kaggle header (not `date`, not `TYPPRICE`, which is
/// in every model already), each once.
pub fn check_features(features: &[String]) -> Result<(), String> {
    if features.len() > MAX_EXTRA_FEATURES {
        return Err(format!(
            "field `features`: at most {MAX_EXTRA_FEATURES} extra columns, got {}",
            features.len()
        ));
    }
    for (i, f) in features.iter().enumerate() {
        if f == DATE_COLUMN || f == TYPPRICE {
            return Err(format!(
                "field `features[{i}]`: `{f}` cannot be an extra feature (TYPPRICE and its lags are always the model's; the date is not a number)"
            ));
        }
        if !CURRENT_COLUMNS.contains(&f.as_str()) {
            return Err(format!(
                "field `features[{i}]`: `{f}` is not a column of the dataset's header (e.g. RSI14, macd1226, ATR, volume)"
            ));
        }
        if features[..i].contains(f) {
            return Err(format!("field `features`: `{f}` appears twice"));
        }
    }
    Ok(())
}

impl Event for ProcessingEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("inbucket", &self.inbucket)?;
        check_bucket("outbucket", &self.outbucket)?;
        check_seed(self.seed)?;
        check_range("horizon", self.horizon, 1, MAX_HORIZON)?;
        check_features(&self.features)?;
        check_until(self.until.as_deref())?;
        layout::raw_key_and_symbol(&self.file)
            .map(|_| ())
            .map_err(|e| format!("field `file`: {e}"))
    }
}

impl Event for ParamPredsEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("bucket", &self.bucket)?;
        // The forest checks max_features against the processed table's columns.
        check_range(
            "feat",
            self.feat,
            1,
            (N_FEATURES + MAX_EXTRA_FEATURES) as u32,
        )?;
        check_range("samp", self.samp, 2, 1_000_000)?;
        check_range("n_estimators", self.n_estimators, 1, MAX_TREES_PER_GROVE)?;
        check_range("pred_num", self.pred_num, 0, MAX_GROVES - 1)
    }
}

impl Event for StockEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("bucket", &self.bucket)?;
        match self.round {
            // Halving doubles the groves each round: 32 rounds would be 2³¹ groves.
            Some(r) => check_range("round", r, 0, 31),
            None => Ok(()),
        }
    }
}

impl Event for TrainFullEvent {
    fn validate(&self) -> Result<(), String> {
        check_bucket("bucket", &self.bucket)?;
        check_range("n_estimators", self.n_estimators, 1, MAX_TREES_PER_GROVE)?;
        check_range("pred_num", self.pred_num, 0, MAX_GROVES - 1)
    }
}

impl Event for TimingMetricsEvent {
    fn validate(&self) -> Result<(), String> {
        match &self.bucket {
            Some(b) => check_bucket("bucket", b),
            None => Ok(()),
        }
    }
}

fn checked<T: Event>(
    stage: Stage,
    parsed: Result<T, serde_path_to_error::Error<serde_json::Error>>,
) -> Result<T, EventError> {
    let err = |problem: String| EventError { stage, problem };
    let value = parsed.map_err(|e| {
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

/// Parses and checks one event of `stage` from JSON bytes.
pub fn decode<T: Event>(stage: Stage, json: &[u8]) -> Result<T, EventError> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    checked(stage, serde_path_to_error::deserialize(de))
}

/// Parses and checks one event of `stage` from JSON already decoded (what a Lambda runtime
/// hands over), without writing it out as bytes again.
pub fn decode_value<T: Event>(stage: Stage, json: serde_json::Value) -> Result<T, EventError> {
    checked(stage, serde_path_to_error::deserialize(json))
}

impl Event for ParentEvent {
    fn validate(&self) -> Result<(), String> {
        match self {
            ParentEvent::FanOut(e) => e.validate(),
            ParentEvent::Run(spec) => spec.validate(),
        }
    }
}

/// A parent event is a whole run when its `type` is `run`, else a one-stage fan-out.
impl<'de> Deserialize<'de> for ParentEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let is_run = value.get("type").and_then(serde_json::Value::as_str) == Some("run");
        let parsed = if is_run {
            serde_path_to_error::deserialize(value).map(|s| ParentEvent::Run(Box::new(s)))
        } else {
            serde_path_to_error::deserialize(value).map(ParentEvent::FanOut)
        };
        // The field path is kept in the message, as for every other event.
        parsed.map_err(|e| {
            let path = e.path().to_string();
            if path == "." || path.is_empty() {
                serde::de::Error::custom(e.into_inner())
            } else {
                serde::de::Error::custom(format!("field `{path}`: {}", e.into_inner()))
            }
        })
    }
}

/// A whole-run event on its own (`type` may be left out): the trigger's configured search.
pub fn parse_run_spec(json: &[u8]) -> Result<RunSpec, EventError> {
    decode(Stage::Parent, json)
}

/// Parses and checks the event of `stage`.
pub fn parse_event(stage: Stage, json: &[u8]) -> Result<StageEvent, EventError> {
    Ok(match stage {
        Stage::Parent => StageEvent::Parent(decode(stage, json)?),
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
    use crate::spec::DEFAULT_SEED;

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

    #[test]
    fn what_is_learnt_is_checked_against_the_method_and_the_header() {
        let run = |json: &str| problem(Stage::Parent, json);
        let p = run(r#"{"type":"run","method":"original","target":"change"}"#);
        assert!(p.contains("`target`") && p.contains("original"), "{p}");
        let p = run(r#"{"type":"run","method":"original","horizon":5}"#);
        assert!(p.contains("`horizon`"), "{p}");
        let p = run(r#"{"type":"run","features":["RSI14","Bogus"]}"#);
        assert!(p.contains("`features[1]`") && p.contains("Bogus"), "{p}");
        let p = run(r#"{"type":"run","features":["TYPPRICE"]}"#);
        assert!(p.contains("`features[0]`"), "{p}");
        let p = run(r#"{"type":"run","horizon":0}"#);
        assert!(p.contains("`horizon`"), "{p}");
        // `change` has 10 price features: max_features 11 needs an extra column.
        let p = run(r#"{"type":"run","target":"change","feat":[11]}"#);
        assert!(
            p.contains("`feat[0]`") && p.contains("target change"),
            "{p}"
        );
        let ok = |json: &str| match parse_event(Stage::Parent, json.as_bytes()).unwrap() {
            StageEvent::Parent(ParentEvent::Run(spec)) => spec,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            ok(r#"{"type":"run","method":"original"}"#).target(),
            Target::Level
        );
        assert_eq!(
            ok(r#"{"type":"run"}"#).target(),
            crate::spec::DEFAULT_TARGET
        );
        let spec =
            ok(r#"{"type":"run","target":"change","feat":[11],"features":["ATR"],"horizon":5}"#);
        assert_eq!(spec.model_inputs().len(), 11);
        // The original events still parse, and learn the level.
        let e = parse_event(
            Stage::TrainFull,
            br#"{"bucket":"groves-data","stock":"TCS","n_estimators":25,"pred_num":0}"#,
        )
        .unwrap();
        let StageEvent::TrainFull(t) = e else {
            panic!("wrong variant")
        };
        assert_eq!(t.target, Target::Level);
    }

    fn problem(stage: Stage, json: &str) -> String {
        parse_event(stage, json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn bad_events_name_the_field() {
        let p = problem(
            Stage::ParamPreds,
            r#"{"bucket":"groves-data","stock":"TCS","feat":70,"samp":15,"n_estimators":100,"pred_num":0}"#,
        );
        assert!(p.contains("`feat`") && p.contains("70"), "{p}");
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
