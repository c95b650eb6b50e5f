-- Per request segment and role: how long each step of a request took (TensorRT-LLM perf metrics).
-- From `request_segment` (the segment table, src/segments.rs). count = requests where the segment is present;
-- absent = requests where it applies but a timestamp is missing/null/zero or the pair is reversed (never zero-filled).
-- min, p50, p90, p99, max, mean: ms over present segments; percentiles interpolate linearly like numpy's default.
-- Ordered as the segment table.
SELECT segment, role,
       COUNT(dur) AS count,
       COUNT(*) - COUNT(dur) AS absent,
       MIN(dur) / 1e6 AS min_ms,
       percentile(dur, 50) / 1e6 AS p50_ms,
       percentile(dur, 90) / 1e6 AS p90_ms,
       percentile(dur, 99) / 1e6 AS p99_ms,
       MAX(dur) / 1e6 AS max_ms,
       AVG(dur) / 1e6 AS mean_ms
FROM request_segment
GROUP BY segment, role
ORDER BY MIN(seq), role;
