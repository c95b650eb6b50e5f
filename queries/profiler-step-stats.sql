-- Per iteration and device: GPU busy / idle, work items and the top kernel, slowest iterations first
-- (HTA's iterations, as in its straggler and per-iteration analyses).
-- Iteration = a slice named `ProfilerStep#N` (PyTorch profiler's step annotation, category user_annotation; the
-- GPU-side copies in gpu_user_annotation are not counted twice). step = N, ts, dur_ns = the annotation's span (ns).
-- GPU work (`gpu_work`, profiler artifacts left out) belongs to the iteration during which its launch started
-- (HTA: an event is in ProfilerStep s when s.ts <= ts < s.ts + s.dur, GPU work by its correlated runtime call);
-- launch = `gpu_work.launch_id` (its incoming Kineto `ac2g` flow's other end, else the runtime call of the same
-- `correlation`); work without one goes by its own start.
-- Work launched outside every iteration is left out. Iterations are taken not to overlap (the latest started wins).
-- Per (step, device): work_items, gpu_span_ns = first start .. last end of its work, gpu_busy_ns = union of the
-- work's intervals, gpu_idle_ns = span - busy, busy_pct = 100 * busy / span, top_kernel = the name with the most
-- summed GPU time (ties: by name) and top_kernel_ns its time; slowest = rank by dur_ns (1 = slowest).
-- An iteration without GPU work has one row with NULL device. Ordered by dur_ns, largest first, then step.
-- For iterations delimited by your own annotations, copy this query and change the name pattern.
WITH steps AS (
  SELECT id AS step_id, ts, ts + dur AS end_ts, dur, name,
         CAST(substr(name, instr(name, '#') + 1) AS INTEGER) AS step
  FROM slice
  WHERE name GLOB 'ProfilerStep#*' AND category IS NOT 'gpu_user_annotation'
),
work AS (
  SELECT k.id, k.ts, k.dur, k.ts + k.dur AS end_ts, k.upid, k.name, COALESCE(l.ts, k.ts) AS at
  FROM gpu_work k
  LEFT JOIN slice l ON l.id = k.launch_id
  WHERE k.artifact IS NULL
),
ev AS (
  SELECT ts AS at, step_id, NULL AS id FROM steps
  UNION ALL
  SELECT at, NULL, id FROM work
),
last_step AS (
  SELECT id, MAX(step_id) OVER (ORDER BY at, step_id IS NULL ROWS UNBOUNDED PRECEDING) AS step_id
  FROM ev
),
assigned AS (
  SELECT w.*, s.step_id
  FROM last_step a JOIN work w ON w.id = a.id JOIN steps s ON s.step_id = a.step_id
  WHERE a.id IS NOT NULL AND w.at < s.end_ts
),
ordered AS (
  SELECT *, MAX(end_ts) OVER (PARTITION BY step_id, upid ORDER BY ts, id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM assigned
),
per AS (
  SELECT step_id, upid, COUNT(*) AS work_items, MAX(end_ts) - MIN(ts) AS span_ns,
         SUM(MAX(0, end_ts - MAX(ts, COALESCE(covered_to, ts)))) AS busy_ns
  FROM ordered GROUP BY step_id, upid
),
top AS (
  SELECT step_id, upid, name, SUM(dur) AS t,
         ROW_NUMBER() OVER (PARTITION BY step_id, upid ORDER BY SUM(dur) DESC, name) AS r
  FROM assigned GROUP BY step_id, upid, name
)
SELECT s.step, s.name, s.ts, s.dur AS dur_ns, p.name AS device, per.work_items,
       per.span_ns AS gpu_span_ns, per.busy_ns AS gpu_busy_ns, per.span_ns - per.busy_ns AS gpu_idle_ns,
       ROUND(100.0 * per.busy_ns / NULLIF(per.span_ns, 0), 2) AS busy_pct,
       top.name AS top_kernel, top.t AS top_kernel_ns,
       DENSE_RANK() OVER (ORDER BY s.dur DESC) AS slowest
FROM steps s
LEFT JOIN per ON per.step_id = s.step_id
LEFT JOIN process p ON p.upid = per.upid
LEFT JOIN top ON top.step_id = per.step_id AND top.upid = per.upid AND top.r = 1
ORDER BY s.dur DESC, s.step, p.name;
