//! A unit of work as the parent expects it to behave: done at most once, and its outcome left
//! in the store — a completion record after its results, or a failure record with the error.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use groves_core::ids::RunId;
use groves_core::layout::{self, Unit};
use groves_core::stage::Stage;
use groves_store::{CountingStore, Store};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Result, StageError};

/// Opens the store of a bucket named in an event. Locally every bucket name means the one
/// `--store`; on Lambda each name is an S3 bucket.
pub trait Buckets: Send + Sync {
    fn open(&self, bucket: &str) -> Arc<dyn Store>;
}

/// Every bucket name resolves to the same store (the local runner).
pub struct OneStore(pub Arc<dyn Store>);

impl Buckets for OneStore {
    fn open(&self, _bucket: &str) -> Arc<dyn Store> {
        self.0.clone()
    }
}

/// What a unit of work runs with.
#[derive(Clone)]
pub struct UnitContext {
    pub buckets: Arc<dyn Buckets>,
    /// Threads a grove may use.
    pub threads: usize,
}

/// Runs `work` as `unit` of `stage`: skipped if the unit's completion record exists (an event
/// delivered twice does the work once), else the work, then the completion record — or, if it
/// failed, a failure record with the error for the parent to read.
pub async fn run_recorded<T, F>(
    store: &dyn Store,
    run: &RunId,
    stage: Stage,
    unit: &Unit,
    work: F,
) -> Result<Value>
where
    T: Serialize,
    F: Future<Output = Result<T>>,
{
    let done = layout::done_key(run, stage.as_str(), unit);
    if store.head(&done).await?.is_some() {
        return Ok(json!({"stage": stage, "unit": unit.to_string(), "skipped": "already done"}));
    }
    let result = work.await.and_then(|answer| {
        serde_json::to_value(answer)
            .map_err(|e| StageError::Invalid(format!("encoding the result: {e}")))
    });
    match result {
        Ok(value) => {
            // Same bytes on every run of the unit: the record says only what finished.
            let record = json!({"stage": stage, "unit": unit.to_string()});
            store.put(&done, Bytes::from(record.to_string())).await?;
            Ok(value)
        }
        Err(err) => {
            let record = json!({
                "stage": stage,
                "unit": unit.to_string(),
                "error": err.to_string(),
                "at": groves_core::timing::now_ms(),
            });
            let key = layout::failed_key(run, stage.as_str(), unit);
            if let Err(e) = store.put(&key, Bytes::from(record.to_string())).await {
                tracing::error!(%key, error = %e, "could not write the failure record");
            }
            Err(err)
        }
    }
}

/// Runs a stage function as the unit `unit` of `stage`, on the store of `bucket`: what a stage's
/// Lambda function (and the in-process pool) does with its event.
pub async fn run_in_bucket<T, F, Fut>(
    ctx: &UnitContext,
    bucket: &str,
    run: &RunId,
    stage: Stage,
    unit: Unit,
    work: F,
) -> Result<Value>
where
    T: Serialize,
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let (store, counted) = counted(ctx.buckets.open(bucket));
    counting(
        vec![counted],
        run_recorded(store.as_ref(), run, stage, &unit, work(store.clone())),
    )
    .await
}

/// `store`, counting its requests (as a store, and as the counter [`counting`] takes).
pub(crate) fn counted(store: Arc<dyn Store>) -> (Arc<dyn Store>, Arc<CountingStore>) {
    let c = Arc::new(CountingStore::new(store));
    (c.clone(), c)
}

/// Runs a unit's future with its stores' counters in reach of its timing record
/// ([`unit_requests`]): the record says how many requests the unit made.
pub(crate) async fn counting<T>(
    stores: Vec<Arc<CountingStore>>,
    unit: impl Future<Output = T>,
) -> T {
    UNIT_REQUESTS.scope(stores, unit).await
}

tokio::task_local! {
    /// The stores of the unit running on this task, counting its requests.
    static UNIT_REQUESTS: Vec<Arc<CountingStore>>;
}

/// The requests the unit running on this task has made so far (None outside a unit).
pub(crate) fn unit_requests() -> Option<groves_core::timing::S3Requests> {
    UNIT_REQUESTS
        .try_with(|stores| {
            let mut q = groves_core::timing::S3Requests::default();
            for r in stores.iter().map(|c| c.counts()) {
                q.get += r.get;
                q.put += r.put;
                q.list += r.list;
                q.head += r.head;
                q.delete += r.delete;
            }
            q
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use groves_core::ids::Symbol;
    use groves_store::MemoryStore;

    #[tokio::test]
    async fn a_unit_runs_once_and_records_how_it_ended() {
        let store = MemoryStore::new();
        let run = RunId::new("r").unwrap();
        let unit = Unit::Stock(Symbol::new("TCS").unwrap());
        let v = run_recorded(&store, &run, Stage::MinMse, &unit, async { Ok(7) })
            .await
            .unwrap();
        assert_eq!(v, json!(7));
        let again = run_recorded(&store, &run, Stage::MinMse, &unit, async {
            Err::<u32, _>(StageError::Invalid("must not run".into()))
        })
        .await
        .unwrap();
        assert_eq!(again["skipped"], "already done");

        let other = Unit::Stock(Symbol::new("INFY").unwrap());
        let err = run_recorded(&store, &run, Stage::MinMse, &other, async {
            Err::<u32, _>(StageError::Invalid("no scores".into()))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("no scores"));
        let record = store
            .get(&layout::failed_key(&run, "min-mse", &other))
            .await
            .unwrap();
        let record: Value = serde_json::from_slice(&record).unwrap();
        assert_eq!(record["error"], "no scores");
        assert!(store
            .head(&layout::done_key(&run, "min-mse", &other))
            .await
            .unwrap()
            .is_none());
    }
}
