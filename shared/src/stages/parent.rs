//! parent: fans out a stage's units of work, or drives a whole run stage after stage.
//!
//! Driving a run: write the run's manifest, then for each stage invoke every unit that has no
//! completion record, wait by listing the stage's status prefix, re-invoke units that failed or
//! did not report within the deadline (a bounded number of times), and go on to the next stage.
//! Everything it needs to resume lives in the store, so a parent that stops (killed, or a Lambda
//! parent re-invoking itself before its time limit) picks up where it was and never redoes a
//! finished unit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{read_manifest, Result, StageError};
use crate::events::{
    FanOutEvent, ParamPredsEvent, ProcessingEvent, RunSpec, Stage, StockEvent, TimingMetricsEvent,
    TrainFullEvent,
};
use crate::ids::{RunId, Symbol};
use crate::invoke::Invoker;
use crate::layout::{self, Setting, Unit};
use crate::store::Store;
use crate::timing::now_ms;

/// The stages of a run, in order: every stage but the parent.
pub const RUN_STAGES: &[Stage] = Stage::ALL.split_at(1).1;

/// What the parent reports while it drives (the CLI draws progress bars from it).
pub trait Progress: Send + Sync {
    fn stage_started(&self, _stage: Stage, _total: usize, _already_done: usize) {}
    fn units_done(&self, _stage: Stage, _done: usize, _total: usize) {}
    fn retrying(&self, _stage: Stage, _unit: &str, _attempt: u32, _why: &str) {}
    fn stage_finished(&self, _stage: Stage, _log: &StageLog) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}

/// How the parent waits.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// Stop (and report [`DriveOutcome::Paused`]) when this instant passes.
    pub stop_at: Option<Instant>,
    /// Listing interval: starts at `poll_min`, doubles while nothing changes, up to `poll_max`.
    pub poll_min: Duration,
    pub poll_max: Duration,
}

impl Default for DriveOptions {
    fn default() -> Self {
        DriveOptions {
            stop_at: None,
            poll_min: Duration::from_millis(20),
            poll_max: Duration::from_millis(500),
        }
    }
}

/// A unit that failed for good (all its attempts used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitFailure {
    pub unit: String,
    pub stock: Option<String>,
    pub attempts: u32,
    pub error: String,
}

/// A unit invoked and not yet reported, as left by a parent that paused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    pub unit: String,
    pub attempts: u32,
    pub invoked_ms: i64,
}

/// What the parent saw of one stage: `runs/run=<run>/stages/<stage>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLog {
    pub stage: Stage,
    pub units: usize,
    /// Units already done when this parent looked first (finished by an earlier parent).
    pub done_before: usize,
    pub done: usize,
    /// Invocations sent, retries included.
    pub invocations: u64,
    /// Units that needed more than one attempt and then succeeded: unit → attempts.
    pub retried: BTreeMap<String, u32>,
    pub failed: Vec<UnitFailure>,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    /// Non-empty only while paused.
    #[serde(default)]
    pub in_flight: Vec<InFlight>,
    /// What built the parent that drove the stage ([`crate::CODE_VERSION`]); empty in logs
    /// written before the field existed.
    #[serde(default)]
    pub code_version: String,
}

/// A stock that did not make it to the end, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockFailure {
    pub stock: String,
    pub stage: Stage,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    pub run: RunId,
    pub stocks_done: Vec<String>,
    pub failed: Vec<StockFailure>,
    /// Grove stages where some groves failed but the run allowed it: stock → missing units.
    pub accepted_missing: BTreeMap<String, Vec<String>>,
    pub stages: Vec<StageLog>,
}

