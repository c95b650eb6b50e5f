-- Per request segment and role: how long each step of a request took (TensorRT-LLM perf metrics).
-- From `request_segment` (the segment table, src/segments.rs). count = requests where the segment is present;
-- absent = requests where it applies but is absent, split by cause: absent_missing (key or half not in the
-- record), absent_null (JSON null), absent_zero (0.0 = unset time point), absent_reversed (end before start),
-- absent_non_streaming (the segment starts or ends at server_first_token_time of a non-streaming response,
-- which marks the response's end, not the first token).
-- Absent segments are never zero-filled and never enter the statistics.
-- min, p50, p90, p99, max, mean: ms over present segments; percentiles interpolate linearly like numpy's default.
-- Last row `total to first token`: per request, the sum of its segments other than decode, for requests where
-- all of them are present (count) — requests missing any are `absent`.
-- Ordered as the segment table.
WITH per AS (
  SELECT segment, role, MIN(seq) AS ord,
         COUNT(dur) AS count,
         COUNT(*) - COUNT(dur) AS absent,
         COUNT(CASE WHEN absent_reason = 'missing' THEN 1 END) AS absent_missing,
         COUNT(CASE WHEN absent_reason = 'null' THEN 1 END) AS absent_null,
         COUNT(CASE WHEN absent_reason = 'zero' THEN 1 END) AS absent_zero,
         COUNT(CASE WHEN absent_reason = 'reversed' THEN 1 END) AS absent_reversed,
         COUNT(CASE WHEN absent_reason = 'non_streaming' THEN 1 END) AS absent_non_streaming,
         MIN(dur) AS mn, percentile(dur, 50) AS p50, percentile(dur, 90) AS p90,
         percentile(dur, 99) AS p99, MAX(dur) AS mx, AVG(dur) AS mean
  FROM request_segment
  GROUP BY segment, role
),
req AS (
  SELECT request_id, CASE WHEN COUNT(dur) = COUNT(*) THEN SUM(dur) END AS total
  FROM request_segment
  WHERE segment <> 'decode'
  GROUP BY request_id
),
tot AS (
  SELECT 'total to first token' AS segment, 'all' AS role, 1000000 AS ord,
         COUNT(total) AS count, COUNT(*) - COUNT(total) AS absent,
         NULL AS absent_missing, NULL AS absent_null, NULL AS absent_zero, NULL AS absent_reversed,
         NULL AS absent_non_streaming,
         MIN(total) AS mn, percentile(total, 50) AS p50, percentile(total, 90) AS p90,
         percentile(total, 99) AS p99, MAX(total) AS mx, AVG(total) AS mean
  FROM req
  HAVING COUNT(*) > 0
)
SELECT segment, role, count, absent, absent_missing, absent_null, absent_zero, absent_reversed,
       absent_non_streaming,
       mn / 1e6 AS min_ms, p50 / 1e6 AS p50_ms, p90 / 1e6 AS p90_ms, p99 / 1e6 AS p99_ms,
       mx / 1e6 AS max_ms, mean / 1e6 AS mean_ms
FROM (SELECT * FROM per UNION ALL SELECT * FROM tot)
ORDER BY ord, role;
