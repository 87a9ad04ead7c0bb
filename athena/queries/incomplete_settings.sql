-- Settings whose validation MSE averages fewer groves than planned (a grove kept failing and
-- the run allowed it), and which groves are missing. Parameter: the run id.
SELECT stock, feat, samp, groves_found, groves_planned, missing, mse
FROM pred_mses
WHERE run = ? AND groves_found < groves_planned
ORDER BY stock, feat, samp;