impl RunOutcome {
    /// An error naming every stock that failed, if any did.
    pub fn check(&self) -> Result<()> {
        if self.failed.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = self
            .failed
            .iter()
            .map(|f| format!("{} ({}): {}", f.stock, f.stage, f.reason))
            .collect();
        Err(StageError::Parent {
            stage: "run".into(),
            message: format!(
                "run {}: {} of {} stocks did not finish:\n  {}",
                self.run,
                self.failed.len(),
                self.failed.len() + self.stocks_done.len(),
                lines.join("\n  ")
            ),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DriveOutcome {
    Finished(RunOutcome),
    /// Stopped at `stop_at` in this stage; drive again with `spec` (the resolved run) to go on.
    Paused {
        stage: Stage,
        spec: Box<RunSpec>,
    },
}

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Resolves a whole-run event against the store: the stocks (every raw file if none are named),
/// the run id (derived from the parameters and the raw files' names and sizes if not given, so
/// the same request on the same data resumes the same run), and the manifest, written once. A
/// manifest that exists with other parameters is an error, never overwritten.
pub async fn prepare_run(store: &dyn Store, spec: &RunSpec) -> Result<RunSpec> {
    prepare(store, spec, None).await
}

/// As [`prepare_run`], for a run started by the upload of one raw file: the object's version
/// (ETag or version id) goes into the derived run id too, so a corrected file of the same size
/// starts a new run instead of finding the old one's work done.
pub async fn prepare_upload_run(
    store: &dyn Store,
    spec: &RunSpec,
    version: &str,
) -> Result<RunSpec> {
    prepare(store, spec, Some(version)).await
}

async fn prepare(store: &dyn Store, spec: &RunSpec, upload: Option<&str>) -> Result<RunSpec> {
    let mut spec = spec.clone();
    let raw = store.list(layout::RAW_PREFIX).await?;
    let raw_stocks: BTreeMap<String, u64> = raw
        .iter()
        .filter_map(|m| layout::symbol_from_raw_key(&m.key).map(|s| (s.to_string(), m.size)))
        .collect();
    if spec.stocks.is_empty() {
        if raw_stocks.is_empty() {
            return Err(StageError::Invalid(format!(
                "no raw files under {}/{} (expected <SYMBOL>_minute_data_with_indicators.csv)",
                store.describe(),
                layout::RAW_PREFIX
            )));
        }
        spec.stocks = raw_stocks
            .keys()
            .map(Symbol::new)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| StageError::Invalid(e.to_string()))?;
    } else {
        let missing: Vec<&str> = spec
            .stocks
            .iter()
            .map(Symbol::as_str)
            .filter(|s| !raw_stocks.contains_key(*s))
            .collect();
        if !missing.is_empty() {
            return Err(StageError::Invalid(format!(
                "no raw file in {} for {}",
                store.describe(),
                missing
                    .iter()
                    .map(|s| format!(
                        "{s} ({}{})",
                        layout::RAW_PREFIX,
                        datagen::layout::raw_file_name(s)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        spec.stocks.sort();
    }
    spec.bucket = None;
    if spec.run.is_none() {
        let params = serde_json::to_vec(&spec)
            .map_err(|e| StageError::Invalid(format!("encoding the run: {e}")))?;
        let mut h = fnv1a(0xcbf2_9ce4_8422_2325, &params);
        for s in &spec.stocks {
            h = fnv1a(h, s.as_str().as_bytes());
            h = fnv1a(
                h,
                &raw_stocks
                    .get(s.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_le_bytes(),
            );
        }
        if let Some(version) = upload {
            h = fnv1a(h, version.as_bytes());
        }
        let id = format!("run-{:012x}", h >> 16);
        spec.run = Some(RunId::new(id).map_err(|e| StageError::Invalid(e.to_string()))?);
    }
    let run = run_id(&spec)?;
    let key = layout::run_manifest_key(&run);
    let json = serde_json::to_vec_pretty(&spec)
        .map_err(|e| StageError::Invalid(format!("encoding the manifest: {e}")))?;
    if !store.put_if_absent(&key, Bytes::from(json)).await? {
        let stored = read_manifest(store, &run).await?;
        if stored != spec {
            let show = |s: &RunSpec| serde_json::to_string(s).unwrap_or_default();
            return Err(StageError::Invalid(format!(
                "run {run} already exists with other parameters; choose another run id (or none, to derive one from the parameters).\n  stored: {}\n  asked:  {}",
                show(&stored),
                show(&spec)
            )));
        }
    }
    Ok(spec)
}

/// Sets a unit event's `invoked_at` (Unix ms), from which the unit's invoke latency is measured.
pub fn stamp_invoked(event: &mut Value, at_ms: i64) {
    if let Some(obj) = event.as_object_mut() {
        obj.insert("invoked_at".into(), Value::from(at_ms));
    }
}

fn run_id(spec: &RunSpec) -> Result<RunId> {
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
    let b = bucket.to_string();
    let enc = |v: std::result::Result<Value, serde_json::Error>| {
        v.map_err(|e| StageError::Invalid(format!("encoding an event: {e}")))
    };
    let mut out = Vec::new();
    let stock_event = |stock: &Symbol| StockEvent {
        bucket: b.clone(),
        stock: stock.clone(),
        run: run.clone(),
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
                    invoked_at: None,
                };
                out.push((Unit::Stock(stock.clone()), enc(serde_json::to_value(e))?));
            }
        }
        Stage::ParamPreds => {
            for stock in stocks {
                for setting in super::pred_mses::grid(spec) {
                    for grove in 0..spec.groves {
                        let e = ParamPredsEvent {
                            bucket: b.clone(),
                            stock: stock.clone(),
                            feat: setting.feat,
                            samp: setting.samp,
                            n_estimators: spec.trees,
                            pred_num: grove,
                            run: run.clone(),
                            seed: spec.seed,
                            invoked_at: None,
                        };
                        let unit = Unit::Grove {
                            stock: stock.clone(),
                            setting: Setting {
                                feat: setting.feat,
                                samp: setting.samp,
                            },
                            grove,
                        };
                        out.push((unit, enc(serde_json::to_value(e))?));
                    }
                }
            }
        }
        Stage::PredMses | Stage::MinMse | Stage::TestFull => {
            for stock in stocks {
                out.push((
                    Unit::Stock(stock.clone()),
                    enc(serde_json::to_value(stock_event(stock)))?,
                ));
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
                        invoked_at: None,
                    };
                    let unit = Unit::FinalGrove {
                        stock: stock.clone(),
                        grove,
                    };
                    out.push((unit, enc(serde_json::to_value(e))?));
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

/// What is in a stage's status prefix: units done, units with a failure record.
async fn status(
    store: &dyn Store,
    run: &RunId,
    stage: Stage,
) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let prefix = layout::status_prefix(run, stage.as_str());
    let (mut done, mut failed) = (BTreeSet::new(), BTreeSet::new());
    for m in store.list(&prefix).await? {
        let name = &m.key[prefix.len()..];
        if let Some(u) = name.strip_suffix(".done") {
            done.insert(u.to_string());
        } else if let Some(u) = name.strip_suffix(".failed") {
            failed.insert(u.to_string());
        }
    }
    Ok((done, failed))
}

async fn failure_message(store: &dyn Store, key: &str) -> String {
    match store.get(key).await {
        Ok(b) => serde_json::from_slice::<Value>(&b)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&b).into_owned()),
        Err(e) => format!("(failure record unreadable: {e})"),
    }
}

/// A stage's log, if the parent wrote one and it parses.
pub async fn read_stage_log(store: &dyn Store, run: &RunId, stage: Stage) -> Option<StageLog> {
    let bytes = store
        .get(&layout::stage_log_key(run, stage.as_str()))
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn write_stage_log(store: &dyn Store, run: &RunId, log: &StageLog) -> Result<()> {
    let json = serde_json::to_vec_pretty(log)
        .map_err(|e| StageError::Invalid(format!("encoding the stage log: {e}")))?;
    store
        .put(
            &layout::stage_log_key(run, log.stage.as_str()),
            Bytes::from(json),
        )
        .await?;
    Ok(())
}

struct UnitState {
    unit: Unit,
    name: String,
    event: Value,
    attempts: u32,
    /// Wall-clock ms of the current attempt's invocation, while in flight.
    in_flight_since: Option<i64>,
    last_error: Option<String>,
}

enum StageRun {
    Finished(StageLog),
    Paused,
}

/// Runs one stage to its end: every unit done or failed for good.
async fn run_stage(
    store: &dyn Store,
    invoker: &dyn Invoker,
    spec: &RunSpec,
    stage: Stage,
    units: Vec<(Unit, Value)>,
    opts: &DriveOptions,
    progress: &dyn Progress,
) -> Result<StageRun> {
    let run = run_id(spec)?;
    let total = units.len();
    let previous = read_stage_log(store, &run, stage).await;
    let (done_now, failed_now) = status(store, &run, stage).await?;
    let mut states: Vec<UnitState> = Vec::with_capacity(total);
    let mut done: BTreeSet<String> = BTreeSet::new();
    for (unit, event) in units {
        let name = unit.to_string();
        if done_now.contains(&name) {
            done.insert(name);
            continue;
        }
        states.push(UnitState {
            unit,
            name,
            event,
            attempts: 0,
            in_flight_since: None,
            last_error: None,
        });
    }
    // Units a paused parent left running on Lambda are still running: wait for them.
    if invoker.units_outlive_parent() {
        if let Some(prev) = &previous {
            let left: HashMap<&str, &InFlight> = prev
                .in_flight
                .iter()
                .map(|f| (f.unit.as_str(), f))
                .collect();
            for s in &mut states {
                if let Some(f) = left.get(s.name.as_str()) {
                    s.attempts = f.attempts;
                    s.in_flight_since = Some(f.invoked_ms);
                }
            }
        }
    }
    if states.is_empty() {
        if let Some(prev) = previous
            .as_ref()
            .filter(|p| p.finished_ms.is_some() && p.failed.is_empty())
        {
            // Finished before: its log stays as it was.
            progress.stage_started(stage, total, done.len());
            progress.stage_finished(stage, prev);
            return Ok(StageRun::Finished(prev.clone()));
        }
    }
    let mut log = StageLog {
        stage,
        units: total,
        done_before: done.len(),
        done: done.len(),
        invocations: previous.as_ref().map_or(0, |p| p.invocations),
        retried: previous
            .as_ref()
            .map_or_else(BTreeMap::new, |p| p.retried.clone()),
        failed: Vec::new(),
        started_ms: previous.as_ref().map_or_else(now_ms, |p| p.started_ms),
        finished_ms: None,
        in_flight: Vec::new(),
        code_version: crate::CODE_VERSION.into(),
    };
    progress.stage_started(stage, total, done.len());
    let timeout_ms = (spec.unit_timeout_s as i64).saturating_mul(1000);
    let capacity = invoker.capacity().max(1);
    let mut poll = opts.poll_min;
    let mut failed_seen: BTreeSet<String> = failed_now;

    loop {
        // Hand over what may run now, oldest first, keeping at most `capacity` in flight.
        let mut in_flight = states
            .iter()
            .filter(|s| s.in_flight_since.is_some())
            .count();
        for s in states.iter_mut() {
            if in_flight >= capacity {
                break;
            }
            if s.in_flight_since.is_some() || s.attempts >= spec.max_attempts {
                continue;
            }
            if failed_seen.remove(&s.name) {
                // A failure record of an earlier attempt: out of the way before trying again.
                store
                    .delete(&layout::failed_key(&run, stage.as_str(), &s.unit))
                    .await?;
                if s.attempts == 0 {
                    s.attempts = 1; // the earlier parent's attempt
                    if s.attempts >= spec.max_attempts {
                        continue;
                    }
                }
            }
            if s.attempts > 0 {
                progress.retrying(
                    stage,
                    &s.name,
                    s.attempts + 1,
                    s.last_error
                        .as_deref()
                        .unwrap_or("an earlier attempt failed"),
                );
            }
            let invoked = now_ms();
            let mut event = s.event.clone();
            stamp_invoked(&mut event, invoked);
            s.attempts += 1;
            s.in_flight_since = Some(invoked);
            log.invocations += 1;
            in_flight += 1;
            if let Err(e) = invoker.invoke(stage, &s.name, event).await {
                s.in_flight_since = None;
                s.last_error = Some(e.to_string());
                in_flight -= 1;
            }
        }

        let open = states
            .iter()
            .any(|s| s.in_flight_since.is_some() || s.attempts < spec.max_attempts);
        if !open {
            break;
        }
        if let Some(stop) = opts.stop_at {
            if Instant::now() >= stop {
                log.in_flight = states
                    .iter()
                    .filter_map(|s| {
                        s.in_flight_since.map(|t| InFlight {
                            unit: s.name.clone(),
                            attempts: s.attempts,
                            invoked_ms: t,
                        })
                    })
                    .collect();
                write_stage_log(store, &run, &log).await?;
                return Ok(StageRun::Paused);
            }
        }

        tokio::time::sleep(poll).await;
        let (done_now, failed_now) = status(store, &run, stage).await?;
        let handoff: HashMap<String, String> = invoker
            .take_failures()
            .into_iter()
            .filter(|f| f.stage == stage)
            .map(|f| (f.unit, f.message))
            .collect();
        let mut changed = false;
        let now = now_ms();
        for s in states.iter_mut() {
            if done_now.contains(&s.name) {
                if s.attempts > 1 {
                    log.retried.insert(s.name.clone(), s.attempts);
                }
                done.insert(s.name.clone());
                changed = true;
                continue;
            }
            let Some(since) = s.in_flight_since else {
                continue;
            };
            let why = if failed_now.contains(&s.name) {
                let key = layout::failed_key(&run, stage.as_str(), &s.unit);
                Some(failure_message(store, &key).await)
            } else if let Some(m) = handoff.get(&s.name) {
                Some(m.clone())
            } else if now - since > timeout_ms {
                Some(format!(
                    "no report within {} s of its invocation",
                    spec.unit_timeout_s
                ))
            } else {
                None
            };
            if let Some(why) = why {
                s.in_flight_since = None;
                s.last_error = Some(why);
                changed = true;
                if failed_now.contains(&s.name) {
                    failed_seen.insert(s.name.clone());
                }
            }
        }
        if changed {
            states.retain(|s| !done.contains(&s.name));
            log.done = done.len();
            progress.units_done(stage, done.len(), total);
            poll = opts.poll_min;
        } else {
            poll = (poll * 2).min(opts.poll_max);
        }
    }

    log.done = done.len();
    log.failed = states
        .iter()
        .map(|s| UnitFailure {
            unit: s.name.clone(),
            stock: s.unit.stock().map(|x| x.to_string()),
            attempts: s.attempts,
            error: s.last_error.clone().unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    log.finished_ms = Some(now_ms());
    write_stage_log(store, &run, &log).await?;
    progress.stage_finished(stage, &log);
    Ok(StageRun::Finished(log))
}

/// Drives a whole run: every stage in order, each to its end, then the next.
///
/// A stock whose unit fails for good leaves the run (the others go on); a grove that fails for
/// good makes its stock leave the run after the averaging stage has recorded it as missing,
/// unless the run allows missing groves. The timing tables are built in any case.
pub async fn drive_run(
    store: &dyn Store,
    invoker: &dyn Invoker,
    spec: &RunSpec,
    bucket: &str,
    opts: &DriveOptions,
    progress: &dyn Progress,
) -> Result<DriveOutcome> {
    let spec = prepare_run(store, spec).await?;
    let run = run_id(&spec)?;
    let mut active: Vec<Symbol> = spec.stocks.clone();
    let mut failed: Vec<StockFailure> = Vec::new();
    let mut pending_missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut accepted_missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut logs = Vec::new();
    for &stage in RUN_STAGES {
        let stocks: Vec<Symbol> = if stage == Stage::TimingMetrics {
            Vec::new()
        } else {
            active.clone()
        };
        if stocks.is_empty() && stage != Stage::TimingMetrics {
            continue;
        }
        let units = stage_units(stage, &spec, &stocks, bucket)?;
        let log = match run_stage(store, invoker, &spec, stage, units, opts, progress).await? {
            StageRun::Paused => {
                return Ok(DriveOutcome::Paused {
                    stage,
                    spec: Box::new(spec),
                })
            }
            StageRun::Finished(log) => log,
        };
        let mut by_stock: BTreeMap<String, Vec<&UnitFailure>> = BTreeMap::new();
        for f in &log.failed {
            by_stock
                .entry(f.stock.clone().unwrap_or_default())
                .or_default()
                .push(f);
        }
        match stage {
            Stage::TimingMetrics => {
                if let Some(f) = log.failed.first() {
                    return Err(StageError::Parent {
                        stage: stage.to_string(),
                        message: format!(
                            "run {run}: the timing tables failed after {} attempt(s): {}",
                            f.attempts, f.error
                        ),
                    });
                }
            }
            Stage::ParamPreds | Stage::TrainFull => {
                // The averaging stage that follows records exactly which groves are missing.
                for (stock, fs) in by_stock {
                    let units: Vec<String> = fs
                        .iter()
                        .map(|f| format!("{} ({} attempts: {})", f.unit, f.attempts, f.error))
                        .collect();
                    if spec.allow_missing {
                        accepted_missing.entry(stock).or_default().extend(units);
                    } else {
                        pending_missing.insert(stock, units);
                    }
                }
            }
            _ => {
                for (stock, fs) in by_stock {
                    let f = fs[0];
                    failed.push(StockFailure {
                        stock: stock.clone(),
                        stage,
                        reason: format!("failed after {} attempt(s): {}", f.attempts, f.error),
                    });
                    active.retain(|s| s.as_str() != stock);
                }
            }
        }
        if matches!(stage, Stage::PredMses | Stage::TestFull) {
            let grove_stage = if stage == Stage::PredMses {
                Stage::ParamPreds
            } else {
                Stage::TrainFull
            };
            for (stock, units) in std::mem::take(&mut pending_missing) {
                if active.iter().any(|s| s.as_str() == stock) {
                    failed.push(StockFailure {
                        stock: stock.clone(),
                        stage: grove_stage,
                        reason: format!(
                            "{} grove(s) failed for good, so its MSE would rest on fewer groves than planned (allow_missing accepts that): {}",
                            units.len(),
                            units.join("; ")
                        ),
                    });
                    active.retain(|s| s.as_str() != stock);
                }
            }
        }
        logs.push(log);
    }
    failed.sort_by(|a, b| a.stock.cmp(&b.stock));
    // The report a person opens, from what the store now holds: the same store gives the same
    // bytes, so driving a finished run again rewrites it unchanged.
    crate::report::write_html(store, &run).await?;
    Ok(DriveOutcome::Finished(RunOutcome {
        run,
        stocks_done: active.iter().map(|s| s.to_string()).collect(),
        failed,
        accepted_missing,
        stages: logs,
    }))
}

/// What a one-stage fan-out did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FanOutReport {
    pub stage: Stage,
    pub run: String,
    pub units: usize,
    pub already_done: usize,
    pub invoked: usize,
}

/// The original parent: invokes every unit of one stage that is not done yet, and returns
/// without waiting. The units come from the run's manifest.
pub async fn fan_out(
    store: &dyn Store,
    invoker: &dyn Invoker,
    e: &FanOutEvent,
    bucket: &str,
) -> Result<FanOutReport> {
    let spec = read_manifest(store, &e.run).await?;
    let units = stage_units(e.stage, &spec, &spec.stocks, bucket)?;
    let (done, _) = status(store, &e.run, e.stage).await?;
    let mut report = FanOutReport {
        stage: e.stage,
        run: e.run.to_string(),
        units: units.len(),
        already_done: 0,
        invoked: 0,
    };
    for (unit, mut event) in units {
        let name = unit.to_string();
        if done.contains(&name) {
            report.already_done += 1;
            continue;
        }
        stamp_invoked(&mut event, now_ms());
        invoker
            .invoke(e.stage, &name, event)
            .await
            .map_err(|err| StageError::Parent {
                stage: e.stage.to_string(),
                message: err.to_string(),
            })?;
        report.invoked += 1;
    }
    Ok(report)
}
