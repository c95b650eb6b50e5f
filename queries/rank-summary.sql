-- Per input and rank: GPU busy, idle and communication time and the top kernel (for several inputs, e.g. one per rank).
-- Over `gpu_work` (kernels, memcpy, memset in any category spelling; profiler artifacts left out) of each input, all
-- its devices and streams together. span_ns = first start .. last end of the input's GPU work; busy_ns = the union of
-- its intervals (overlapping work counts once); idle_ns = span_ns - busy_ns; idle_pct = 100 * idle_ns / span_ns.
-- comm_ns = total duration of communication kernels (NCCL / RCCL: name containing `nccl` or `rccl` in any case, as
-- HTA classifies them; summed, so overlapping collectives count twice); comm_pct = 100 * comm_ns / busy_ns.
-- top_kernel = the kernel name with the largest total duration (top_kernel_ns), ties by name. All times ns.
-- `input` is the input's path in the tool's SQLite, its label in an `export` (DuckDB: run views.sql, no
-- `input` variable). `rank` is Kineto's `distributedInfo.rank` (NULL when the trace has none). Ordered by rank, input.
-- (Plan: the running end of the GPU work is one window over only the columns it needs, read straight from
-- `gpu_work`; comm_ns and top_kernel both read one aggregate of kernel time per input and name — an input has one rank.)
WITH ordered AS (
  SELECT input, rank, ts, ts + dur AS end_ts,
         MAX(ts + dur) OVER (PARTITION BY input ORDER BY ts, id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM gpu_work
  WHERE artifact IS NULL
),
per AS (
  SELECT input, rank, COUNT(*) AS gpu_work, MAX(end_ts) - MIN(ts) AS span_ns,
         COALESCE(SUM(CASE WHEN ts > covered_to THEN ts - covered_to END), 0) AS idle_ns
  FROM ordered
  GROUP BY input, rank
),
names AS (
  SELECT input, name, SUM(dur) AS total
  FROM gpu_work
  WHERE artifact IS NULL AND kind = 'kernel'
  GROUP BY input, name
),
comm AS (
  SELECT input,
         SUM(CASE WHEN LOWER(name) LIKE '%nccl%' OR LOWER(name) LIKE '%rccl%' THEN total ELSE 0 END) AS comm_ns
  FROM names
  GROUP BY input
),
kern AS (
  SELECT input, name, total, ROW_NUMBER() OVER (PARTITION BY input ORDER BY total DESC, name) AS k
  FROM names
)
SELECT p.input, p.rank, p.gpu_work, p.span_ns, p.span_ns - p.idle_ns AS busy_ns, p.idle_ns,
       ROUND(100.0 * p.idle_ns / NULLIF(p.span_ns, 0), 2) AS idle_pct,
       COALESCE(c.comm_ns, 0) AS comm_ns,
       ROUND(100.0 * COALESCE(c.comm_ns, 0) / NULLIF(p.span_ns - p.idle_ns, 0), 2) AS comm_pct,
       k.name AS top_kernel, k.total AS top_kernel_ns
FROM per p
LEFT JOIN comm c ON c.input = p.input
LEFT JOIN kern k ON k.input = p.input AND k.k = 1
ORDER BY p.rank, p.input;
