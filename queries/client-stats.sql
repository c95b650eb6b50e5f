-- Client benchmark statistics (aiperf, vLLM bench) per input, with aiperf's definitions: the same numbers as `breakdown-trace stats`.
-- Stats: time_to_first_token, time_to_second_token, inter_token_latency, inter_chunk_latency (ms),
-- output_token_throughput_per_user (tokens/sec/user), request_latency (ms), input/output_sequence_length (tokens).
-- Only requests with in_stats = 1 count (successful, not warmup). std is the population standard deviation;
-- percentiles are numpy-linear (the `percentile` function), as aiperf reports them.
WITH v AS (
  SELECT input, stat, unit, value,
         CASE stat WHEN 'time_to_first_token' THEN 1 WHEN 'time_to_second_token' THEN 2
                   WHEN 'inter_token_latency' THEN 3 WHEN 'inter_chunk_latency' THEN 4
                   WHEN 'output_token_throughput_per_user' THEN 5 WHEN 'request_latency' THEN 6
                   WHEN 'input_sequence_length' THEN 7 ELSE 8 END AS ord
  FROM client_stat_value WHERE in_stats = 1
),
m AS (SELECT input, stat, AVG(value) AS mean FROM v GROUP BY input, stat)
SELECT v.input AS source, v.stat, v.unit, COUNT(*) AS count, m.mean AS avg,
       MIN(value) AS min, MAX(value) AS max,
       percentile(value, 1) AS p1, percentile(value, 5) AS p5, percentile(value, 25) AS p25,
       percentile(value, 50) AS p50, percentile(value, 75) AS p75, percentile(value, 90) AS p90,
       percentile(value, 95) AS p95, percentile(value, 99) AS p99,
       sqrt(AVG((value - m.mean) * (value - m.mean))) AS std
FROM v JOIN m USING (input, stat)
GROUP BY v.input, v.stat, v.unit, m.mean
ORDER BY v.input, MIN(v.ord);
