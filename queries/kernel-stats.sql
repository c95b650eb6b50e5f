-- Kernel latency statistics per kernel name (the RTP-LLM profiling doc's first query, same rows).
-- Over kernels and memory copies (`gpu_work`: category 'kernel'/'gpu_memcpy' in any spelling, e.g. legacy
-- 'Kernel'/'Memcpy'; profiler artifacts left out), all devices and streams together.
-- Columns: avg_us (mean, µs, 2 decimals), max_us / min_us (µs, integer division of ns by 1000 as in the doc),
-- sum_ms (total, ms, 2 decimals), percent (share of the total kernel+memcpy time, 1 decimal),
-- count (instances), name. Ordered by total time, largest first (ties by name).
SELECT
  ROUND(AVG(dur) / 1000, 2) AS avg_us,
  MAX(dur) / 1000 AS max_us,
  MIN(dur) / 1000 AS min_us,
  ROUND(SUM(dur) / 1000.0 / 1000, 2) AS sum_ms,
  ROUND(SUM(dur) * 100.0 / (SELECT SUM(dur) FROM gpu_work WHERE kind IN ('kernel', 'memcpy') AND artifact IS NULL), 1) AS percent,
  COUNT(name) AS count,
  name
FROM gpu_work WHERE kind IN ('kernel', 'memcpy') AND artifact IS NULL
GROUP BY name
ORDER BY SUM(dur) DESC, name;
