-- The :n slowest requests by TTFT (default 10) and the largest segment before the first token.
-- ttft as in `latency` (disaggregated: router arrival -> router first token; aggregated: server arrival ->
-- server first token; a non-streaming request ends it at the executor's first token), ms. largest_segment: the present segment with the longest duration, `decode` excluded
-- (it comes after the first token); ties by segment-table order. Requests without a TTFT are left out.
WITH r AS (
  SELECT id, label, kind,
         CASE WHEN non_streaming = 1 THEN ctx_first_token_time
              WHEN kind = 'disaggregated' THEN disagg_server_first_token_time
              ELSE ctx_server_first_token_time END
         - CASE WHEN kind = 'disaggregated' THEN disagg_server_arrival_time ELSE ctx_server_arrival_time END AS ttft
  FROM request
),
top AS (
  SELECT * FROM r WHERE ttft >= 0 ORDER BY ttft DESC, id LIMIT COALESCE(:n, 10)
)
SELECT t.id AS request_id, t.label, t.kind, t.ttft / 1e6 AS ttft_ms,
       (SELECT segment FROM request_segment s WHERE s.request_id = t.id AND s.dur IS NOT NULL AND s.segment <> 'decode'
         ORDER BY s.dur DESC, s.seq LIMIT 1) AS largest_segment,
       (SELECT dur FROM request_segment s WHERE s.request_id = t.id AND s.dur IS NOT NULL AND s.segment <> 'decode'
         ORDER BY s.dur DESC, s.seq LIMIT 1) / 1e6 AS largest_segment_ms
FROM top t
ORDER BY t.ttft DESC, t.id;
