-- Why the GPU was idle, per stream and per device: host wait, kernel wait, other (HTA get_idle_time_breakdown).
-- GPU work = `gpu_work` (kernel, memcpy, memset; profiler artifacts left out); device = process, stream = thread.
-- A gap = time between the end of the unit's work so far (the union of its intervals: on a stream, the previous
-- work's end) and the start of the next work item; gaps of 0 or less are not idle. The gap's cause, from the work
-- item that ends it (HTA's rules, first match wins):
--   host_wait: its launch (`gpu_work.launch_id`: its incoming Kineto `ac2g` flow, else the runtime call of the same
--     `correlation`) started after the gap began: the CPU had not enqueued it yet;
--   kernel_wait: the gap is shorter than :kernel_wait_ns (default 30000 ns; HTA's consecutive_kernel_delay, whose
--     default 30 is compared with microsecond timestamps, i.e. 30 µs): the overhead of back-to-back launches;
--   other: the rest (e.g. waiting on an event from another stream). Work without a launch is never host_wait.
-- Columns: scope ('stream' or 'device'), device, stream (NULL for a device), idle_category, gaps (count),
-- idle_ns (sum of the gaps, ns), idle_pct = 100 * idle_ns / the unit's total idle (HTA idle_time_ratio * 100).
-- Only categories with gaps have rows.
WITH work AS (
  SELECT k.id, k.ts, k.ts + k.dur AS end_ts, k.upid, k.utid, l.ts AS l_ts
  FROM gpu_work k
  LEFT JOIN slice l ON l.id = k.launch_id
  WHERE k.artifact IS NULL AND k.utid IS NOT NULL
),
units AS (
  SELECT 'device' AS scope, upid AS unit, id, ts, end_ts, l_ts FROM work
  UNION ALL
  SELECT 'stream', utid, id, ts, end_ts, l_ts FROM work
),
ordered AS (
  SELECT *, MAX(end_ts) OVER (PARTITION BY scope, unit ORDER BY ts, id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM units
),
gaps AS (
  SELECT scope, unit, ts - covered_to AS gap_ns,
         CASE WHEN l_ts > covered_to THEN 'host_wait'
              WHEN ts - covered_to < COALESCE(:kernel_wait_ns, 30000) THEN 'kernel_wait'
              ELSE 'other' END AS idle_category
  FROM ordered
  WHERE ts > covered_to
),
per AS (
  SELECT scope, unit, idle_category, COUNT(*) AS gaps, SUM(gap_ns) AS idle_ns,
         SUM(SUM(gap_ns)) OVER (PARTITION BY scope, unit) AS unit_idle
  FROM gaps GROUP BY scope, unit, idle_category
)
SELECT g.scope, p.name AS device, CASE WHEN g.scope = 'stream' THEN t.name END AS stream,
       g.idle_category, g.gaps, g.idle_ns, ROUND(100.0 * g.idle_ns / NULLIF(g.unit_idle, 0), 2) AS idle_pct
FROM per g
LEFT JOIN thread t ON g.scope = 'stream' AND t.utid = g.unit
LEFT JOIN process p ON p.upid = CASE WHEN g.scope = 'stream' THEN t.upid ELSE g.unit END
ORDER BY g.scope, p.name, stream,
         CASE g.idle_category WHEN 'host_wait' THEN 0 WHEN 'kernel_wait' THEN 1 ELSE 2 END;
