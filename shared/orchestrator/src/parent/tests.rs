//! The parent's loop against a scripted invoker on an in-memory store, with tokio's clock
//! paused: retries, deadlines, pauses and the stock policy, each in virtual time (a unit that
//! "takes an hour" costs nothing), so the whole set runs in well under a second.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use groves_core::events::parse_event;
use groves_core::ids::{RunId, Symbol};
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_stages::unit::run_recorded;
use groves_stages::StageError;
use groves_store::{MemoryStore, Store};
use serde_json::Value;
use tokio::time::Instant;

use super::*;
use crate::invoke::{HandoffFailure, InvokeError, Invoker};

/// What one attempt of a unit does.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Reports done after this many seconds.
    Done(u64),
    /// Reports a failure after this many seconds.
    Fail(u64),
    /// Never reports (a lost event, a crashed instance).
    Silent,
    /// The hand-over fails in the background (Lambda's async call errs after `invoke` returned).
    HandoffFails,
    /// `invoke` itself refuses (an error that is not throttling).
    Refused,
    /// `invoke` is throttled (Lambda's 429) at once, or in the background.
    Throttled,
    HandoffThrottled,
    /// Reports done after this many seconds, and again as long after (a duplicate delivery).
    Twice(u64),
}

/// Units that do what a script says, writing only their status records.
struct Scripted {
    store: Arc<dyn Store>,
    /// Per (stage, unit): one act per attempt; when the list runs out, `Done(1)`.
    script: Mutex<HashMap<(Stage, String), VecDeque<Act>>>,
    invocations: Mutex<Vec<(Stage, String)>>,
    /// When each invocation was made (virtual time), in the same order.
    invoked_at: Mutex<Vec<Instant>>,
    failures: Mutex<Vec<HandoffFailure>>,
    capacity: usize,
    outlive: bool,
}

impl Scripted {
    fn new(store: Arc<dyn Store>) -> Scripted {
        Scripted {
            store,
            script: Mutex::default(),
            invocations: Mutex::default(),
            invoked_at: Mutex::default(),
            failures: Mutex::default(),
            capacity: 4,
            outlive: false,
        }
    }

    fn script(&self, stage: Stage, unit: &str, acts: &[Act]) {
        self.script
            .lock()
            .unwrap()
            .insert((stage, unit.to_string()), acts.iter().copied().collect());
    }

    fn invoked(&self, stage: Stage, unit: &str) -> usize {
        self.invocations
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, u)| *s == stage && u == unit)
            .count()
    }

    /// When `unit` of `stage` was invoked, in order.
    fn invoked_times(&self, stage: Stage, unit: &str) -> Vec<Instant> {
        let inv = self.invocations.lock().unwrap();
        let at = self.invoked_at.lock().unwrap();
        inv.iter()
            .zip(at.iter())
            .filter(|((s, u), _)| *s == stage && u == unit)
            .map(|(_, t)| *t)
            .collect()
    }

    fn total(&self) -> usize {
        self.invocations.lock().unwrap().len()
    }
}

/// Writes a unit's record after `secs`, as a unit that succeeded or failed would.
fn report_later(store: Arc<dyn Store>, stage: Stage, event: Value, secs: u64, ok: bool) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let bytes = serde_json::to_vec(&event).unwrap();
        let event = parse_event(stage, &bytes).unwrap();
        let address = event.address().unwrap();
        let work = async move {
            if ok {
                Ok(())
            } else {
                Err(StageError::Invalid(format!("scripted failure at {secs} s")))
            }
        };
        let _ = run_recorded(store.as_ref(), address.run, stage, &address.unit, work).await;
    });
}

