//! The scorer: settles a stock's new live objects in time order.
//!
//! Every settle starts from the newest state snapshot and lists only the objects after the
//! last one settled (S3 `StartAfter`). Objects are settled one by one while the next is the
//! expected minute (the next minute of the session, or the first of a later day after the
//! session's last), or, when minutes are missing before it, once a minute `lateness` minutes
//! past the first missing one has arrived: until then an early object waits for the missing
//! ones, so minutes that arrive out of order inside that bound give exactly the records of an
//! in-order arrival. A minute arriving later than that is recorded as late and skipped.
//!
//! Everything a settle writes is a function of the state and the objects it settles, written
//! only if absent, and the new state is a new snapshot named by its frontier: a duplicate
//! notification, a retried invocation or two settles racing write the same bytes or nothing.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use groves_core::calendar::{format_wall, DAY_MS};
use groves_core::features::N_FEATURES;
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_core::spec::RunSpec;
use groves_data::raw::minutes::{parse_minutes, MinuteRow};
use groves_serving::{LoadedModel, ModelCache, Row, ServeError};
use groves_store::{ObjectMeta, Store};
use serde_json::json;

use crate::drift::{self, DriftKind, DriftRecord, Retrainer};
use crate::state::{LiveState, Pending, Realised};
use crate::tables::{self, ForecastRow, OutcomeRow};
use crate::LiveError;

/// The session's first and last minute (NSE, India wall clock), as ms into the day.
pub const SESSION_OPEN_MS: i64 = (9 * 60 + 15) * 60_000;
pub const SESSION_LAST_MS: i64 = (15 * 60 + 29) * 60_000;

#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Minutes a missing minute is waited for (see the module text).
    pub lateness_minutes: u32,
    /// Realised forecasts in the rolling skill (375: one trading day).
    pub window: usize,
    /// Drift begins when the rolling skill exceeds the promoted skill × (1 + tolerance).
    pub drift_tolerance: f64,
    /// Settle every listed object now, however many minutes are missing before it (the end of
    /// a replay).
    pub flush: bool,
    /// Days kept as minute files before they are compacted (counting the frontier's).
    pub open_days: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            lateness_minutes: 5,
            window: 375,
            drift_tolerance: 0.25,
            flush: false,
            open_days: 2,
        }
    }
}

/// What one settle did.
#[derive(Debug)]
pub struct SettleReport {
    pub stock: Symbol,
    /// Objects settled now, and listed but waiting for a missing minute.
    pub objects: usize,
    pub waiting: usize,
    pub forecasts: Vec<ForecastRow>,
    pub outcomes: Vec<OutcomeRow>,
    /// Milliseconds from each forecast's object landing (its store time) to its row written.
    pub latencies_ms: Vec<f64>,
    /// Objects skipped: (key, why).
    pub skipped: Vec<(String, String)>,
    pub drift: Vec<DriftRecord>,
    pub rolling: Option<(f64, f64, f64)>,
    /// The rolling window holds `window` realised forecasts (drift is judged only then).
    pub window_full: bool,
    pub promoted_skill: Option<f64>,
    /// Snapshot the settle left (None: nothing new).
    pub state_key: Option<String>,
}

impl SettleReport {
    fn new(stock: Symbol) -> Self {
        SettleReport {
            stock,
            objects: 0,
            waiting: 0,
            forecasts: Vec::new(),
            outcomes: Vec::new(),
            latencies_ms: Vec::new(),
            skipped: Vec::new(),
            drift: Vec::new(),
            rolling: None,
            window_full: false,
            promoted_skill: None,
            state_key: None,
        }
    }
}

/// Retraining on drift: who starts the runs, and the run they start from (grid, groves).
#[derive(Clone)]
pub struct Retraining {
    pub retrainer: Arc<dyn Retrainer>,
    pub base: RunSpec,
}

/// Settles live objects with the serving models of `models`.
pub struct Scorer {
    store: Arc<dyn Store>,
    models: Arc<ModelCache>,
    opts: LiveOptions,
    retraining: Option<Retraining>,
}

impl Scorer {
    pub fn new(store: Arc<dyn Store>, models: Arc<ModelCache>, opts: LiveOptions) -> Self {
        Scorer {
            store,
            models,
            opts,
            retraining: None,
        }
    }

