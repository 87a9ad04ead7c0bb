//! Failures injected on purpose into the in-process pool, to test retries:
//! `GROVES_FAULT=<stage>:<unit>[:<times>],…` makes the named unit (`*` for any unit of the
//! stage) fail its first `<times>` attempts (every attempt when omitted). Attempts are counted in
//! this process. A test hook of the local runner only: a Lambda function never reads it.

use std::collections::HashMap;
use std::sync::Mutex;

use groves_core::stage::Stage;

#[derive(Debug, Default)]
pub struct FaultPlan {
    rules: Vec<(Stage, String, u32)>,
    seen: Mutex<HashMap<(Stage, String), u32>>,
}

impl FaultPlan {
    pub const ENV: &'static str = "GROVES_FAULT";

    pub fn parse(spec: &str) -> Result<FaultPlan, String> {
        let mut rules = Vec::new();
        for rule in spec.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let parts: Vec<&str> = rule.split(':').collect();
            let (stage, unit, times) = match parts.as_slice() {
                [s, u] => (s, u, u32::MAX),
                [s, u, t] => (
                    s,
                    u,
                    t.parse()
                        .map_err(|_| format!("{}: {rule:?}: bad count {t:?}", Self::ENV))?,
                ),
                _ => {
                    return Err(format!(
                        "{}: {rule:?} is not <stage>:<unit>[:<times>]",
                        Self::ENV
                    ))
                }
            };
            let stage = Stage::from_name(stage).map_err(|e| format!("{}: {e}", Self::ENV))?;
            rules.push((stage, unit.to_string(), times));
        }
        Ok(FaultPlan {
            rules,
            seen: Mutex::default(),
        })
    }

    /// From the environment, if set.
    pub fn from_env() -> Result<Option<FaultPlan>, String> {
        match std::env::var(Self::ENV) {
            Ok(s) if !s.trim().is_empty() => Ok(Some(Self::parse(&s)?)),
            _ => Ok(None),
        }
    }

    /// Counts an attempt of `unit`; true if it must fail.
    pub fn should_fail(&self, stage: Stage, unit: &str) -> bool {
        let Some(times) = self
            .rules
            .iter()
            .find(|(s, u, _)| *s == stage && (u == "*" || u == unit))
            .map(|r| r.2)
        else {
            return false;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let n = seen.entry((stage, unit.to_string())).or_insert(0);
        *n += 1;
        *n <= times
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fail_the_named_attempts() {
        let plan = FaultPlan::parse("param-preds:A.f5_s5_g0:2, min-mse:*").unwrap();
        assert!(plan.should_fail(Stage::ParamPreds, "A.f5_s5_g0"));
        assert!(plan.should_fail(Stage::ParamPreds, "A.f5_s5_g0"));
        assert!(!plan.should_fail(Stage::ParamPreds, "A.f5_s5_g0"));
        assert!(!plan.should_fail(Stage::ParamPreds, "A.f5_s5_g1"));
        assert!((0..5).all(|_| plan.should_fail(Stage::MinMse, "B")));
        let e = FaultPlan::parse("nope:x").unwrap_err();
        assert!(
            e.contains("GROVES_FAULT") && e.contains("unknown stage"),
            "{e}"
        );
        assert!(FaultPlan::parse("min-mse:x:many").is_err());
    }
}
