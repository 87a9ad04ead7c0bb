//! timing-metrics: every invocation's timing record → per-stage tables in the original's three
//! views, plus invocation counts, GB-seconds and the estimated Lambda cost.
//!
//! Views, per stage and per phase (invoke, read, compute, write):
//! - `sequential`: the sum over units — the same work done one unit after another;
//! - `parallel`: the maximum over units — every unit at once, nothing waiting;
//! - `actual`: the stage as it happened, from the first invocation to the last unit's end
//!   (only the total: phases overlap).

use futures::{StreamExt, TryStreamExt};
use groves_core::events::TimingMetricsEvent;
use groves_core::ids::RunId;
use groves_core::layout::{self, Unit};
use groves_core::pricing;
use groves_core::spec::RunSpec;
use groves_core::stage::Stage;
use groves_core::timing::{ParentInvocation, TimingRecord};
use groves_data::table::from_parquet;
use groves_store::Store;
use polars_core::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::error::{Result, StageError};
use crate::tables::{read_manifest, table_err, write_table};
use crate::unit::{run_in_bucket, UnitContext};

/// Concurrent reads of timing records (thousands of small objects on S3).
const READ_CONCURRENCY: usize = 32;

/// One row of the views table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewRow {
    pub stage: String,
    pub view: &'static str,
    pub units: u64,
    pub invoke_s: Option<f64>,
    pub read_s: Option<f64>,
    pub compute_s: Option<f64>,
    pub write_s: Option<f64>,
    pub total_s: f64,
}

/// One row of the cost table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCost {
    pub stage: String,
    pub invocations: u64,
    /// Sum of unit durations (what Lambda bills).
    pub duration_s: f64,
    pub gb_s: f64,
    /// Each unit's GB-seconds at the price of the architecture it ran on, plus the requests.
    pub cost_usd: f64,
    /// The architectures the units ran on (`aarch64`, `x86_64`; comma-separated if several;
    /// empty for records that do not say, priced as arm64).
    pub arch: String,
    /// The units' S3 requests (GET, PUT, LIST, HEAD, DELETE) and their price.
    pub s3_requests: u64,
    pub s3_cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingMetrics {
    pub run: String,
    pub views: Vec<ViewRow>,
    pub costs: Vec<StageCost>,
    pub prices: &'static str,
}

/// Reads every timing record of `run`.
pub async fn read_timings(store: &dyn Store, run: &RunId) -> Result<Vec<TimingRecord>> {
    let keys: Vec<String> = store
        .list(&layout::timings_prefix(run))
        .await?
        .into_iter()
        .map(|m| m.key)
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    futures::stream::iter(keys)
        .map(|key| async move {
            let bytes = store.get(&key).await?;
            let df = from_parquet(&bytes).map_err(table_err(&key))?;
            parse_record(&df, &key)
        })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
}

