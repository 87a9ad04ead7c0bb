//! Per-stock live figures for `groves live`: from each stock's newest state snapshot.

use groves_core::calendar::format_wall;
use groves_core::ids::Symbol;
use groves_core::layout;
use groves_store::Store;
use serde::Serialize;

use crate::settle::load_state;
use crate::LiveError;

#[derive(Debug, Clone, Serialize)]
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
        model_run: st.model_run.clone(),
        drift_since: st.drift_since.map(format_wall),
        drift_episodes: st.counts.drift_episodes,
    })
}
