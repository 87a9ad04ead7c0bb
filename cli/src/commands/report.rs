//! `groves report`: a run's results and costs, from the store, at any time.

use anyhow::{Context, Result};
use groves_core::ids::RunId;
use groves_report::RunReport;
use groves_store::Store;

use super::StoreRef;
use crate::ReportArgs;

pub async fn report(store: &StoreRef, args: &ReportArgs) -> Result<()> {
    let run = match &args.run {
        Some(r) => RunId::new(r.as_str())?,
        None => groves_report::latest_run(store.as_ref())
            .await?
            .with_context(|| {
                format!(
                    "no run in {} (start one with `groves run`)",
                    store.describe()
                )
            })?,
    };
    let loaded = groves_report::load(store.as_ref(), &run).await?;
    if let Some(path) = &args.html {
        let html = groves_report::html::render(&loaded);
        std::fs::write(path, &html)
            .with_context(|| format!("writing the report to {}", path.display()))?;
        println!(
            "report of run {run} written to {} ({} KB)",
            path.display(),
            html.len().div_ceil(1024)
        );
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(&loaded)?);
    } else {
        print(&loaded, store.as_ref());
    }
    Ok(())
}

fn opt(v: Option<f64>, width: usize) -> String {
    match v {
        Some(x) => format!("{x:>width$.6}"),
        None => format!("{:>width$}", "—"),
    }
}

/// The summary tables: per stock, per stage, and the run's totals.
pub fn print(r: &RunReport, store: &dyn Store) {
    let run = r
        .spec
        .run
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    println!("run {run} · {} · {}", store.describe(), r.spec.summary());
    println!();
    println!(
        "{:<12} {:>8} {:>12} {:>12} {:>12} {:>7}  status",
        "stock", "best", "valid MSE", "test MSE", "naive MSE", "skill"
    );
    for s in &r.stocks {
        let best = match (s.feat, s.samp) {
            (Some(f), Some(m)) => format!("f{f} s{m}"),
            _ => "—".into(),
        };
        let skill = s
            .skill_ratio
            .map_or_else(|| "—".to_string(), |k| format!("{k:.3}"));
        let mut status = s.status.clone();
        if !s.missing_final.is_empty() {
            status.push_str(&format!(" (missing final {})", s.missing_final));
        }
        for set in s.settings.iter().filter(|x| !x.missing.is_empty()) {
            status.push_str(&format!(
                " (f{} s{}: {}/{} groves)",
                set.feat, set.samp, set.groves_found, set.groves_planned
            ));
        }
        println!(
            "{:<12} {:>8} {} {} {} {:>7}  {}",
            s.stock,
            best,
            opt(s.validation_mse, 12),
            opt(s.test_mse, 12),
            opt(s.naive_mse, 12),
            skill,
            status
        );
    }
    println!("skill = test MSE / naive MSE (naive: next minute = this minute); below 1 the forest beats it");
    println!();
    println!(
        "{:<15} {:>6} {:>10} {:>10} {:>12} {:>10} {:>10} {:>8} {:>9}",
        "stage",
        "units",
        "actual s",
        "parallel s",
        "sequential s",
        "GB-s",
        "cost $",
        "S3 req",
        "S3 $"
    );
    let view = |stage: &str, v: &str| {
        r.views
            .iter()
            .find(|x| x.stage == stage && x.view == v)
            .map_or(0.0, |x| x.total_s)
    };
    for c in &r.costs {
        println!(
            "{:<15} {:>6} {:>10.1} {:>10.1} {:>12.1} {:>10.1} {:>10.5} {:>8} {:>9.5}",
            c.stage,
            c.invocations,
            view(&c.stage, "actual"),
            view(&c.stage, "parallel"),
            view(&c.stage, "sequential"),
            c.gb_s,
            c.cost_usd,
            c.s3_requests,
            c.s3_cost_usd
        );
    }
    let arch = r
        .costs
        .iter()
        .find(|c| c.stage == "run")
        .map_or("", |c| c.arch.as_str());
    println!(
        "GB-s and cost as if each unit ran on Lambda at {} MB unless it did, on the architecture it ran on ({}); {}. S3: the units' requests at {}",
        r.spec.memory_mb,
        if arch.is_empty() { "not recorded: arm64" } else { arch },
        r.prices,
        groves_core::pricing::S3_PRICES_NOTE
    );
    let failed: Vec<String> = r
        .stages
        .iter()
        .flat_map(|l| {
            l.failed
                .iter()
                .map(move |f| format!("{} {}: {}", l.label(), f.unit, f.error))
        })
        .collect();
    let throttled: u64 = r.stages.iter().map(|l| l.throttled).sum();
    if throttled > 0 {
        println!("{throttled} hand-over(s) throttled, backed off and sent again (not counted as attempts)");
    }
    let retried: usize = r.stages.iter().map(|l| l.retried.len()).sum();
    if retried > 0 {
        println!("{retried} unit(s) succeeded after a retry");
    }
    if !failed.is_empty() {
        println!("failed units:");
        for f in failed {
            println!("  {f}");
        }
    }
    if !r.timing_final {
        println!("(the run has not finished: figures so far)");
    }
}
