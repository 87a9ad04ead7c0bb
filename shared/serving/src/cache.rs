//! Loaded models, kept within a memory bound and re-checked against their pointers.
//!
//! A model is loaded once per process (concurrent requests for a stock wait for one load) and
//! kept until the bound would be passed, then the least recently used ones are dropped. Every
//! `refresh` a stock's pointer is read again, so a promotion reaches a running server without
//! a restart; a request in between uses the model it finds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use groves_core::ids::Symbol;
use groves_core::layout;
use groves_store::Store;

use crate::model::{read_pointer, LoadedModel};
use crate::ServeError;

#[derive(Debug, Clone, Copy)]
pub struct CacheOptions {
    /// Stored bytes of loaded groves kept at most (a single larger model is still served, alone).
    pub limit_bytes: usize,
    /// How long a loaded model is used before its pointer is read again.
    pub refresh: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            limit_bytes: 1 << 30,
            refresh: Duration::from_secs(60),
        }
    }
}

struct Entry {
    model: Arc<LoadedModel>,
    last_used: u64,
    checked: Instant,
}

#[derive(Default)]
struct State {
    entries: HashMap<Symbol, Entry>,
    /// Per stock, a lock held while its model is (re)loaded.
    loading: HashMap<Symbol, Arc<tokio::sync::Mutex<()>>>,
    tick: u64,
}

/// What the cache holds, for `GET /models` and logs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CacheUsage {
    pub limit_bytes: usize,
    pub used_bytes: usize,
    pub loaded: Vec<String>,
}

pub struct ModelCache {
    store: Arc<dyn Store>,
    opts: CacheOptions,
    state: Mutex<State>,
}

impl ModelCache {
    pub fn new(store: Arc<dyn Store>, opts: CacheOptions) -> Self {
        ModelCache {
            store,
            opts,
            state: Mutex::new(State::default()),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state consistent before it can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fresh cached model of `stock`, marked used.
    fn fresh(&self, stock: &Symbol) -> Option<Arc<LoadedModel>> {
        let mut st = self.lock();
        st.tick += 1;
        let tick = st.tick;
        let e = st.entries.get_mut(stock)?;
        if e.checked.elapsed() >= self.opts.refresh {
            return None;
        }
        e.last_used = tick;
        Some(Arc::clone(&e.model))
    }

    /// Makes the next [`ModelCache::get`] of `stock` read its pointer again (a model was just
    /// promoted by this process). The loaded groves stay, in case the pointer did not change.
    pub fn recheck(&self, stock: &Symbol) {
        if let Some(e) = self.lock().entries.get_mut(stock) {
            e.checked = Instant::now() - self.opts.refresh;
        }
    }

    /// The serving model of `stock`: from the cache, or loaded now.
    pub async fn get(&self, stock: &Symbol) -> Result<Arc<LoadedModel>, ServeError> {
        if let Some(m) = self.fresh(stock) {
            return Ok(m);
        }
        let gate = {
            let mut st = self.lock();
            Arc::clone(st.loading.entry(stock.clone()).or_default())
        };
        let _loading = gate.lock().await;
        // Someone else may have loaded it while this request waited.
        if let Some(m) = self.fresh(stock) {
            return Ok(m);
        }
        let Some(pointer) = read_pointer(self.store.as_ref(), stock).await? else {
            self.lock().entries.remove(stock);
            let raw = self.store.head(&layout::raw_key(stock)).await?;
            return Err(match raw {
                Some(_) => ServeError::NotPromoted(stock.to_string()),
                None => ServeError::UnknownStock(stock.to_string()),
            });
        };
        let cached = self.lock().entries.get(stock).map(|e| Arc::clone(&e.model));
        let model = match cached {
            Some(m) if m.pointer == pointer => m,
            _ => {
                let m = Arc::new(LoadedModel::load(self.store.as_ref(), pointer).await?);
                tracing::info!(
                    stock = %stock,
                    run = %m.pointer.run,
                    bytes = m.bytes,
                    load_ms = m.load_ms,
                    "model loaded"
                );
                m
            }
        };
        let mut st = self.lock();
        st.tick += 1;
        let tick = st.tick;
        st.entries.insert(
            stock.clone(),
            Entry {
                model: Arc::clone(&model),
                last_used: tick,
                checked: Instant::now(),
            },
        );
        evict(&mut st, self.opts.limit_bytes, stock);
        Ok(model)
    }

    pub fn usage(&self) -> CacheUsage {
        let st = self.lock();
        let mut loaded: Vec<String> = st.entries.keys().map(|s| s.to_string()).collect();
        loaded.sort();
        CacheUsage {
            limit_bytes: self.opts.limit_bytes,
            used_bytes: st.entries.values().map(|e| e.model.bytes).sum(),
            loaded,
        }
    }
}

/// Drops the least recently used models (never `keep`) until the rest fit in `limit`.
fn evict(st: &mut State, limit: usize, keep: &Symbol) {
    loop {
        let used: usize = st.entries.values().map(|e| e.model.bytes).sum();
        if used <= limit {
            return;
        }
        let victim = st
            .entries
            .iter()
            .filter(|(s, _)| *s != keep)
            .min_by_key(|(_, e)| e.last_used)
            .map(|(s, _)| s.clone());
        match victim {
            Some(s) => {
                tracing::info!(stock = %s, "model dropped from the cache (memory bound)");
                st.entries.remove(&s);
            }
            None => return,
        }
    }
}
