-- Queue length per stream, summarised: how many launched GPU work items wait for the stream (HTA
-- get_queue_length_summary).
-- The series is `queue-length-series` (HTA's definition: +1 at each launch's start, -1 when the launched work
-- starts on the stream; work from `gpu_work`, profiler artifacts left out, that has a launch: `gpu_work.launch_id`,
-- by `ac2g` flow or same `correlation`).
-- Columns: device, stream, changes (rows of the series), then over the series' values as HTA's pandas describe()
-- takes them (one value per change, not weighted by time): mean, min, p25, p50, p75 (numpy-linear), max;
-- time_weighted_mean = the step function's average over first change .. last change (ours; the queue a launch
-- finds on average). Ordered by device, stream.
WITH ev AS (
  SELECT k.utid, l.ts AS ts, 1 AS delta, k.id
  FROM gpu_work k JOIN slice l ON l.id = k.launch_id
  WHERE k.artifact IS NULL AND k.utid IS NOT NULL
  UNION ALL
  SELECT k.utid, k.ts, -1, k.id
  FROM gpu_work k
  WHERE k.artifact IS NULL AND k.utid IS NOT NULL AND k.launch_id IS NOT NULL
),
q AS (
  SELECT utid, ts, SUM(delta) OVER w AS queue_length, ROW_NUMBER() OVER w AS rn
  FROM ev
  WINDOW w AS (PARTITION BY utid ORDER BY ts, delta DESC, id ROWS UNBOUNDED PRECEDING)
),
held AS (
  SELECT utid, ts, queue_length, LEAD(ts) OVER (PARTITION BY utid ORDER BY rn) - ts AS held_ns
  FROM q
),
per AS (
  SELECT utid, COUNT(*) AS changes, AVG(queue_length) AS mean, MIN(queue_length) AS min,
         percentile(queue_length, 25) AS p25, percentile(queue_length, 50) AS p50,
         percentile(queue_length, 75) AS p75, MAX(queue_length) AS max,
         SUM(queue_length * held_ns) * 1.0 / NULLIF(SUM(held_ns), 0) AS time_weighted_mean
  FROM held GROUP BY utid
)
SELECT p.name AS device, t.name AS stream, changes, ROUND(mean, 3) AS mean, min, p25, p50, p75, max,
       ROUND(time_weighted_mean, 3) AS time_weighted_mean
FROM per JOIN thread t ON t.utid = per.utid LEFT JOIN process p ON p.upid = t.upid
ORDER BY p.name, t.name;
