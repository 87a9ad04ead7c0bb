//! The raw series as bars in time order, de-duplicated, and which of them become rows: each
//! dropped row counted under one reason.

use groves_core::calendar::{BarTime, DAY_MS};
use groves_core::features::N_LAGS;
use groves_core::spec::LagScope;
use groves_data::raw::RawSeries;

use super::record::{DropCounts, ProcessingOptions, ProcessingReport};

/// The bars after sorting and de-duplication, and which of them are kept.
#[derive(Debug)]
pub struct Bars {
    pub times: Vec<BarTime>,
    /// `TYPPRICE` by bar, `NaN` where missing (kept rows never read one: every price of their
    /// window is present).
    pub prices: Vec<f64>,
    /// The extra feature columns by bar, `NaN` where missing (never on a kept row).
    pub extras: Vec<Vec<f64>>,
    /// Indices into `times` of the kept rows, ascending.
    pub rows: Vec<u32>,
}

pub fn build_bars(raw: RawSeries, opts: &ProcessingOptions) -> (Bars, ProcessingReport) {
    let n = raw.times.len();
    let mut dropped = DropCounts {
        truncated_last_line: u64::from(raw.truncated_last_line),
        ..DropCounts::default()
    };
    let rows_out_of_order = raw
        .times
        .windows(2)
        .filter(|w| w[1].utc_ms < w[0].utc_ms)
        .count() as u64;
    let repeated = raw.times.windows(2).any(|w| w[1].utc_ms == w[0].utc_ms);
    let mut conflicting = 0u64;
    let (times, typprice, extras) = if rows_out_of_order == 0 && !repeated {
        // The usual file: already in order, nothing to drop, nothing to copy.
        (raw.times, raw.typprice, raw.extras)
    } else {
        // Stable: among equal timestamps the first in file order comes first and is kept.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| raw.times[i as usize].utc_ms);
        let mut times: Vec<BarTime> = Vec::with_capacity(n);
        let mut typprice: Vec<Option<f64>> = Vec::with_capacity(n);
        let mut extras: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(n); raw.extras.len()];
        for &i in &order {
            let (t, p) = (raw.times[i as usize], raw.typprice[i as usize]);
            if times.last().is_some_and(|last| last.utc_ms == t.utc_ms) {
                dropped.duplicate_timestamp += 1;
                if typprice.last().copied().flatten() != p {
                    conflicting += 1;
                }
                continue;
            }
            times.push(t);
            typprice.push(p);
            for (sorted, column) in extras.iter_mut().zip(&raw.extras) {
                sorted.push(column[i as usize]);
            }
        }
        (times, typprice, extras)
    };

    let m = times.len();
    let h = opts.horizon.max(1) as usize;
    let day = |i: usize| times[i].local_ms.div_euclid(DAY_MS);
    let mut rows = Vec::with_capacity(m);
    for i in 0..m {
        if typprice[i].is_none() {
            dropped.missing_typprice += 1;
        } else if i < N_LAGS {
            dropped.warmup += 1;
        } else if i + h >= m {
            dropped.no_next_row += 1;
        } else if typprice[i - N_LAGS..=i + h].iter().any(Option::is_none) {
            dropped.neighbour_missing += 1;
        } else if extras.iter().any(|column| column[i].is_none()) {
            dropped.missing_feature += 1;
        } else if opts.lags == LagScope::WithinDay && day(i - N_LAGS) != day(i + h) {
            dropped.day_boundary += 1;
        } else {
            // A raw file's rows are counted in u32 (the scanner's limit).
            rows.push(i as u32);
        }
    }
    let report = ProcessingReport {
        run: String::new(),
        stock: String::new(),
        source_key: String::new(),
        layout: "",
        split_method: opts.split.as_str(),
        seed: opts.seed,
        lags: opts.lags.as_str(),
        horizon: opts.horizon,
        features: opts.features.join(","),
        rows_read: raw.rows_read,
        rows_out_of_order,
        duplicates_conflicting: conflicting,
        dropped,
        rows_kept: 0,
        rows_train: 0,
        rows_validation: 0,
        rows_test: 0,
        first_bar: String::new(),
        last_bar: String::new(),
        read_ms: 0.0,
        compute_ms: 0.0,
        write_ms: 0.0,
    };
    (
        Bars {
            times,
            prices: typprice.iter().map(|p| p.unwrap_or(f64::NAN)).collect(),
            extras: extras
                .iter()
                .map(|column| column.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                .collect(),
            rows,
        },
        report,
    )
}
