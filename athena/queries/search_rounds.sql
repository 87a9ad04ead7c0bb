-- The search round by round: per stock and round, how many settings took part, the groves each
-- had, the round's best validation MSE and its setting. A halving search keeps the better half
-- each round; a grid search is one round. Parameter: the run id.
SELECT stock,
       coalesce(round, 0) AS round,
       count(*) AS settings,
       max(groves_planned) AS groves_each,
       min(mse) AS best_mse,
       min_by(concat('f', cast(feat AS varchar), '_s', cast(samp AS varchar)), mse) AS best_setting
FROM pred_mses
WHERE run = ?
GROUP BY stock, coalesce(round, 0)
ORDER BY stock, round;
