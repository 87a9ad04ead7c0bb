//! The units of each stage, with the event each unit is invoked with.

use groves_core::events::{
    ParamPredsEvent, ProcessingEvent, StockEvent, TimingMetricsEvent, TrainFullEvent,
};
use groves_core::ids::{RunId, Symbol};
use std::ops::Range;

use groves_core::layout::{self, Setting, Unit};
use groves_core::spec::{RunSpec, SearchMethod};
use groves_core::stage::Stage;
use groves_stages::StageError;
use serde_json::Value;

type Result<T> = std::result::Result<T, StageError>;

/// Sets a unit event's `invoked_at` (Unix ms), from which the unit's invoke latency is measured.
pub fn stamp_invoked(event: &mut Value, at_ms: i64) {
    if let Some(obj) = event.as_object_mut() {
        obj.insert("invoked_at".into(), Value::from(at_ms));
    }
}

/// The id of a prepared run.
pub(super) fn run_id(spec: &RunSpec) -> Result<RunId> {
    spec.run
        .clone()
        .ok_or_else(|| StageError::Invalid("the run has no id (prepare_run sets it)".into()))
}

/// The units of `stage` for `stocks`, each with its event.
pub fn stage_units(
    stage: Stage,
    spec: &RunSpec,
    stocks: &[Symbol],
    bucket: &str,
) -> Result<Vec<(Unit, Value)>> {
    let run = run_id(spec)?;
    if spec.search == SearchMethod::Halving && matches!(stage, Stage::ParamPreds | Stage::PredMses)
    {
        return Err(StageError::Invalid(format!(
            "run {run} searches by halving: its {stage} units depend on each round's scores, so only the whole-run parent (`{{\"type\": \"run\"}}`) plans them"
        )));
    }
    let b = bucket.to_string();
    let enc = |v: std::result::Result<Value, serde_json::Error>| {
        v.map_err(|e| StageError::Invalid(format!("encoding an event: {e}")))
    };
    let mut out = Vec::new();
    let stock_event = |stock: &Symbol| StockEvent {
        bucket: b.clone(),
        stock: stock.clone(),
        run: run.clone(),
        round: None,
        invoked_at: None,
    };
    match stage {
        Stage::Parent => {}
        Stage::Processing => {
            for stock in stocks {
                let e = ProcessingEvent {
                    inbucket: b.clone(),
                    outbucket: b.clone(),
                    file: layout::raw_key(stock),
                    run: run.clone(),
                    split: spec.split,
                    seed: spec.seed,
                    lags: spec.lags,
                    horizon: spec.horizon,
                    features: spec.features.clone(),
                    until: spec.until.clone(),
                    invoked_at: None,
                };
                out.push((Unit::Stock(stock.clone()), enc(serde_json::to_value(e))?));
            }
        }
        Stage::ParamPreds => {
            let plan: Vec<(Symbol, Vec<Setting>)> =
                stocks.iter().map(|s| (s.clone(), spec.grid())).collect();
            return param_preds_units(spec, &plan, 0..spec.groves, bucket);
        }
        Stage::PredMses | Stage::MinMse | Stage::TestFull => {
            for stock in stocks {
                let e = stock_event(stock);
                out.push((e.unit(), enc(serde_json::to_value(e))?));
            }
        }
        Stage::TrainFull => {
            for stock in stocks {
                for grove in 0..spec.final_groves {
                    let e = TrainFullEvent {
                        bucket: b.clone(),
                        stock: stock.clone(),
                        n_estimators: spec.final_trees,
                        pred_num: grove,
                        run: run.clone(),
                        seed: spec.seed,
                        target: spec.target(),
                        invoked_at: None,
                    };
                    out.push((e.unit(), enc(serde_json::to_value(e))?));
                }
            }
        }
        Stage::TimingMetrics => {
            let e = TimingMetricsEvent {
                bucket: Some(b.clone()),
                run: run.clone(),
                invoked_at: None,
            };
            out.push((Unit::Run, enc(serde_json::to_value(e))?));
        }
    }
    Ok(out)
}

/// param-preds units: for each stock, each of its settings, the groves `groves` (a grid: every
/// setting, every grove; a halving round: the round's settings, the groves it adds).
pub fn param_preds_units(
    spec: &RunSpec,
    plan: &[(Symbol, Vec<Setting>)],
    groves: Range<u32>,
    bucket: &str,
) -> Result<Vec<(Unit, Value)>> {
    let run = run_id(spec)?;
    let mut out = Vec::new();
    for (stock, settings) in plan {
        for setting in settings {
            for grove in groves.clone() {
                let e = ParamPredsEvent {
                    bucket: bucket.to_string(),
                    stock: stock.clone(),
                    feat: setting.feat,
                    samp: setting.samp,
                    n_estimators: spec.trees,
                    pred_num: grove,
                    run: run.clone(),
                    seed: spec.seed,
                    target: spec.target(),
                    invoked_at: None,
                };
                let v = serde_json::to_value(&e)
                    .map_err(|e| StageError::Invalid(format!("encoding an event: {e}")))?;
                out.push((e.unit(), v));
            }
        }
    }
    Ok(out)
}

/// pred-mses units of one round of a halving search.
pub fn pred_mses_round_units(
    spec: &RunSpec,
    stocks: &[Symbol],
    round: u32,
    bucket: &str,
) -> Result<Vec<(Unit, Value)>> {
    let run = run_id(spec)?;
    stocks
        .iter()
        .map(|stock| {
            let e = StockEvent {
                bucket: bucket.to_string(),
                stock: stock.clone(),
                run: run.clone(),
                round: Some(round),
                invoked_at: None,
            };
            let v = serde_json::to_value(&e)
                .map_err(|e| StageError::Invalid(format!("encoding an event: {e}")))?;
            Ok((e.unit(), v))
        })
        .collect()
}
