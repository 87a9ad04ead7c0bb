-- Test MSE of each stock's forecast beside the naive forecast's (the last known price), best
-- skill first. A skill ratio above 1 means the forest beat the naive forecast. Parameter: the
-- run id.
SELECT stock, feat, samp, test_mse, naive_mse, skill_ratio,
       test_mse < naive_mse AS beats_naive, rows_test
FROM test_mse
WHERE run = ? AND test_mse IS NOT NULL
ORDER BY skill_ratio DESC, stock;
