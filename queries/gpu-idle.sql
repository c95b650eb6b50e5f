-- GPU idle time per device and per stream, with the largest gaps and the kernels on either side.
-- Busy = the union of the intervals of GPU work (`gpu_work`: kernels, memcpy, memset in any category spelling;
-- profiler artifacts left out) on streams:
-- device = process (e.g. `GPU 0`), stream = thread (e.g. `stream 7`). Overlapping work counts once; streams are
-- never summed. Denominator: span = first start .. last end of that device's (or stream's) own work.
-- idle_ns = span_ns - busy_ns = the sum of the gaps in the union; idle_pct = 100 * idle_ns / span_ns.
-- One row per (scope, device, stream, gap_rank) for the :top largest gaps (default 3); a unit without gaps has one
-- row with NULL gap columns. Gap columns: gap_ts (ns, start of the gap), gap_ns, kernel_before (the work that ended
-- last before the gap), kernel_after (the work that starts the gap's end). All times ns.
-- Kernel names are looked up by id at the end, so the sorts carry only numbers.
WITH work AS (
  SELECT id, ts, ts + dur AS end_ts, upid, utid
  FROM gpu_work
  WHERE utid IS NOT NULL AND artifact IS NULL
),
units AS (
  SELECT 'device' AS scope, upid AS unit, id, ts, end_ts FROM work
  UNION ALL
  SELECT 'stream', utid, id, ts, end_ts FROM work
),
ordered AS (
  SELECT *, MAX(end_ts) OVER (PARTITION BY scope, unit ORDER BY ts, id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM units
),
gaps AS (
  SELECT scope, unit, covered_to AS gap_ts, ts - covered_to AS gap_ns, id AS after_id,
         ROW_NUMBER() OVER (PARTITION BY scope, unit ORDER BY ts - covered_to DESC, ts) AS gap_rank
  FROM ordered
  WHERE ts > covered_to AND COALESCE(:top, 3) > 0
),
summary AS (
  SELECT scope, unit, COUNT(*) AS kernels,
         MAX(end_ts) - MIN(ts) AS span_ns,
         COALESCE(SUM(CASE WHEN ts > covered_to THEN ts - covered_to END), 0) AS idle_ns
  FROM ordered
  GROUP BY scope, unit
),
named AS (
  SELECT s.*, p.name AS device, CASE WHEN s.scope = 'stream' THEN t.name END AS stream
  FROM summary s
  LEFT JOIN thread t ON s.scope = 'stream' AND t.utid = s.unit
  LEFT JOIN process p ON p.upid = CASE WHEN s.scope = 'stream' THEN t.upid ELSE s.unit END
)
SELECT s.scope, s.device, s.stream, s.kernels, s.span_ns, s.span_ns - s.idle_ns AS busy_ns, s.idle_ns,
       ROUND(100.0 * s.idle_ns / NULLIF(s.span_ns, 0), 2) AS idle_pct,
       g.gap_rank, g.gap_ts, g.gap_ns,
       (SELECT w.name FROM gpu_work w WHERE w.id =
          (SELECT o.id FROM ordered o
            WHERE o.scope = g.scope AND o.unit = g.unit AND o.end_ts = g.gap_ts AND o.ts < g.gap_ts
            ORDER BY o.ts DESC, o.id DESC LIMIT 1)) AS kernel_before,
       (SELECT w.name FROM gpu_work w WHERE w.id = g.after_id) AS kernel_after
FROM named s
LEFT JOIN gaps g ON g.scope = s.scope AND g.unit = s.unit AND g.gap_rank <= COALESCE(:top, 3)
ORDER BY s.scope, s.device, s.stream, g.gap_rank;