    /// Starts a retraining run when a drift episode begins.
    pub fn with_retraining(mut self, retraining: Retraining) -> Self {
        self.retraining = Some(retraining);
        self
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn options(&self) -> &LiveOptions {
        &self.opts
    }

    /// What a notification of `key` does: settles its stock, then records the object as late
    /// if it was neither settled now nor before (it came after its minute was given up).
    pub async fn score_object(&self, key: &str) -> Result<SettleReport, LiveError> {
        let (stock, _) = layout::parse_live_minute_key(key)
            .ok_or_else(|| LiveError::NotALiveKey(key.to_string()))?;
        let stock = Symbol::new(stock).map_err(|_| LiveError::NotALiveKey(key.to_string()))?;
        self.score_objects(&stock, &[key.to_string()]).await
    }

    /// [`Scorer::score_object`] for several objects of one stock that landed together (a
    /// stream's batch): one settle, then the late check of each.
    pub async fn score_objects(
        &self,
        stock: &Symbol,
        keys: &[String],
    ) -> Result<SettleReport, LiveError> {
        self.score_landed(stock, keys, &[]).await
    }

    /// [`Scorer::score_objects`], given the bytes of objects this process has just written
    /// (`landed`: key and body), which are then not read back from the store.
    pub async fn score_landed(
        &self,
        stock: &Symbol,
        keys: &[String],
        landed: &[(String, Bytes)],
    ) -> Result<SettleReport, LiveError> {
        let mut minutes = Vec::with_capacity(keys.len());
        for key in keys {
            match layout::parse_live_minute_key(key) {
                Some((s, ms)) if s == stock.as_str() => minutes.push((key, ms)),
                _ => return Err(LiveError::NotALiveKey(key.to_string())),
            }
        }
        let (mut report, state) = self.settle_inner(stock, landed).await?;
        for (key, minute_ms) in minutes {
            let behind = state
                .frontier_key
                .as_deref()
                .is_some_and(|f| key.as_str() <= f);
            let known = state.recent_keys.iter().any(|k| k == key);
            let remembered_from = state.recent_keys.front().map(String::as_str);
            if behind && !known && remembered_from.is_some_and(|oldest| key.as_str() > oldest) {
                let why = format!(
                    "arrived after minute {} was settled without it",
                    format_wall(state.frontier_ms.unwrap_or(minute_ms))
                );
                self.record_skip(stock, key, minute_ms, &why).await?;
                report.skipped.push((key.to_string(), why));
            }
        }
        Ok(report)
    }

    /// Settles every object of `stock` that is ready.
    pub async fn settle(&self, stock: &Symbol) -> Result<SettleReport, LiveError> {
        Ok(self.settle_inner(stock, &[]).await?.0)
    }

    async fn record_skip(
        &self,
        stock: &Symbol,
        key: &str,
        minute_ms: i64,
        why: &str,
    ) -> Result<(), LiveError> {
        tracing::warn!(stock = %stock, key, why, "live object skipped");
        let body = json!({"stock": stock.as_str(), "key": key, "minute": format_wall(minute_ms), "error": why});
        self.store
            .put_if_absent(
                &layout::live_error_key(stock, minute_ms),
                Bytes::from(body.to_string()),
            )
            .await?;
        Ok(())
    }

    async fn model(&self, stock: &Symbol) -> Result<Option<Arc<LoadedModel>>, LiveError> {
        match self.models.get(stock).await {
            Ok(m) => Ok(Some(m)),
            Err(ServeError::NotPromoted(_) | ServeError::UnknownStock(_)) => Ok(None),
            Err(ServeError::Store(e)) => Err(e.into()),
            Err(e) => Err(LiveError::Model(e.to_string())),
        }
    }

    async fn settle_inner(
        &self,
        stock: &Symbol,
        landed: &[(String, Bytes)],
    ) -> Result<(SettleReport, LiveState), LiveError> {
        let (snapshots, mut state) = load_state(self.store.as_ref(), stock).await?;
        let mut report = SettleReport::new(stock.clone());
        let prefix = layout::live_minutes_prefix(stock);
        let after = state.frontier_key.clone().unwrap_or_else(|| prefix.clone());
        let listed: Vec<(ObjectMeta, i64)> = self
            .store
            .list_after(&prefix, &after)
            .await?
            .into_iter()
            .filter_map(|o| {
                let ms = layout::parse_live_minute_key(&o.key).map(|(_, ms)| ms);
                if ms.is_none() {
                    tracing::warn!(key = %o.key, "not a live minute key: ignored");
                }
                ms.map(|ms| (o, ms))
            })
            .collect();
        if listed.is_empty() {
            report.rolling = state.rolling();
            report.promoted_skill = state.promoted_skill;
            return Ok((report, state));
        }
        let model = self.model(stock).await?;
        if let Some(m) = &model {
            if state.model_run.as_deref() != Some(m.pointer.run.as_str()) {
                // A new model: its skill is measured afresh, and an open episode is over.
                state.model_run = Some(m.pointer.run.to_string());
                state.promoted_skill = Some(m.pointer.skill_ratio);
                state.promoted_test_mse = Some(m.pointer.test_mse);
                state.realised.clear();
                state.drift_since = None;
            }
        }
        state.window = self.opts.window;
        state.drift_tolerance = self.opts.drift_tolerance;
        let newest_ms = listed.iter().map(|(_, ms)| *ms).max().unwrap_or(i64::MIN);
        let mut settled_any = false;
        for (i, (meta, first_ms)) in listed.iter().enumerate() {
            let first_ms = *first_ms;
            match self.readiness(&state, first_ms, newest_ms) {
                Ready::Wait => {
                    report.waiting = listed.len() - i;
                    break;
                }
                Ready::Gap => state.counts.gaps += 1,
                Ready::Next => {}
            }
            settled_any = true;
            let body = landed.iter().find(|(k, _)| *k == meta.key).map(|(_, b)| b);
            self.settle_object(
                &mut state,
                &mut report,
                model.as_deref(),
                meta,
                body,
                first_ms,
            )
            .await?;
        }
        report.rolling = state.rolling();
        report.window_full = state.realised.len() >= self.opts.window;
        report.promoted_skill = state.promoted_skill;
        if settled_any {
            let frontier = state
                .frontier_ms
                .unwrap_or_else(|| unreachable!("a settled object sets the frontier"));
            let key = layout::live_state_key(stock, frontier);
            let body = serde_json::to_vec(&state).map_err(|e| LiveError::State {
                key: key.clone(),
                message: e.to_string(),
            })?;
            self.store.put_if_absent(&key, Bytes::from(body)).await?;
            // Older snapshots than the one this settle started from are no longer needed (the
            // one it started from stays for a settle racing this one).
            if let Some(started) = snapshots.last() {
                for old in &snapshots[..snapshots.len() - 1] {
                    if old < started {
                        self.store.delete(old).await?;
                    }
                }
            }
            report.state_key = Some(key);
        }
        Ok((report, state))
    }

    fn readiness(&self, state: &LiveState, first_ms: i64, newest_ms: i64) -> Ready {
        let Some(f) = state.frontier_ms else {
            return Ready::Next;
        };
        let f_in_day = f.rem_euclid(DAY_MS);
        let expected = if f_in_day < SESSION_LAST_MS {
            first_ms == f + 60_000
        } else {
            first_ms.div_euclid(DAY_MS) > f.div_euclid(DAY_MS)
                && first_ms.rem_euclid(DAY_MS) == SESSION_OPEN_MS
        };
        if expected {
            return Ready::Next;
        }
        let first_missing = if f_in_day < SESSION_LAST_MS {
            f + 60_000
        } else {
            // The next session's open, on the object's day.
            first_ms.div_euclid(DAY_MS) * DAY_MS + SESSION_OPEN_MS
        };
        if self.opts.flush
            || newest_ms >= first_missing + i64::from(self.opts.lateness_minutes) * 60_000
        {
            Ready::Gap
        } else {
            Ready::Wait
        }
    }

    async fn settle_object(
        &self,
        state: &mut LiveState,
        report: &mut SettleReport,
        model: Option<&LoadedModel>,
        meta: &ObjectMeta,
        body: Option<&Bytes>,
        first_ms: i64,
    ) -> Result<(), LiveError> {
        let stock = state.stock.clone();
        let key = meta.key.as_str();
        let extras: &[String] = model.map(|m| m.pointer.features.as_slice()).unwrap_or(&[]);
        let bytes = match body {
            Some(b) => b.clone(),
            None => self.store.get(key).await?,
        };
        let parsed = parse_minutes(&bytes, extras, first_ms)
            .map_err(|e| e.to_string())
            .and_then(|rows| match (rows.first(), state.frontier_ms) {
                (Some(r), Some(f)) if r.time.local_ms <= f => Err(format!(
                    "its first minute {} is not after the last settled minute {}",
                    format_wall(r.time.local_ms),
                    format_wall(f)
                )),
                _ => Ok(rows),
            });
        state.counts.objects += 1;
        state.remember(key);
        let rows = match parsed {
            Ok(rows) => rows,
            Err(why) => {
                state.counts.malformed += 1;
                self.record_skip(&stock, key, first_ms, &why).await?;
                report.skipped.push((key.to_string(), why));
                self.advance(state, first_ms, key).await?;
                report.objects += 1;
                return Ok(());
            }
        };
        let mut forecasts = Vec::new();
        let mut outcomes = Vec::new();
        for row in &rows {
            self.settle_row(state, report, model, row, &mut forecasts, &mut outcomes)
                .await?;
        }
        if !forecasts.is_empty() {
            let fkey = layout::live_forecast_key(&stock, first_ms);
            self.store
                .put_if_absent(&fkey, tables::forecasts_parquet(&forecasts)?)
                .await?;
            let landed = meta.last_modified.unwrap_or_else(SystemTime::now);
            let ms = SystemTime::now()
                .duration_since(landed)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0);
            report
                .latencies_ms
                .extend(std::iter::repeat_n(ms, forecasts.len()));
        }
        if !outcomes.is_empty() {
            let okey = layout::live_outcome_key(&stock, first_ms);
            self.store
                .put_if_absent(&okey, tables::outcomes_parquet(&outcomes)?)
                .await?;
        }
        let last = rows.last().map_or(first_ms, |r| r.time.local_ms);
        report.forecasts.extend(forecasts);
        report.outcomes.extend(outcomes);
        report.objects += 1;
        self.advance(state, last, key).await
    }

