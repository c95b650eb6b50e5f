-- Kernel latency statistics per kernel name (the RTP-LLM profiling doc's first query, same rows).
-- Over slices with category 'kernel' or 'gpu_memcpy', all devices and streams together.
-- Columns: avg_us (mean, µs, 2 decimals), max_us / min_us (µs, integer division of ns by 1000 as in the doc),
-- sum_ms (total, ms, 2 decimals), percent (share of the total kernel+memcpy time, 1 decimal),
-- count (instances), name. Ordered by total time, largest first (ties by name).
SELECT
  ROUND(AVG(dur) / 1000, 2) AS avg_us,
  MAX(dur) / 1000 AS max_us,
  MIN(dur) / 1000 AS min_us,
  ROUND(SUM(dur) / 1000.0 / 1000, 2) AS sum_ms,
  ROUND(SUM(dur) * 100.0 / (SELECT SUM(dur) FROM slice WHERE category IN ('kernel', 'gpu_memcpy')), 1) AS percent,
  COUNT(name) AS count,
  name
FROM slice
WHERE category IN ('kernel', 'gpu_memcpy')
GROUP BY name
ORDER BY SUM(dur) DESC, name;
