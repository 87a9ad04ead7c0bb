//! One stage driven to its end: every unit invoked (at most the invoker's capacity in flight),
//! re-invoked when it failed, its hand-over failed or it went silent past its deadline (a
//! bounded number of times), until every unit is done or failed for good — or the parent's own
//! time is up, and it pauses, leaving in the stage log what is in flight.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use groves_core::layout::{self, Unit};
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_stages::StageError;
use groves_store::Store;
use serde_json::Value;
use tokio::time::Instant;

use super::clock::ParentClock;
use super::log::{
    failure_message, read_stage_log, status, write_stage_log, InFlight, StageLog, UnitFailure,
};
use super::options::{DriveOptions, Progress};
use super::plan::{run_id, stamp_invoked};
use crate::invoke::{HandoffFailure, Invoker};

/// Throttled hand-overs: none is sent before `hold_until_ms`; the wait doubles with each
/// throttle (1 s to 60 s) and starts again from 1 s once a unit completes.
#[derive(Default)]
struct Backoff {
    hold_until_ms: Option<i64>,
    wait_ms: i64,
}

impl Backoff {
    fn holds(&self, now_ms: i64) -> bool {
        self.hold_until_ms.is_some_and(|t| now_ms < t)
    }

    fn throttled(&mut self, log: &mut StageLog, unit: &str, now_ms: i64) {
        log.throttled += 1;
        self.wait_ms = (self.wait_ms * 2).clamp(1_000, 60_000);
        self.hold_until_ms = Some(now_ms + self.wait_ms);
        tracing::warn!(stage = %log.stage, unit, wait_ms = self.wait_ms, "hand-over throttled: backing off");
    }

    fn reset(&mut self) {
        self.wait_ms = 0;
    }
}

/// Stragglers: a unit whose process died (a Lambda environment lost mid-run, a killed instance)
/// never reports, and `unit_timeout_s` (15 minutes by default) is long to wait for it. Once
/// [`Stragglers::SAMPLES`] units of the stage have finished, a unit silent for
/// [`Stragglers::FACTOR`] × the slowest of them (at least [`Stragglers::FLOOR_MS`]) is presumed
/// lost and invoked again, while it has attempts left; its last attempt waits the full
/// timeout. A unit that was only slow finishes twice with the same bytes.
#[derive(Default)]
struct Stragglers {
    finished: usize,
    slowest_ms: i64,
}

impl Stragglers {
    const SAMPLES: usize = 10;
    const FACTOR: i64 = 4;
    const FLOOR_MS: i64 = 30_000;

    fn finished(&mut self, took_ms: i64) {
        self.finished += 1;
        self.slowest_ms = self.slowest_ms.max(took_ms);
    }

    /// How long a unit may stay silent: `timeout_ms`, or less when it has attempts left and
    /// enough of the stage has finished to know how long a unit takes.
    fn limit_ms(&self, timeout_ms: i64, attempts_left: bool) -> i64 {
        if !attempts_left || self.finished < Self::SAMPLES {
            return timeout_ms;
        }
        (self.slowest_ms * Self::FACTOR)
            .max(Self::FLOOR_MS)
            .min(timeout_ms)
    }
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

pub(super) enum StageRun {
    Finished(StageLog),
    Paused,
}

/// Runs one stage to its end: every unit done or failed for good.
#[allow(clippy::too_many_arguments)] // the stage's inputs, each used once; a struct adds nothing
pub(super) async fn run_stage(
    store: &dyn Store,
    invoker: &dyn Invoker,
    spec: &RunSpec,
    stage: Stage,
    round: Option<u32>,
    units: Vec<(Unit, Value)>,
    opts: &DriveOptions,
    progress: &dyn Progress,
    clock: &ParentClock,
) -> Result<StageRun, StageError> {
    let run = run_id(spec)?;
    let total = units.len();
    let previous = read_stage_log(store, &run, stage, round).await;
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
        round,
        units: total,
        done_before: done.len(),
        done: done.len(),
        invocations: previous.as_ref().map_or(0, |p| p.invocations),
        retried: previous
            .as_ref()
            .map_or_else(BTreeMap::new, |p| p.retried.clone()),
        throttled: previous.as_ref().map_or(0, |p| p.throttled),
        failed: Vec::new(),
        started_ms: previous
            .as_ref()
            .map_or_else(|| clock.now_ms(), |p| p.started_ms),
        finished_ms: None,
        in_flight: Vec::new(),
        code_version: crate::CODE_VERSION.into(),
    };
    progress.stage_started(stage, total, done.len());
    let timeout_ms = (spec.unit_timeout_s as i64).saturating_mul(1000);
    let capacity = invoker.capacity().max(1);
    let mut poll = opts.poll_min;
    let mut failed_seen: BTreeSet<String> = failed_now;
    let mut backoff = Backoff::default();
    let mut stragglers = Stragglers::default();