/// Every timing record of a finished run with two GETs instead of one per unit: the units table
/// the timing-metrics stage gathered, and that stage's own record. None if the table is not
/// there (the run has not reached timing-metrics): then [`read_timings`] is the way.
pub async fn read_gathered_timings(
    store: &dyn Store,
    run: &RunId,
) -> Result<Option<Vec<TimingRecord>>> {
    let key = layout::timing_metrics_key(run, UNITS_TABLE);
    let bytes = match store.get(&key).await {
        Ok(b) => b,
        Err(groves_store::StoreError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let df = from_parquet(&bytes).map_err(table_err(&key))?;
    let mut records = groves_data::timing::from_frame_all(&df)
        .map_err(|e| StageError::Invalid(format!("{key}: {e}")))?;
    let own = layout::timing_key(run, Stage::TimingMetrics.as_str(), &Unit::Run);
    match store.get(&own).await {
        Ok(b) => records.push(parse_record(
            &from_parquet(&b).map_err(table_err(&own))?,
            &own,
        )?),
        Err(groves_store::StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Some(records))
}

/// `timing_metrics/units/`: every unit's timing record but timing-metrics' own, one table.
pub const UNITS_TABLE: &str = "units";

fn parse_record(df: &DataFrame, key: &str) -> Result<TimingRecord> {
    groves_data::timing::from_frame(df).map_err(|e| StageError::Invalid(format!("{key}: {e}")))
}

/// The three views and the costs of a set of timing records. `memory_mb` is the memory size
/// assumed for records that did not run on Lambda.
pub fn summarise(run: &RunId, records: &[TimingRecord], memory_mb: u32) -> TimingMetrics {
    let mut stages: Vec<&str> = records.iter().map(|r| r.stage.as_str()).collect();
    let order = |s: &str| {
        Stage::from_name(s)
            .map(|s| s as usize)
            .unwrap_or(usize::MAX)
    };
    stages.sort_by_key(|s| (order(s), s.to_string()));
    stages.dedup();
    let (mut views, mut costs) = (Vec::new(), Vec::new());
    let s = |ms: f64| ms / 1000.0;
    let mut run_seq = 0.0;
    let mut run_par = 0.0;
    for stage in stages {
        let rs: Vec<&TimingRecord> = records.iter().filter(|r| r.stage == stage).collect();
        let n = rs.len() as u64;
        let sum = |f: &dyn Fn(&TimingRecord) -> f64| rs.iter().map(|r| f(r)).sum::<f64>();
        let max = |f: &dyn Fn(&TimingRecord) -> f64| rs.iter().map(|r| f(r)).fold(0.0, f64::max);
        let total = |r: &TimingRecord| r.invoke_ms() + r.duration_ms();
        let seq_total = sum(&total);
        let par_total = max(&total);
        run_seq += seq_total;
        run_par += par_total;
        views.push(ViewRow {
            stage: stage.to_string(),
            view: "sequential",
            units: n,
            invoke_s: Some(s(sum(&TimingRecord::invoke_ms))),
            read_s: Some(s(sum(&|r| r.read_ms))),
            compute_s: Some(s(sum(&|r| r.compute_ms))),
            write_s: Some(s(sum(&|r| r.write_ms))),
            total_s: s(seq_total),
        });
        views.push(ViewRow {
            stage: stage.to_string(),
            view: "parallel",
            units: n,
            invoke_s: Some(s(max(&TimingRecord::invoke_ms))),
            read_s: Some(s(max(&|r| r.read_ms))),
            compute_s: Some(s(max(&|r| r.compute_ms))),
            write_s: Some(s(max(&|r| r.write_ms))),
            total_s: s(par_total),
        });
        let first = rs.iter().map(|r| r.first_ms()).min().unwrap_or(0);
        let last = rs.iter().map(|r| r.finished_ms).max().unwrap_or(0);
        views.push(ViewRow {
            stage: stage.to_string(),
            view: "actual",
            units: n,
            invoke_s: None,
            read_s: None,
            compute_s: None,
            write_s: None,
            total_s: s((last - first).max(0) as f64),
        });
        let gb_s_of = |r: &TimingRecord| {
            pricing::gb_seconds(r.duration_ms(), r.memory_mb.unwrap_or(memory_mb))
        };
        let gb_s: f64 = rs.iter().map(|r| gb_s_of(r)).sum();
        let cost_usd: f64 = rs
            .iter()
            .map(|r| pricing::cost_usd(gb_s_of(r), 1, r.arch.as_deref()))
            .sum();
        let (s3_requests, s3_cost_usd) = s3_of(rs.iter().copied());
        costs.push(StageCost {
            stage: stage.to_string(),
            invocations: n,
            duration_s: s(sum(&TimingRecord::duration_ms)),
            gb_s,
            cost_usd,
            arch: arch_list(rs.iter().filter_map(|r| r.arch.as_deref())),
            s3_requests,
            s3_cost_usd,
        });
    }
    if !records.is_empty() {
        let n = records.len() as u64;
        let first = records.iter().map(|r| r.first_ms()).min().unwrap_or(0);
        let last = records.iter().map(|r| r.finished_ms).max().unwrap_or(0);
        for (view, total) in [
            ("sequential", run_seq),
            ("parallel", run_par),
            ("actual", (last - first).max(0) as f64),
        ] {
            views.push(ViewRow {
                stage: "run".into(),
                view,
                units: n,
                invoke_s: None,
                read_s: None,
                compute_s: None,
                write_s: None,
                total_s: s(total),
            });
        }
        let gb_s = costs.iter().map(|c| c.gb_s).sum();
        let arch = arch_list(costs.iter().flat_map(|c| c.arch.split(',')));
        let (s3_requests, s3_cost_usd) = s3_of(records.iter());
        costs.push(StageCost {
            stage: "run".into(),
            invocations: n,
            duration_s: costs.iter().map(|c| c.duration_s).sum(),
            gb_s,
            cost_usd: costs.iter().map(|c| c.cost_usd).sum(),
            arch,
            s3_requests,
            s3_cost_usd,
        });
    }
    TimingMetrics {
        run: run.to_string(),
        views,
        costs,
        prices: pricing::PRICES_NOTE,
    }
}

/// The Lambda parent's invocations recorded for `run` (none for a run driven locally).
pub async fn read_parent_invocations(
    store: &dyn Store,
    run: &RunId,
) -> Result<Vec<ParentInvocation>> {
    let key = layout::parent_invocations_key(run);
    match store.get(&key).await {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| StageError::Invalid(format!("{key}: {e}"))),
        Err(groves_store::StoreError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Adds the parent's own billed time to the cost table: a `parent` row (its invocations, their
/// GB-seconds at its memory size and architecture), counted in the run's total. Not a view: the
/// parent waits on the units, it does none of their work.
pub fn bill_parent(metrics: &mut TimingMetrics, parent: &[ParentInvocation]) {
    if parent.is_empty() {
        return;
    }
    let ms = |p: &ParentInvocation| (p.ended_ms - p.started_ms).max(0) as f64;
    let gb_s_of = |p: &ParentInvocation| pricing::gb_seconds(ms(p), p.memory_mb);
    let row = StageCost {
        stage: "parent".into(),
        invocations: parent.len() as u64,
        duration_s: parent.iter().map(ms).sum::<f64>() / 1000.0,
        gb_s: parent.iter().map(gb_s_of).sum(),
        cost_usd: parent
            .iter()
            .map(|p| pricing::cost_usd(gb_s_of(p), 1, Some(p.arch.as_str())))
            .sum(),
        arch: arch_list(parent.iter().map(|p| p.arch.as_str())),
        s3_requests: 0,
        s3_cost_usd: 0.0,
    };
    // Just before the `run` total, which it joins.
    let at = match metrics.costs.iter().position(|c| c.stage == "run") {
        Some(at) => {
            let total = &mut metrics.costs[at];
            total.invocations += row.invocations;
            total.duration_s += row.duration_s;
            total.gb_s += row.gb_s;
            total.cost_usd += row.cost_usd;
            total.arch = arch_list(total.arch.split(',').chain(row.arch.split(',')));
            at
        }
        None => metrics.costs.len(),
    };
    metrics.costs.insert(at, row);
}

/// Distinct architectures, sorted, comma-separated (empty names left out).
fn arch_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = names.filter(|a| !a.is_empty()).collect();
    v.sort_unstable();
    v.dedup();
    v.join(",")
}

/// The unit of work, as its Lambda function and the in-process pool run it.
pub async fn handle(ctx: &UnitContext, e: &TimingMetricsEvent) -> Result<Value> {
    let bucket = e.bucket.as_deref().unwrap_or_default();
    run_in_bucket(
        ctx,
        bucket,
        &e.run,
        Stage::TimingMetrics,
        Unit::Run,
        |store| async move { timing_metrics(store.as_ref(), e).await },
    )
    .await
}

/// Gathers every other unit's timing record into the run's timing tables.
pub async fn timing_metrics(store: &dyn Store, e: &TimingMetricsEvent) -> Result<TimingMetrics> {
    let mut clock = Clock::start(e.invoked_at);
    let memory_mb = match read_manifest(store, &e.run).await {
        Ok(spec) => spec.memory_mb,
        Err(StageError::Missing { .. }) => RunSpec::default().memory_mb,
        Err(err) => return Err(err),
    };
    // Its own earlier record is left out, so that running it again gives the same tables.
    let mut records = read_timings(store, &e.run).await?;
    records.retain(|r| r.stage != Stage::TimingMetrics.as_str());
    let parent = read_parent_invocations(store, &e.run).await?;
    clock.read_done();
    let mut metrics = summarise(&e.run, &records, memory_mb);
    bill_parent(&mut metrics, &parent);
    clock.compute_done();
    let key = layout::timing_metrics_key(&e.run, "views");
    write_table(
        store,
        &key,
        views_frame(&metrics.views).map_err(table_err(&key))?,
    )
    .await?;
    let key = layout::timing_metrics_key(&e.run, "costs");
    write_table(
        store,
        &key,
        costs_frame(&metrics.costs).map_err(table_err(&key))?,
    )
    .await?;
    // The records themselves, gathered: what the report reads instead of one file per unit.
    let key = layout::timing_metrics_key(&e.run, UNITS_TABLE);
    write_table(
        store,
        &key,
        groves_data::timing::to_frame_all(&records).map_err(table_err(&key))?,
    )
    .await?;
    clock.write_done();
    clock
        .record(store, &e.run, Stage::TimingMetrics, &Unit::Run, 1)
        .await?;
    Ok(metrics)
}

fn views_frame(v: &[ViewRow]) -> PolarsResult<DataFrame> {
    let f = |g: fn(&ViewRow) -> Option<f64>| v.iter().map(g).collect::<Vec<_>>();
    DataFrame::new(
        v.len(),
        vec![
            Column::new(
                "stage".into(),
                v.iter().map(|r| r.stage.as_str()).collect::<Vec<_>>(),
            ),
            Column::new("view".into(), v.iter().map(|r| r.view).collect::<Vec<_>>()),
            Column::new(
                "units".into(),
                v.iter().map(|r| r.units).collect::<Vec<_>>(),
            ),
            Column::new("invoke_s".into(), f(|r| r.invoke_s)),
            Column::new("read_s".into(), f(|r| r.read_s)),
            Column::new("compute_s".into(), f(|r| r.compute_s)),
            Column::new("write_s".into(), f(|r| r.write_s)),
            Column::new("total_s".into(), f(|r| Some(r.total_s))),
        ],
    )
}

fn costs_frame(c: &[StageCost]) -> PolarsResult<DataFrame> {
    DataFrame::new(
        c.len(),
        vec![
            Column::new(
                "stage".into(),
                c.iter().map(|r| r.stage.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "invocations".into(),
                c.iter().map(|r| r.invocations).collect::<Vec<_>>(),
            ),
            Column::new(
                "duration_s".into(),
                c.iter().map(|r| r.duration_s).collect::<Vec<_>>(),
            ),
            Column::new("gb_s".into(), c.iter().map(|r| r.gb_s).collect::<Vec<_>>()),
            Column::new(
                "cost_usd".into(),
                c.iter().map(|r| r.cost_usd).collect::<Vec<_>>(),
            ),
            Column::new(
                "arch".into(),
                c.iter().map(|r| r.arch.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "s3_requests".into(),
                c.iter().map(|r| r.s3_requests as i64).collect::<Vec<_>>(),
            ),
            Column::new(
                "s3_cost_usd".into(),
                c.iter().map(|r| r.s3_cost_usd).collect::<Vec<_>>(),
            ),
        ],
    )
}

/// The requests of a set of records and their price at S3's.
fn s3_of<'a>(records: impl Iterator<Item = &'a TimingRecord>) -> (u64, f64) {
    let mut q = groves_core::timing::S3Requests::default();
    for r in records.filter_map(|r| r.s3.as_ref()) {
        q.get += r.get;
        q.put += r.put;
        q.list += r.list;
        q.head += r.head;
        q.delete += r.delete;
    }
    (
        q.total(),
        pricing::s3_requests_usd(q.get, q.put, q.list, q.head),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(unit: &str, arch: Option<&str>) -> TimingRecord {
        TimingRecord {
            run: "r".into(),
            stage: "param-preds".into(),
            unit: unit.into(),
            stock: Some("TCS".into()),
            invoked_ms: None,
            started_ms: 0,
            finished_ms: 10_000,
            read_ms: 0.0,
            compute_ms: 10_000.0,
            write_ms: 0.0,
            executor: "lambda".into(),
            memory_mb: Some(1024),
            threads: 1,
            cold_start: Some(false),
            s3: None,
            arch: arch.map(str::to_string),
            kernels: None,
        }
    }

    #[test]
    fn the_lambda_parent_is_billed_in_its_own_row_and_in_the_total() {
        let run = RunId::new("r").unwrap();
        let records = [record("TCS.f5_s5_g0", Some("x86_64"))];
        let mut m = summarise(&run, &records, 1769);
        let before = m.costs.iter().find(|c| c.stage == "run").unwrap().clone();
        bill_parent(&mut m, &[]);
        assert_eq!(m.costs.len(), 2, "no parent invocations, no row");
        let parent = [
            ParentInvocation {
                started_ms: 0,
                ended_ms: 60_000,
                memory_mb: 512,
                arch: "x86_64".into(),
            },
            ParentInvocation {
                started_ms: 60_000,
                ended_ms: 90_000,
                memory_mb: 512,
                arch: "x86_64".into(),
            },
        ];
        bill_parent(&mut m, &parent);
        let stages: Vec<&str> = m.costs.iter().map(|c| c.stage.as_str()).collect();
        assert_eq!(stages, ["param-preds", "parent", "run"]);
        let row = &m.costs[1];
        assert_eq!(row.invocations, 2);
        assert!((row.duration_s - 90.0).abs() < 1e-9);
        assert!((row.gb_s - 45.0).abs() < 1e-9, "90 s at 0.5 GB");
        let want =
            pricing::cost_usd(30.0, 1, Some("x86_64")) + pricing::cost_usd(15.0, 1, Some("x86_64"));
        assert!((row.cost_usd - want).abs() < 1e-12);
        let total = &m.costs[2];
        assert_eq!(total.invocations, before.invocations + 2);
        assert!((total.gb_s - before.gb_s - 45.0).abs() < 1e-9);
        assert!((total.cost_usd - before.cost_usd - want).abs() < 1e-12);
        assert!(m.views.iter().all(|v| v.stage != "parent"), "not a view");
    }

    #[test]
    fn each_unit_is_priced_at_the_architecture_it_ran_on() {
        let run = RunId::new("r").unwrap();
        let records = [
            record("TCS.f5_s5_g0", Some("x86_64")),
            record("TCS.f5_s5_g1", Some("aarch64")),
            record("TCS.f5_s5_g2", None),
        ];
        let m = summarise(&run, &records, 1769);
        let stage = &m.costs[0];
        // 10 GB-s each: one at x86_64's price, two at arm64's (one not recorded).
        let want = 10.0 * pricing::USD_PER_GB_SECOND_X86_64
            + 20.0 * pricing::USD_PER_GB_SECOND
            + 3.0 * pricing::USD_PER_REQUEST;
        assert!((stage.gb_s - 30.0).abs() < 1e-9, "{}", stage.gb_s);
        assert!((stage.cost_usd - want).abs() < 1e-12, "{}", stage.cost_usd);
        assert_eq!(stage.arch, "aarch64,x86_64");
        let total = m.costs.iter().find(|c| c.stage == "run").unwrap();
        assert!((total.cost_usd - want).abs() < 1e-12);
        assert_eq!(total.arch, "aarch64,x86_64");
        // Records that do not say are priced as arm64 and named by nothing.
        let m = summarise(&run, &records[2..], 1769);
        assert_eq!(m.costs[0].arch, "");
        assert!((m.costs[0].cost_usd - pricing::cost_usd(10.0, 1, None)).abs() < 1e-12);
    }
}
