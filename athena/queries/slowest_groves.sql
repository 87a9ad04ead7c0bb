-- The ten slowest search groves: read, compute and write milliseconds of each. Parameter: the
-- run id.
SELECT unit, stock, read_ms, compute_ms, write_ms,
       read_ms + compute_ms + write_ms AS total_ms
FROM timings
WHERE run = ? AND stage = 'param-preds'
ORDER BY total_ms DESC, unit
LIMIT 10;