    /// Moves the frontier, and compacts the days that fell `open_days` behind it.
    async fn advance(&self, state: &mut LiveState, to_ms: i64, key: &str) -> Result<(), LiveError> {
        state.frontier_ms = Some(to_ms);
        state.frontier_key = Some(key.to_string());
        let day = to_ms.div_euclid(DAY_MS);
        if state.open_days.last() != Some(&day) {
            state.open_days.push(day);
        }
        while state.open_days.len() > self.opts.open_days.max(1) {
            let old = state.open_days.remove(0) * DAY_MS;
            for table in [layout::LIVE_FORECASTS_PREFIX, layout::LIVE_OUTCOMES_PREFIX] {
                tables::compact_day(self.store.as_ref(), table, &state.stock, old).await?;
            }
        }
        Ok(())
    }

    async fn settle_row(
        &self,
        state: &mut LiveState,
        report: &mut SettleReport,
        model: Option<&LoadedModel>,
        row: &MinuteRow,
        forecasts: &mut Vec<ForecastRow>,
        outcomes: &mut Vec<OutcomeRow>,
    ) -> Result<(), LiveError> {
        state.counts.minutes += 1;
        let Some(price) = row.price else {
            state.counts.no_price += 1;
            state.counts.not_forecast += 1;
            return Ok(());
        };
        for p in state.pending.iter_mut() {
            p.rows_left = p.rows_left.saturating_sub(1);
        }
        while state.pending.front().is_some_and(|p| p.rows_left == 0) {
            let Some(p) = state.pending.pop_front() else {
                break;
            };
            let o = OutcomeRow {
                minute_ms: p.minute_ms,
                realised_ms: row.time.local_ms,
                price: p.price,
                actual: price,
                forecast: p.forecast,
                model_run: p.model_run.clone(),
            };
            state.counts.outcomes += 1;
            if state.model_run.as_deref() == Some(p.model_run.as_str()) {
                state.realised.push_back(Realised {
                    minute_ms: p.minute_ms,
                    model_sq: o.error().powi(2),
                    naive_sq: o.naive_error().powi(2),
                });
                while state.realised.len() > self.opts.window {
                    state.realised.pop_front();
                }
                self.check_drift(state, report, model, row.time.local_ms)
                    .await?;
            }
            outcomes.push(o);
        }
        state.prices.push_back((row.time.local_ms, price));
        while state.prices.len() > N_FEATURES {
            state.prices.pop_front();
        }
        let inputs = model.and_then(|m| {
            let extras: Option<Vec<f64>> = row.extras.iter().copied().collect();
            (state.prices.len() == N_FEATURES).then_some(())?;
            let mut prices = [0.0; N_FEATURES];
            for (p, (_, v)) in prices.iter_mut().zip(&state.prices) {
                *p = *v;
            }
            Some((
                m,
                Row {
                    prices,
                    extras: extras?,
                },
            ))
        });
        let Some((m, input)) = inputs else {
            state.counts.not_forecast += 1;
            return Ok(());
        };
        let forecast = m
            .forecast(std::slice::from_ref(&input))
            .map_err(|e| LiveError::Model(e.to_string()))?[0];
        let run = m.pointer.run.to_string();
        state.pending.push_back(Pending {
            minute_ms: row.time.local_ms,
            price,
            forecast,
            rows_left: m.pointer.horizon.max(1),
            model_run: run.clone(),
        });
        state.counts.forecasts += 1;
        forecasts.push(ForecastRow {
            minute_ms: row.time.local_ms,
            price,
            forecast,
            horizon: m.pointer.horizon,
            target: m.pointer.target.as_str().to_string(),
            model_run: run,
        });
        Ok(())
    }

