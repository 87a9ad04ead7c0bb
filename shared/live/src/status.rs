//! Per-stock live figures for `groves live`: from each stock's newest state snapshot.

use groves_core::calendar::format_wall;
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_store::Store;
use serde::Serialize;

use crate::drift::{begin_threshold, DriftRecord};
use crate::settle::load_state;
use crate::tables::read_table;
use crate::LiveError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockStatus {
    pub stock: Symbol,
    pub frontier: Option<String>,
    pub minutes: u64,
    pub forecasts: u64,
    pub outcomes: u64,
    pub malformed: u64,
    pub gaps: u64,
    /// Realised forecasts in the rolling window.
    pub window: usize,
    pub rolling_mse: Option<f64>,
    pub rolling_naive_mse: Option<f64>,
    pub rolling_skill: Option<f64>,
    pub promoted_skill: Option<f64>,
    pub promoted_test_mse: Option<f64>,
    pub model_run: Option<String>,
    pub drift_since: Option<String>,
    pub drift_episodes: u64,
}

/// Stocks with live minutes in the store.
pub async fn live_stocks(store: &dyn Store) -> Result<Vec<Symbol>, LiveError> {
    let mut out: Vec<Symbol> = Vec::new();
    for o in store
        .list(&format!("{}state/", layout::LIVE_PREFIX))
        .await?
    {
        let stock = o
            .key
            .strip_prefix(&format!("{}state/stock=", layout::LIVE_PREFIX))
            .and_then(|r| r.split_once('/'))
            .and_then(|(s, _)| Symbol::new(s).ok());
        if let Some(s) = stock {
            if out.last() != Some(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

pub async fn stock_status(store: &dyn Store, stock: &Symbol) -> Result<StockStatus, LiveError> {
    let (_, st) = load_state(store, stock).await?;
    let rolling = st.rolling();
    Ok(StockStatus {
        stock: stock.clone(),
        frontier: st.frontier_ms.map(format_wall),
        minutes: st.counts.minutes,
        forecasts: st.counts.forecasts,
        outcomes: st.counts.outcomes,
        malformed: st.counts.malformed,
        gaps: st.counts.gaps,
        window: st.realised.len(),
        rolling_mse: rolling.map(|r| r.0),
        rolling_naive_mse: rolling.map(|r| r.1),
        rolling_skill: rolling.map(|r| r.2).filter(|v| v.is_finite()),
        promoted_skill: st.promoted_skill,
        promoted_test_mse: st.promoted_test_mse,
        model_run: st.model_run.clone(),
        drift_since: st.drift_since.map(format_wall),
        drift_episodes: st.counts.drift_episodes,
    })
}

/// Outcomes shown in a report's live chart: the last three trading days.
pub const LIVE_CHART_MINUTES: usize = 3 * 375;
/// Points of the rolling-skill line at most (every k-th beyond).
const SKILL_POINTS: usize = 1200;

/// What a report shows of a stock's live scoring.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveView {
    pub status: StockStatus,
    /// Realised forecasts in all.
    pub realised: usize,
    /// The last [`LIVE_CHART_MINUTES`] realised forecasts: the minute forecast for (India
    /// wall clock, ms), what came, the forecast, the naive forecast.
    pub minute_ms: Vec<i64>,
    pub actual: Vec<f64>,
    pub forecast: Vec<f64>,
    pub naive: Vec<f64>,
    /// The rolling skill after each realised forecast once the window is full (thinned to at
    /// most 1,200 points), and where a drift episode begins.
    pub skill_ms: Vec<i64>,
    pub skill: Vec<f64>,
    pub threshold: Option<f64>,
    /// Realised forecasts the rolling skill is taken over.
    pub window: usize,
    pub drift: Vec<DriftRecord>,
}

/// A stock's live figures, if it has any realised forecast.
pub async fn live_view(store: &dyn Store, stock: &Symbol) -> Result<Option<LiveView>, LiveError> {
    let Some(df) = read_table(store, layout::LIVE_OUTCOMES_PREFIX, stock).await? else {
        return Ok(None);
    };
    let bad = |c: &str, e: String| LiveError::Table {
        table: format!("live_outcomes of {stock}, column {c}"),
        message: e,
    };
    let ms = |c: &str| -> Result<Vec<i64>, LiveError> {
        let col = df.column(c).map_err(|e| bad(c, e.to_string()))?;
        let dt = col.datetime().map_err(|e| bad(c, e.to_string()))?;
        Ok(dt.physical().iter().map(|v| v.unwrap_or(0)).collect())
    };
    let fl = |c: &str| -> Result<Vec<f64>, LiveError> {
        let col = df.column(c).map_err(|e| bad(c, e.to_string()))?;
        let ca = col.f64().map_err(|e| bad(c, e.to_string()))?;
        Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let (realised_ms, actual, forecast, price) = (
        ms("realised_minute")?,
        fl("actual")?,
        fl("forecast")?,
        fl("price")?,
    );
    let status = stock_status(store, stock).await?;
    let (_, state) = load_state(store, stock).await?;
    let n = actual.len();
    let window = state.window.max(1);
    let (mut m, mut z) = (0.0, 0.0);
    let (mut skill_ms, mut skill) = (Vec::new(), Vec::new());
    let step = (n / SKILL_POINTS).max(1);
    for i in 0..n {
        m += (forecast[i] - actual[i]).powi(2);
        z += (price[i] - actual[i]).powi(2);
        if i >= window {
            m -= (forecast[i - window] - actual[i - window]).powi(2);
            z -= (price[i - window] - actual[i - window]).powi(2);
        }
        if i + 1 >= window && (i % step == 0 || i + 1 == n) && z > 0.0 {
            skill_ms.push(realised_ms[i]);
            skill.push(m / z);
        }
    }
    let mut drift = Vec::new();
    for o in store.list(&layout::drift_prefix(stock)).await? {
        let bytes = store.get(&o.key).await?;
        drift.push(serde_json::from_slice::<DriftRecord>(&bytes).map_err(|e| {
            LiveError::State {
                key: o.key.clone(),
                message: e.to_string(),
            }
        })?);
    }
    let from = n.saturating_sub(LIVE_CHART_MINUTES);
    Ok(Some(LiveView {
        threshold: state
            .promoted_skill
            .map(|p| begin_threshold(p, state.drift_tolerance)),
        status,
        realised: n,
        minute_ms: realised_ms[from..].to_vec(),
        actual: actual[from..].to_vec(),
        forecast: forecast[from..].to_vec(),
        naive: price[from..].to_vec(),
        skill_ms,
        skill,
        window,
        drift,
    }))
}
