//! The stages of a search, in the order a run goes through them.

use std::fmt;

use serde::{Deserialize, Serialize};

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

/// The stages of a run, in order: every stage but the parent, which drives them.
pub const RUN_STAGES: &[Stage] = Stage::ALL.split_at(1).1;

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
        assert_eq!(RUN_STAGES.first(), Some(&Stage::Processing));
        assert!(!RUN_STAGES.contains(&Stage::Parent));
    }
}