    async fn check_drift(
        &self,
        state: &mut LiveState,
        report: &mut SettleReport,
        model: Option<&LoadedModel>,
        at_ms: i64,
    ) -> Result<(), LiveError> {
        let (Some(promoted), Some(run)) = (state.promoted_skill, state.model_run.clone()) else {
            return Ok(());
        };
        if state.realised.len() < self.opts.window || !promoted.is_finite() || promoted <= 0.0 {
            return Ok(());
        }
        let Some((_, _, skill)) = state.rolling().filter(|r| r.2.is_finite()) else {
            return Ok(());
        };
        let tol = self.opts.drift_tolerance;
        let begin = drift::begin_threshold(promoted, tol);
        let kind = match state.drift_since {
            None if skill > begin => DriftKind::Begin,
            Some(_) if skill <= drift::end_threshold(promoted, tol) => DriftKind::End,
            _ => return Ok(()),
        };
        let stock = state.stock.clone();
        let retrain = match (&kind, &self.retraining, model) {
            (DriftKind::Begin, Some(r), Some(m)) => {
                Some(drift::retraining_spec(&r.base, &m.pointer, at_ms))
            }
            _ => None,
        };
        let record = DriftRecord {
            stock: stock.clone(),
            kind: kind.clone(),
            minute: format_wall(at_ms),
            rolling_skill: skill,
            promoted_skill: promoted,
            threshold: begin,
            window: self.opts.window,
            model_run: run,
            retraining_run: retrain.as_ref().and_then(|s| s.run.clone()),
        };
        let body = serde_json::to_vec(&record).map_err(|e| LiveError::State {
            key: layout::drift_key(&stock, at_ms),
            message: e.to_string(),
        })?;
        let won = self
            .store
            .put_if_absent(&layout::drift_key(&stock, at_ms), Bytes::from(body))
            .await?;
        match kind {
            DriftKind::Begin => {
                state.drift_since = Some(at_ms);
                state.counts.drift_episodes += 1;
                tracing::warn!(stock = %stock, minute = %record.minute, skill, promoted, "drift began");
            }
            DriftKind::End => {
                state.drift_since = None;
                tracing::info!(stock = %stock, minute = %record.minute, skill, "drift ended");
            }
        }
        if let (true, Some(spec), Some(r)) = (won, retrain, &self.retraining) {
            let run = spec
                .run
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            if let Err(message) = r.retrainer.start(spec).await {
                // Not started: the record goes, and the settle fails, so its retry (from the
                // same state) writes the record again and starts the run then.
                self.store.delete(&layout::drift_key(&stock, at_ms)).await?;
                return Err(LiveError::Retrain { run, message });
            }
            tracing::info!(stock = %stock, run = %run, "retraining started");
            // A run in this process may have promoted a new model already.
            self.models.recheck(&stock);
        }
        report.drift.push(record);
        Ok(())
    }
}

enum Ready {
    /// The expected next minute.
    Next,
    /// Minutes are missing before it, and have been waited for long enough.
    Gap,
    /// Minutes are missing before it: wait for them.
    Wait,
}

/// The newest snapshot of a stock's state (a fresh state if none), and every snapshot key.
pub async fn load_state(
    store: &dyn Store,
    stock: &Symbol,
) -> Result<(Vec<String>, LiveState), LiveError> {
    let keys: Vec<String> = store
        .list(&layout::live_state_prefix(stock))
        .await?
        .into_iter()
        .map(|o| o.key)
        .collect();
    let Some(newest) = keys.last() else {
        return Ok((keys, LiveState::new(stock.clone())));
    };
    let bytes = store.get(newest).await?;
    let state: LiveState = serde_json::from_slice(&bytes).map_err(|e| LiveError::State {
        key: newest.clone(),
        message: e.to_string(),
    })?;
    Ok((keys, state))
}
