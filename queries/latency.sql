-- Request latency percentiles (TensorRT-LLM perf metrics), ms: p50, p90, p95, p99, min, max, avg per metric.
-- ttft: disaggregated = disagg_server_first_token_time - disagg_server_arrival_time (the router's view);
--       aggregated = ctx.server_first_token_time - ctx.server_arrival_time. A non-streaming request
--       (request.non_streaming = 1: the server stamped server_first_token_time when it sent the whole response,
--       at or after last_token_time; warning `non_streaming`) ends its TTFT at the executor's first token instead:
--       ctx.first_token_time (the context server's when disaggregated).
-- e2e: from the same start to last_token_time (gen side when disaggregated, else ctx); arrival stamps are
--      the HTTP layer's, last_token_time the executor's.
-- queue: ctx_queue segment (ctx.arrival_time -> ctx.first_scheduled_time). decode: the `decode` segment.
-- Time per output token is not derivable: the perf metrics carry no output token count.
-- A metric is absent for a request when a stamp is absent or the pair is reversed; count = requests with it.
WITH m AS (
  SELECT 1 AS ord, 'ttft' AS metric,
         CASE WHEN non_streaming = 1 THEN ctx_first_token_time
              WHEN kind = 'disaggregated' THEN disagg_server_first_token_time
              ELSE ctx_server_first_token_time END
         - CASE WHEN kind = 'disaggregated' THEN disagg_server_arrival_time ELSE ctx_server_arrival_time END AS d
  FROM request
  UNION ALL
  SELECT 2, 'e2e',
         CASE WHEN kind = 'disaggregated' THEN gen_last_token_time - disagg_server_arrival_time
              ELSE ctx_last_token_time - ctx_server_arrival_time END
  FROM request
  UNION ALL
  SELECT 3, 'queue', dur FROM request_segment WHERE segment = 'ctx_queue'
  UNION ALL
  SELECT 4, 'decode', dur FROM request_segment WHERE segment = 'decode'
),
v AS (SELECT ord, metric, CASE WHEN d >= 0 THEN d END AS d FROM m)
SELECT metric, COUNT(d) AS count,
       percentile(d, 50) / 1e6 AS p50_ms, percentile(d, 90) / 1e6 AS p90_ms,
       percentile(d, 95) / 1e6 AS p95_ms, percentile(d, 99) / 1e6 AS p99_ms,
       MIN(d) / 1e6 AS min_ms, MAX(d) / 1e6 AS max_ms, AVG(d) / 1e6 AS avg_ms
FROM v
GROUP BY ord, metric
ORDER BY ord;