#[async_trait]
impl Invoker for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn capacity(&self) -> usize {
        self.capacity
    }
    fn units_outlive_parent(&self) -> bool {
        self.outlive
    }
    async fn invoke(&self, stage: Stage, unit: &str, event: Value) -> Result<(), InvokeError> {
        self.invocations
            .lock()
            .unwrap()
            .push((stage, unit.to_string()));
        self.invoked_at.lock().unwrap().push(Instant::now());
        let act = self
            .script
            .lock()
            .unwrap()
            .get_mut(&(stage, unit.to_string()))
            .and_then(VecDeque::pop_front)
            .unwrap_or(Act::Done(1));
        let store = self.store.clone();
        match act {
            Act::Done(s) => report_later(store, stage, event, s, true),
            Act::Fail(s) => report_later(store, stage, event, s, false),
            Act::Silent => {}
            Act::HandoffFails | Act::HandoffThrottled => {
                self.failures.lock().unwrap().push(HandoffFailure {
                    stage,
                    unit: unit.to_string(),
                    message: "scripted: the invoke call failed".into(),
                    throttled: matches!(act, Act::HandoffThrottled),
                })
            }
            Act::Refused | Act::Throttled => {
                return Err(InvokeError {
                    invoker: "scripted".into(),
                    stage,
                    unit: unit.to_string(),
                    message: "scripted: refused".into(),
                    throttled: matches!(act, Act::Throttled),
                })
            }
            Act::Twice(s) => {
                report_later(store.clone(), stage, event.clone(), s, true);
                // The second delivery's record overwrites the first with the same bytes.
                let done = {
                    let e = parse_event(stage, &serde_json::to_vec(&event).unwrap()).unwrap();
                    let a = e.address().unwrap();
                    layout::done_key(a.run, stage.as_str(), &a.unit)
                };
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(2 * s)).await;
                    let record = serde_json::json!({"stage": stage, "unit": "again"});
                    store
                        .put(&done, Bytes::from(record.to_string()))
                        .await
                        .unwrap();
                });
            }
        }
        Ok(())
    }
    fn take_failures(&self) -> Vec<HandoffFailure> {
        std::mem::take(&mut *self.failures.lock().unwrap())
    }
}

fn sym(s: &str) -> Symbol {
    Symbol::new(s).unwrap()
}

/// A bucket with raw files for A and B (their content never read: no unit really runs).
async fn bucket() -> Arc<dyn Store> {
    let store = MemoryStore::new();
    for s in ["A", "B"] {
        store
            .put(
                &layout::raw_key(&sym(s)),
                Bytes::from_static(b"date,TYPPRICE\n"),
            )
            .await
            .unwrap();
    }
    Arc::new(store)
}

/// 1 × 2 settings, 2 groves each, 2 final groves; 3 attempts, 60 s deadline.
fn spec(run: &str) -> RunSpec {
    RunSpec {
        run: Some(RunId::new(run).unwrap()),
        feat: vec![5],
        samp: vec![5, 15],
        groves: 2,
        final_groves: 2,
        max_attempts: 3,
        unit_timeout_s: 60,
        ..RunSpec::default()
    }
}

async fn drive(store: &dyn Store, inv: &Scripted, spec: &RunSpec) -> RunOutcome {
    match drive_run(
        store,
        inv,
        spec,
        "groves-data",
        &DriveOptions::default(),
        &Quiet,
    )
    .await
    .unwrap()
    {
        DriveOutcome::Finished(o) => o,
        DriveOutcome::Paused { stage, .. } => panic!("paused in {stage}"),
    }
}

fn log(out: &RunOutcome, stage: Stage) -> &StageLog {
    out.stages.iter().find(|l| l.stage == stage).unwrap()
}

/// Units per run of `spec(..)` for two stocks: 2 processing, 8 groves, 2 pred-mses, 2 min-mse,
/// 4 final groves, 2 test-full, 1 timing-metrics.
const UNITS: usize = 2 + 8 + 2 + 2 + 4 + 2 + 1;

#[tokio::test(start_paused = true)]
async fn a_clean_run_invokes_each_unit_once_and_a_second_drive_invokes_nothing() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    let out = drive(store.as_ref(), &inv, &spec("clean")).await;
    out.check().unwrap();
    assert_eq!(out.stocks_done, ["A", "B"]);
    assert_eq!(inv.total(), UNITS);
    let logs = out.stages.clone();

    let again = drive(store.as_ref(), &inv, &spec("clean")).await;
    assert_eq!(inv.total(), UNITS, "a finished run is not invoked again");
    assert_eq!(again.stages, logs, "its stage logs stay as they were");
}

#[tokio::test(start_paused = true)]
async fn a_unit_that_reports_a_failure_is_invoked_again() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    inv.script(Stage::ParamPreds, "A.f5_s15_g1", &[Act::Fail(2)]);
    let out = drive(store.as_ref(), &inv, &spec("fail-once")).await;
    out.check().unwrap();
    assert_eq!(inv.invoked(Stage::ParamPreds, "A.f5_s15_g1"), 2);
    let pp = log(&out, Stage::ParamPreds);
    assert_eq!(pp.retried.get("A.f5_s15_g1"), Some(&2));
    assert_eq!(pp.invocations, 9);
    // The failure record of the first attempt was cleared before the retry.
    let run = RunId::new("fail-once").unwrap();
    let prefix = layout::status_prefix(&run, "param-preds");
    let failed = store.list(&prefix).await.unwrap();
    assert!(
        failed.iter().all(|m| !m.key.ends_with(".failed")),
        "{failed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_hand_over_is_retried_whether_it_fails_at_once_or_later() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    inv.script(Stage::Processing, "A", &[Act::HandoffFails]);
    inv.script(Stage::MinMse, "B", &[Act::Refused, Act::Refused]);
    let out = drive(store.as_ref(), &inv, &spec("handoff")).await;
    out.check().unwrap();
    assert_eq!(inv.invoked(Stage::Processing, "A"), 2);
    assert_eq!(log(&out, Stage::Processing).retried.get("A"), Some(&2));
    assert_eq!(inv.invoked(Stage::MinMse, "B"), 3);
    assert_eq!(log(&out, Stage::MinMse).retried.get("B"), Some(&3));
}