    loop {
        // Hand over what may run now, oldest first, keeping at most `capacity` in flight.
        let mut in_flight = states
            .iter()
            .filter(|s| s.in_flight_since.is_some())
            .count();
        for s in states.iter_mut() {
            if in_flight >= capacity || backoff.holds(clock.now_ms()) {
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
            let invoked = clock.now_ms();
            let mut event = s.event.clone();
            stamp_invoked(&mut event, invoked);
            s.attempts += 1;
            s.in_flight_since = Some(invoked);
            log.invocations += 1;
            in_flight += 1;
            if let Err(e) = invoker.invoke(stage, &s.name, event).await {
                s.in_flight_since = None;
                in_flight -= 1;
                if e.throttled {
                    // The unit never ran: not an attempt, and nothing more is sent for now.
                    s.attempts -= 1;
                    backoff.throttled(&mut log, &s.name, invoked);
                    break;
                }
                s.last_error = Some(e.to_string());
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

        invoker.wait_for_news(poll).await;
        let (done_now, failed_now) = status(store, &run, stage).await?;
        let handoff: HashMap<String, HandoffFailure> = invoker
            .take_failures()
            .into_iter()
            .filter(|f| f.stage == stage)
            .map(|f| (f.unit.clone(), f))
            .collect();
        let mut changed = false;
        let now = clock.now_ms();
        for s in states.iter_mut() {
            if done_now.contains(&s.name) {
                if let Some(since) = s.in_flight_since {
                    stragglers.finished(now - since);
                }
                if s.attempts > 1 {
                    log.retried.insert(s.name.clone(), s.attempts);
                }
                done.insert(s.name.clone());
                changed = true;
                backoff.reset();
                continue;
            }
            let Some(since) = s.in_flight_since else {
                continue;
            };
            if handoff.get(&s.name).is_some_and(|f| f.throttled) {
                // Refused in the background: as a refusal at once (above).
                s.in_flight_since = None;
                s.attempts -= 1;
                backoff.throttled(&mut log, &s.name, now);
                continue;
            }
            let silent_for = stragglers.limit_ms(timeout_ms, s.attempts < spec.max_attempts);
            let why = if failed_now.contains(&s.name) {
                let key = layout::failed_key(&run, stage.as_str(), &s.unit);
                Some(failure_message(store, &key).await)
            } else if let Some(f) = handoff.get(&s.name) {
                Some(f.message.clone())
            } else if now - since > silent_for {
                Some(if silent_for < timeout_ms {
                    format!(
                        "no report within {:.1} s of its invocation ({}× the slowest of the \
                         stage's {} finished units): presumed lost",
                        silent_for as f64 / 1e3,
                        Stragglers::FACTOR,
                        stragglers.finished
                    )
                } else {
                    format!(
                        "no report within {} s of its invocation",
                        spec.unit_timeout_s
                    )
                })
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
    log.finished_ms = Some(clock.now_ms());
    write_stage_log(store, &run, &log).await?;
    progress.stage_finished(stage, &log);
    Ok(StageRun::Finished(log))
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn a_silent_unit_is_presumed_lost_after_four_times_the_slowest_once_ten_finished() {
        let mut st = Stragglers::default();
        let full = 900_000;
        for took in [
            1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000,
        ] {
            st.finished(took);
        }
        assert_eq!(
            st.limit_ms(full, true),
            full,
            "nine are not enough to judge"
        );
        st.finished(20_000);
        assert_eq!(st.limit_ms(full, true), 80_000);
        assert_eq!(
            st.limit_ms(full, false),
            full,
            "the last attempt waits it all"
        );
        assert_eq!(
            st.limit_ms(60_000, true),
            60_000,
            "never beyond the timeout"
        );
        let mut quick = Stragglers::default();
        for _ in 0..10 {
            quick.finished(50);
        }
        assert_eq!(quick.limit_ms(full, true), Stragglers::FLOOR_MS);
    }

    #[test]
    fn the_wait_doubles_to_a_minute_and_starts_again_after_progress() {
        let mut log: StageLog = serde_json::from_value(serde_json::json!({
            "stage": "processing", "units": 1, "done_before": 0, "done": 0, "invocations": 0,
            "retried": {}, "failed": [], "started_ms": 0, "finished_ms": null
        }))
        .unwrap();
        assert_eq!(
            log.throttled, 0,
            "a log written before the field reads as 0"
        );
        let mut b = Backoff::default();
        assert!(!b.holds(0));
        let mut waits = Vec::new();
        for _ in 0..8 {
            b.throttled(&mut log, "A", 0);
            waits.push(b.wait_ms);
        }
        assert_eq!(
            waits,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
        );
        assert!(b.holds(59_999) && !b.holds(60_000));
        assert_eq!(log.throttled, 8);
        b.reset();
        b.throttled(&mut log, "A", 100);
        assert_eq!(b.wait_ms, 1_000);
        assert!(b.holds(1_099) && !b.holds(1_100));
    }
}
