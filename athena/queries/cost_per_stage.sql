-- Lambda GB-seconds and estimated cost of each stage, dearest first, with each stage's share of
-- the run's cost. Parameter: the run id.
SELECT stage, invocations, duration_s, gb_s, cost_usd,
       cost_usd / sum(cost_usd) OVER () AS share
FROM timing_costs
WHERE run = ?
ORDER BY cost_usd DESC, stage;