#[tokio::test(start_paused = true)]
async fn a_throttled_hand_over_backs_off_and_is_not_an_attempt() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    // Five throttles, more than max_attempts (3), at once and in the background.
    use Act::{HandoffThrottled as Later, Throttled as Now};
    inv.script(Stage::Processing, "A", &[Now, Later, Now, Later, Now]);
    let started = Instant::now();
    let out = drive(store.as_ref(), &inv, &spec("throttled")).await;
    out.check().unwrap();
    assert_eq!(inv.invoked(Stage::Processing, "A"), 6);
    let p = log(&out, Stage::Processing);
    assert_eq!(p.throttled, 5);
    assert!(p.retried.is_empty(), "{:?}", p.retried);
    // Each throttle held the hand-overs back at least a second (the wait doubles while
    // nothing completes, and starts again from a second when a unit does).
    let times = inv.invoked_times(Stage::Processing, "A");
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(1), "{times:?}");
    }
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(120), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_silent_unit_is_invoked_again_after_its_deadline_not_before() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    inv.script(Stage::TrainFull, "B.final_g1", &[Act::Silent]);
    let started = Instant::now();
    let out = drive(store.as_ref(), &inv, &spec("silent")).await;
    out.check().unwrap();
    assert_eq!(inv.invoked(Stage::TrainFull, "B.final_g1"), 2);
    assert_eq!(
        log(&out, Stage::TrainFull).retried.get("B.final_g1"),
        Some(&2)
    );
    // The run waited out the 60 s deadline once (every other unit takes 1 s of virtual time).
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(60), "{waited:?}");
    assert!(waited < Duration::from_secs(120), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_late_report_after_a_retry_counts_once() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    // The first attempt reports after 90 s, past the 60 s deadline; the retry reports 60 s
    // after it was sent (at about 120 s), so the late first report lands first.
    inv.script(
        Stage::ParamPreds,
        "B.f5_s5_g0",
        &[Act::Done(90), Act::Twice(60)],
    );
    let out = drive(store.as_ref(), &inv, &spec("late")).await;
    out.check().unwrap();
    assert_eq!(inv.invoked(Stage::ParamPreds, "B.f5_s5_g0"), 2);
    let pp = log(&out, Stage::ParamPreds);
    assert_eq!(pp.retried.get("B.f5_s5_g0"), Some(&2));
    assert_eq!(pp.done, 8);
    assert!(pp.failed.is_empty());
    assert_eq!(out.stocks_done, ["A", "B"]);
}

