-- Live forecast skill per stock and day: the realised forecasts' MSE beside the naive
-- forecast's, and their ratio (below 1: the model beat the naive forecast). Days by the minute
-- each forecast was made. No parameter.
SELECT stock,
       CAST(CAST(minute AS DATE) AS VARCHAR) AS day,
       COUNT(*) AS realised,
       AVG(error * error) AS mse,
       AVG(naive_error * naive_error) AS naive_mse,
       AVG(error * error) / AVG(naive_error * naive_error) AS skill_ratio
FROM live_outcomes
GROUP BY stock, CAST(CAST(minute AS DATE) AS VARCHAR)
ORDER BY stock, day;
