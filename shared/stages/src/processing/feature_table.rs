//! The three splits' feature tables: `row`, `date`, the calendar parts, `TYPPRICE`, its lags
//! and the target, built a row group at a time from the bars while they are encoded.

use std::ops::Range;

use groves_core::calendar::{civil_from_days, DAY_MS};
use groves_core::features::{self, N_LAGS, ROW, TARGET, TYPPRICE};
use groves_core::spec::Split;
use groves_data::table::{datetime_ms_column, ChunkedTable, Window};
use polars_core::prelude::*;

use super::bars::Bars;

/// The three parts of the processed series, each in time order. Their feature columns are
/// not built here: [`write_processed`] builds them a row group at a time as it encodes them.
#[derive(Debug)]
pub struct Splits {
    pub(super) bars: Bars,
    /// Minutes between a row and its target.
    pub(super) horizon: usize,
    /// Names of the extra feature columns (`bars.extras` in order).
    pub(super) extra_names: Vec<String>,
    /// Per split, in `Split::ALL` order: positions among the kept rows (the `row` column),
    /// ascending.
    pub(super) positions: [Vec<u32>; 3],
    /// Per split, the same rows as indices into `bars`.
    pub(super) at: [Vec<u32>; 3],
}

impl Splits {
    /// The feature table of one split, ready to be encoded.
    pub(super) fn table(&self, split: Split) -> FeatureTable<'_> {
        // Fields are in `Split::ALL` order, the order `Split` declares its variants.
        let i = split as usize;
        FeatureTable {
            bars: &self.bars,
            horizon: self.horizon,
            extra_names: &self.extra_names,
            positions: &self.positions[i],
            at: &self.at[i],
        }
    }
}

/// One split's feature table: `row`, `date`, the calendar parts, `TYPPRICE`, its lags, the
/// extra feature columns and the target, built a row range at a time from the bars.
pub(super) struct FeatureTable<'a> {
    bars: &'a Bars,
    horizon: usize,
    extra_names: &'a [String],
    positions: &'a [u32],
    at: &'a [u32],
}

/// Columns of the feature table after `row`, `date` and the calendar parts.
const FIRST_PRICE_COLUMN: usize = 2 + features::CALENDAR.len();
/// The first extra feature column (the target follows the extras).
const FIRST_EXTRA_COLUMN: usize = FIRST_PRICE_COLUMN + N_LAGS + 1;

impl FeatureTable<'_> {
    fn target_column(&self) -> usize {
        FIRST_EXTRA_COLUMN + self.extra_names.len()
    }
}

impl ChunkedTable for FeatureTable<'_> {
    fn schema(&self) -> Schema {
        let price = |name: &str| Field::new(name.into(), DataType::Float64);
        let mut fields = vec![
            Field::new(ROW.into(), DataType::Int64),
            Field::new(
                features::DATE.into(),
                DataType::Datetime(TimeUnit::Milliseconds, None),
            ),
        ];
        fields.extend(
            features::CALENDAR
                .iter()
                .map(|name| Field::new((*name).into(), DataType::Int8)),
        );
        fields.push(price(TYPPRICE));
        fields.extend((1..=N_LAGS).map(|k| price(&features::lag_name(k))));
        fields.extend(self.extra_names.iter().map(|name| price(name)));
        fields.push(price(TARGET));
        fields.into_iter().collect()
    }

    fn height(&self) -> usize {
        self.at.len()
    }

    fn column(&self, index: usize, rows: Range<usize>) -> PolarsResult<Series> {
        let at = &self.at[rows.clone()];
        let local_ms = || at.iter().map(|&i| self.bars.times[i as usize].local_ms);
        let calendar = |name: &str, part: fn(i64) -> i8| {
            let values: Vec<i8> = local_ms().map(part).collect();
            Series::new(name.into(), values)
        };
        let price = |name: &str, at_row: &dyn Fn(usize) -> usize| {
            let values: Vec<f64> = at
                .iter()
                .map(|&i| self.bars.prices[at_row(i as usize)])
                .collect();
            Series::new(name.into(), values)
        };
        let names = features::CALENDAR;
        Ok(match index {
            0 => {
                let values: Vec<i64> = self.positions[rows].iter().map(|&p| p as i64).collect();
                Series::new(ROW.into(), values)
            }
            1 => {
                datetime_ms_column(features::DATE, local_ms().collect()).take_materialized_series()
            }
            2 => calendar(names[0], |ms| {
                civil_from_days(ms.div_euclid(DAY_MS)).1 as i8
            }),
            3 => calendar(names[1], |ms| {
                civil_from_days(ms.div_euclid(DAY_MS)).2 as i8
            }),
            4 => calendar(names[2], |ms| (ms.rem_euclid(DAY_MS) / 3_600_000) as i8),
            5 => calendar(names[3], |ms| (ms.rem_euclid(DAY_MS) / 60_000 % 60) as i8),
            // 0 = Monday, as pandas' dayofweek; 1970-01-01 was a Thursday.
            6 => calendar(names[4], |ms| {
                (ms.div_euclid(DAY_MS) + 3).rem_euclid(7) as i8
            }),
            FIRST_PRICE_COLUMN => price(TYPPRICE, &|i| i),
            i if i <= FIRST_PRICE_COLUMN + N_LAGS => {
                let k = i - FIRST_PRICE_COLUMN;
                price(&features::lag_name(k), &|i| i - k)
            }
            i if i == self.target_column() => price(TARGET, &|i| i + self.horizon),
            i if i >= FIRST_EXTRA_COLUMN && i < self.target_column() => {
                let j = i - FIRST_EXTRA_COLUMN;
                let values: Vec<f64> = at
                    .iter()
                    .map(|&i| self.bars.extras[j][i as usize])
                    .collect();
                Series::new(self.extra_names[j].as_str().into(), values)
            }
            i => polars_bail!(ColumnNotFound: "the feature table has no column {i}"),
        })
    }

    /// Price columns are windows of the bars' prices wherever the rows are consecutive bars
    /// (every row group of a chronological split without gaps).
    fn window(&self, index: usize, rows: Range<usize>) -> Option<Window<'_>> {
        let at = &self.at[rows];
        let (&first, &last) = (at.first()?, at.last()?);
        // `at` ascends strictly: the rows are consecutive bars when the ends are len - 1 apart.
        if (last - first) as usize != at.len() - 1 {
            return None;
        }
        let first = first as usize;
        let (series, start) = match index {
            FIRST_PRICE_COLUMN => (&self.bars.prices, first),
            i if i > FIRST_PRICE_COLUMN && i <= FIRST_PRICE_COLUMN + N_LAGS => (
                &self.bars.prices,
                first.checked_sub(i - FIRST_PRICE_COLUMN)?,
            ),
            i if i == self.target_column() => (&self.bars.prices, first + self.horizon),
            i if i >= FIRST_EXTRA_COLUMN && i < self.target_column() => {
                (&self.bars.extras[i - FIRST_EXTRA_COLUMN], first)
            }
            _ => return None,
        };
        (start + at.len() <= series.len()).then_some(Window { series, start })
    }
}
