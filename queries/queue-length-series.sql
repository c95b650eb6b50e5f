-- Queue length over time per stream: GPU work launched but not yet started (HTA get_queue_length_time_series).
-- GPU work = `gpu_work` (kernel, memcpy, memset; profiler artifacts left out) that has a launch (`gpu_work.launch_id`:
-- the slice at the other end of its incoming flow, Kineto `ac2g` = CUPTI correlation id, else the runtime call with
-- the same `correlation` argument). Work without one is left out (HTA keeps only work whose runtime call it finds,
-- too).
-- HTA's definition: the queue of a stream grows by 1 at each launch's start (ts of the runtime call) and shrinks by
-- 1 when the launched work starts executing on the stream (its ts). One row per change: ts (ns), device, stream,
-- queue_length after the change (a step function: the value holds until the stream's next row). At equal ts a
-- launch is counted before a start. Ordered by device, stream, ts.
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
  SELECT utid, ts, SUM(delta) OVER (PARTITION BY utid ORDER BY ts, delta DESC, id
                                    ROWS UNBOUNDED PRECEDING) AS queue_length
  FROM ev
)
SELECT q.ts, p.name AS device, t.name AS stream, q.queue_length
FROM q JOIN thread t ON t.utid = q.utid LEFT JOIN process p ON p.upid = t.upid
ORDER BY p.name, t.name, q.ts;
