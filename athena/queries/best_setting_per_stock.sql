-- The best setting of each stock, recomputed from the validation MSE of every setting (ties go
-- to the smaller max_features, then min_samples_split, as min-mse decides), beside how many
-- groves the winner's MSE averages. A halving search's winner comes from its last round, where
-- the survivors have every grove. Parameter: the run id.
SELECT stock, feat, samp, mse AS validation_mse, groves_found AS groves, round
FROM (
  SELECT stock, feat, samp, mse, groves_found, coalesce(round, 0) AS round,
         row_number() OVER (
           PARTITION BY stock ORDER BY coalesce(round, 0) DESC, mse, feat, samp
         ) AS place
  FROM pred_mses
  WHERE run = ? AND mse IS NOT NULL
) ranked
WHERE place = 1
ORDER BY stock;
