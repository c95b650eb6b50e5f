-- Each metric series (Prometheus inputs): samples, min / mean / max / last, and increase and rate for series that only grow.
-- Window: the span of the trace's slices (the timeline the metrics explain; GPU profiler artifacts left out) when
-- there are any, else every sample; window_start_ns / window_end_ns (ns, NULL = unbounded) say which. Only samples
-- inside the window count. Values are in the series' unit (column unit; NULL when the metric name does not say).
-- mean: the plain mean of the samples (not time-weighted; scrapes are evenly spaced). last: the latest sample's value.
-- For monotonic series (counters, histogram/summary _count/_sum/_bucket, untyped *_total, Triton nv_inference_*_us):
-- increase = the sum over consecutive samples of (value - previous), or value itself after a drop (a counter reset
-- starts over from 0, as Prometheus' increase() does); rate_per_s = increase / (last - first sample time, s);
-- resets = drops. NULL for other series, and rate_per_s with fewer than two samples.
-- One row per series (metric_series order); columns: input, series (the track name), type, unit, samples, first_ts,
-- last_ts (ns), min, mean, max, last, increase, rate_per_s (per second), resets, window_start_ns, window_end_ns.
WITH win AS (
  SELECT MIN(ts) AS lo, MAX(ts + dur) AS hi
  FROM slice WHERE id NOT IN (SELECT id FROM gpu_work WHERE artifact IS NOT NULL)
),
s AS (
  SELECT m.id AS series_id, c.ts, c.value,
         LAG(c.value) OVER (PARTITION BY m.id ORDER BY c.ts, c.id) AS prev,
         ROW_NUMBER() OVER (PARTITION BY m.id ORDER BY c.ts DESC, c.id DESC) AS from_last
  FROM metric_series m JOIN counter c ON c.track_id = m.track_id, win
  WHERE win.lo IS NULL OR c.ts BETWEEN win.lo AND win.hi
)
SELECT m.input, m.name AS series, m.type, m.unit,
       COUNT(s.ts) AS samples, MIN(s.ts) AS first_ts, MAX(s.ts) AS last_ts,
       MIN(s.value) AS min, AVG(s.value) AS mean, MAX(s.value) AS max,
       MAX(CASE WHEN s.from_last = 1 THEN s.value END) AS last,
       CASE WHEN m.monotonic AND COUNT(s.ts) > 0 THEN
         SUM(CASE WHEN s.prev IS NULL THEN 0.0 WHEN s.value >= s.prev THEN s.value - s.prev ELSE s.value END) END AS increase,
       CASE WHEN m.monotonic AND COUNT(s.ts) > 1 AND MAX(s.ts) > MIN(s.ts) THEN
         SUM(CASE WHEN s.prev IS NULL THEN 0.0 WHEN s.value >= s.prev THEN s.value - s.prev ELSE s.value END)
         / ((MAX(s.ts) - MIN(s.ts)) / 1e9) END AS rate_per_s,
       CASE WHEN m.monotonic THEN COALESCE(SUM(s.prev IS NOT NULL AND s.value < s.prev), 0) END AS resets,
       (SELECT lo FROM win) AS window_start_ns, (SELECT hi FROM win) AS window_end_ns
FROM metric_series m LEFT JOIN s ON s.series_id = m.id
GROUP BY m.id
ORDER BY m.id;
