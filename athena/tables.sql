-- groves tables for Amazon Athena (Glue Data Catalog). Replace groves-data with your bucket.
--
-- Every table is Hive-partitioned by the keys groves writes (run=<run>/stock=<SYMBOL>/...).
-- After a run, load its partitions with MSCK REPAIR TABLE <table> (or ALTER TABLE <table> ADD
-- PARTITION (run = '...', stock = '...') LOCATION '...' for one run); see athena/README.md.
-- Columns that the files also carry as partition keys (run, stock, stage) are declared only
-- as partition columns, as Athena requires. Unsigned counts are written as signed integers and
-- timestamps at millisecond precision, so Athena reads every column.

CREATE DATABASE IF NOT EXISTS groves;

-- Processed minute series: one file per run, split and stock. typprice_target is TYPPRICE
-- `horizon` minutes after the row. A run with extra `features` also writes those raw columns
-- (double, named as in the Kaggle header); to query them, add them here (or ALTER TABLE
-- groves.features ADD COLUMNS (rsi14 double)): Parquet columns are matched by name.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.features (
  `row` bigint,
  `date` timestamp,
  month tinyint,
  day tinyint,
  hour tinyint,
  minute tinyint,
  day_of_week tinyint,
  typprice double,
  typprice_lag_1 double,
  typprice_lag_2 double,
  typprice_lag_3 double,
  typprice_lag_4 double,
  typprice_lag_5 double,
  typprice_lag_6 double,
  typprice_lag_7 double,
  typprice_lag_8 double,
  typprice_lag_9 double,
  typprice_lag_10 double,
  typprice_target double
)
PARTITIONED BY (run string, split string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/features/';

-- What processing did with each raw file: rows read, kept, per split, dropped per reason.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.processing_stats (
  source_key string,
  layout string,
  split_method string,
  seed bigint,
  lags string,
  horizon bigint,
  features string,
  rows_read bigint,
  rows_out_of_order bigint,
  duplicates_conflicting bigint,
  dropped_duplicate_timestamp bigint,
  dropped_missing_typprice bigint,
  dropped_warmup bigint,
  dropped_no_next_row bigint,
  dropped_neighbour_missing bigint,
  dropped_missing_feature bigint,
  dropped_day_boundary bigint,
  dropped_truncated_last_line bigint,
  rows_kept bigint,
  rows_train bigint,
  rows_validation bigint,
  rows_test bigint,
  first_bar string,
  last_bar string
)
PARTITIONED BY (run string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/processing_stats/';

-- One record per unit of work (per grove, per stock, per run): when and how long.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.timings (
  unit string,
  stock string,
  invoked_at timestamp,
  started_at timestamp,
  finished_at timestamp,
  read_ms double,
  compute_ms double,
  write_ms double,
  executor string,
  memory_mb bigint,
  threads bigint,
  cold_start boolean,
  s3_get bigint,
  s3_put bigint,
  s3_list bigint,
  s3_head bigint,
  s3_delete bigint,
  arch string,
  kernels string
)
PARTITIONED BY (run string, stage string)
STORED AS PARQUET
LOCATION 's3://groves-data/timings/';

-- One search grove's validation predictions (one file per grove).
CREATE EXTERNAL TABLE IF NOT EXISTS groves.val_preds (
  `row` bigint,
  pred double,
  grove bigint,
  feat bigint,
  samp bigint
)
PARTITIONED BY (run string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/val_preds/';

-- Validation MSE of every setting of the grid (groves averaged first). A halving search has a
-- file per round (round-<r>.parquet), each row the setting's MSE over the groves that round gave
-- it; a grid search is round 0 (files written before the column existed read it as NULL).
CREATE EXTERNAL TABLE IF NOT EXISTS groves.pred_mses (
  feat bigint,
  samp bigint,
  round bigint,
  mse double,
  groves_planned bigint,
  groves_found bigint,
  missing string,
  rows_validation bigint,
  target string,
  horizon bigint
)
PARTITIONED BY (run string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/pred_mses/';

-- The winning setting of each stock.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.min_mse (
  feat bigint,
  samp bigint,
  mse double,
  groves bigint,
  settings_compared bigint,
  target string,
  horizon bigint
)
PARTITIONED BY (run string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/min_mse/';

-- One final grove's test predictions (one file per grove).
CREATE EXTERNAL TABLE IF NOT EXISTS groves.test_preds (
  `row` bigint,
  pred double,
  grove bigint
)
PARTITIONED BY (run string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/test_preds/';

-- Test MSE of the averaged final groves beside the naive forecast's.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.test_mse (
  feat bigint,
  samp bigint,
  validation_mse double,
  test_mse double,
  naive_mse double,
  skill_ratio double,
  groves_planned bigint,
  groves_found bigint,
  missing string,
  rows_test bigint,
  target string,
  horizon bigint
)
PARTITIONED BY (run string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/test_mse/';

-- The averaged test forecast per minute, beside the actual and the naive (last known) value.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.test_forecast (
  `row` bigint,
  `date` timestamp,
  actual double,
  naive double,
  predicted double
)
PARTITIONED BY (run string, stock string)
STORED AS PARQUET
LOCATION 's3://groves-data/test_forecast/';

-- Every unit's timing record of a run in one file (timing-metrics gathers them; its own record is
-- not in it): the `timings` table without a file per unit, cheaper to scan for a large run.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.timing_units (
  stage string,
  unit string,
  stock string,
  invoked_at timestamp,
  started_at timestamp,
  finished_at timestamp,
  read_ms double,
  compute_ms double,
  write_ms double,
  executor string,
  memory_mb bigint,
  threads bigint,
  cold_start boolean,
  s3_get bigint,
  s3_put bigint,
  s3_list bigint,
  s3_head bigint,
  s3_delete bigint,
  arch string,
  kernels string
)
PARTITIONED BY (run string)
STORED AS PARQUET
LOCATION 's3://groves-data/timing_metrics/units/';

-- Per stage: read / compute / write seconds as it happened, fully parallel and sequential.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.timing_views (
  stage string,
  view string,
  units bigint,
  invoke_s double,
  read_s double,
  compute_s double,
  write_s double,
  total_s double
)
PARTITIONED BY (run string)
STORED AS PARQUET
LOCATION 's3://groves-data/timing_metrics/views/';

-- Per stage: invocations, billed seconds, Lambda GB-seconds and estimated cost (each unit at the
-- price of the architecture it ran on, `arch`).
CREATE EXTERNAL TABLE IF NOT EXISTS groves.timing_costs (
  stage string,
  invocations bigint,
  duration_s double,
  gb_s double,
  cost_usd double,
  arch string,
  s3_requests bigint,
  s3_cost_usd double
)
PARTITIONED BY (run string)
STORED AS PARQUET
LOCATION 's3://groves-data/timing_metrics/costs/';

-- Live forecasts: one row per live minute scored (groves replay / the score function), made
-- with the stock's serving model. naive_forecast is the price at that minute. Small files per
-- live object, compacted into date=<day>/day.parquet once the day is two days behind.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.live_forecasts (
  minute timestamp,
  price double,
  forecast double,
  naive_forecast double,
  horizon int,
  target string,
  model_run string
)
PARTITIONED BY (stock string, `date` string)
STORED AS PARQUET
LOCATION 's3://groves-data/live/forecasts/';

-- The realised outcome of each live forecast, written when the minute it was for (horizon
-- rows on) is scored: a later record keyed by the forecast's minute (objects are immutable, so
-- the forecast row is never rewritten). error = forecast - actual; naive_error = price -
-- actual. Partitioned by the day the outcome was realised.
CREATE EXTERNAL TABLE IF NOT EXISTS groves.live_outcomes (
  minute timestamp,
  realised_minute timestamp,
  price double,
  actual double,
  forecast double,
  error double,
  naive_error double,
  model_run string
)
PARTITIONED BY (stock string, `date` string)
STORED AS PARQUET
LOCATION 's3://groves-data/live/outcomes/';
