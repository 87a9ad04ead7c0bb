-- The best setting of each stock, recomputed from the validation MSE of every setting (ties go
-- to the smaller max_features, then min_samples_split, as min-mse decides), beside how many
-- groves the winner's MSE averages. Parameter: the run id.
SELECT stock, feat, samp, mse AS validation_mse, groves_found AS groves
FROM (
  SELECT stock, feat, samp, mse, groves_found,
         row_number() OVER (PARTITION BY stock ORDER BY mse, feat, samp) AS place
  FROM pred_mses
  WHERE run = ? AND mse IS NOT NULL
) ranked
WHERE place = 1
ORDER BY stock;