#[tokio::test(start_paused = true)]
async fn a_unit_that_keeps_failing_stops_after_max_attempts_and_its_stock_leaves() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    inv.script(
        Stage::Processing,
        "B",
        &[Act::Fail(1), Act::Fail(1), Act::Fail(1), Act::Done(1)],
    );
    let out = drive(store.as_ref(), &inv, &spec("max")).await;
    assert_eq!(inv.invoked(Stage::Processing, "B"), 3, "max_attempts is 3");
    let pr = log(&out, Stage::Processing);
    assert_eq!(pr.failed.len(), 1);
    assert_eq!(pr.failed[0].attempts, 3);
    assert!(pr.failed[0].error.contains("scripted failure"), "{pr:?}");
    // B left the run at processing; A went on to the end.
    assert_eq!(out.stocks_done, ["A"]);
    assert_eq!(out.failed.len(), 1);
    assert_eq!(
        (out.failed[0].stock.as_str(), out.failed[0].stage),
        ("B", Stage::Processing)
    );
    assert_eq!(inv.invoked(Stage::PredMses, "B"), 0);
    assert_eq!(inv.invoked(Stage::PredMses, "A"), 1);
    let err = out.check().unwrap_err().to_string();
    assert!(
        err.contains("1 of 2 stocks") && err.contains("B (processing)"),
        "{err}"
    );
    // The timing tables are built in any case.
    assert_eq!(inv.invoked(Stage::TimingMetrics, "run"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_grove_lost_for_good_fails_its_stock_after_averaging_unless_allowed() {
    let fail_always = [Act::Fail(1); 3];
    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    inv.script(Stage::ParamPreds, "A.f5_s5_g1", &fail_always);
    let out = drive(store.as_ref(), &inv, &spec("strict")).await;
    // pred-mses still ran for A (it records which grove is missing), then A left the run.
    assert_eq!(inv.invoked(Stage::PredMses, "A"), 1);
    assert_eq!(inv.invoked(Stage::MinMse, "A"), 0);
    assert_eq!(out.stocks_done, ["B"]);
    assert_eq!(out.failed[0].stage, Stage::ParamPreds);
    assert!(
        out.failed[0].reason.contains("A.f5_s5_g1"),
        "{:?}",
        out.failed
    );
    assert!(out.failed[0].reason.contains("allow_missing"));

    let store = bucket().await;
    let inv = Scripted::new(store.clone());
    inv.script(Stage::ParamPreds, "A.f5_s5_g1", &fail_always);
    let mut lenient = spec("lenient");
    lenient.allow_missing = true;
    let out = drive(store.as_ref(), &inv, &lenient).await;
    out.check().unwrap();
    assert_eq!(out.stocks_done, ["A", "B"]);
    assert!(out.accepted_missing["A"][0].contains("A.f5_s5_g1"));
    assert_eq!(inv.invoked(Stage::TestFull, "A"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_paused_parent_leaves_its_units_in_flight_and_a_new_one_waits_for_them() {
    let store = bucket().await;
    let mut inv = Scripted::new(store.clone());
    inv.outlive = true; // as on Lambda: units go on after the parent stops
    inv.capacity = 100;
    for g in 0..2 {
        for s in [5, 15] {
            for stock in ["A", "B"] {
                inv.script(
                    Stage::ParamPreds,
                    &format!("{stock}.f5_s{s}_g{g}"),
                    &[Act::Done(50)],
                );
            }
        }
    }
    let spec = spec("pause");
    // Processing takes 1 s; the parent stops 20 s in, while the groves (50 s each) run.
    let opts = DriveOptions {
        stop_at: Some(Instant::now() + Duration::from_secs(20)),
        ..DriveOptions::default()
    };
    let r = drive_run(store.as_ref(), &inv, &spec, "groves-data", &opts, &Quiet)
        .await
        .unwrap();
    let DriveOutcome::Paused {
        stage,
        spec: resolved,
    } = r
    else {
        panic!("not paused: {r:?}")
    };
    assert_eq!(stage, Stage::ParamPreds);
    assert_eq!(resolved.stocks, [sym("A"), sym("B")]);
    let run = RunId::new("pause").unwrap();
    let left = read_stage_log(store.as_ref(), &run, Stage::ParamPreds, None)
        .await
        .unwrap();
    assert_eq!(left.in_flight.len(), 8, "{left:?}");
    assert_eq!(left.finished_ms, None);

    // A new parent resumes: it waits for the groves in flight instead of invoking them again.
    let out = drive(store.as_ref(), &inv, &resolved).await;
    out.check().unwrap();
    assert_eq!(inv.invoked(Stage::ParamPreds, "A.f5_s5_g0"), 1);
    assert_eq!(inv.total(), UNITS);
    let pp = log(&out, Stage::ParamPreds);
    assert_eq!((pp.done, pp.invocations), (8, 8));
    assert!(pp.in_flight.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_pool_that_dies_with_its_parent_is_invoked_again_on_resume() {
    let store = bucket().await;
    let inv = Scripted::new(store.clone()); // units do not outlive the parent
    inv.script(Stage::Processing, "A", &[Act::Silent]);
    inv.script(Stage::Processing, "B", &[Act::Silent]);
    let opts = DriveOptions {
        stop_at: Some(Instant::now() + Duration::from_secs(5)),
        ..DriveOptions::default()
    };
    let r = drive_run(
        store.as_ref(),
        &inv,
        &spec("local"),
        "groves-data",
        &opts,
        &Quiet,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            r,
            DriveOutcome::Paused {
                stage: Stage::Processing,
                ..
            }
        ),
        "{r:?}"
    );
    // Resumed at once (not after the deadline): the lost units are sent again.
    let started = Instant::now();
    let out = drive(store.as_ref(), &inv, &spec("local")).await;
    out.check().unwrap();
    assert_eq!(inv.invoked(Stage::Processing, "A"), 2);
    assert!(started.elapsed() < Duration::from_secs(60));
}
