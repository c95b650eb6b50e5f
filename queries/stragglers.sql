-- Per ProfilerStep: the slowest rank and how far it lags behind the median rank (for several inputs, one per rank).
-- A step's duration on an input is its Kineto `ProfilerStep#N` annotation on a CPU thread (`thread_slice`; the GPU
-- copy, category `gpu_user_annotation`, left out; the longest when an input has several of that name).
-- Per step: ranks = inputs that have it; median_ns over them (numpy-linear, as `median`); the slowest input, its rank
-- (Kineto `distributedInfo.rank`) and duration (slowest_ns; ties by input); lag_ns = slowest_ns - median_ns,
-- lag_pct = 100 * lag_ns / median_ns. All times ns. `input` is the path in the tool's SQLite, the label in an
-- `export` (DuckDB: run views.sql, no `input` variable). Ordered by step number.
WITH steps AS (
  SELECT input, rank, name AS step, MAX(dur) AS dur
  FROM thread_slice
  WHERE SUBSTR(name, 1, 13) = 'ProfilerStep#' AND COALESCE(category, '') <> 'gpu_user_annotation'
  GROUP BY input, rank, name
),
med AS (
  SELECT step, COUNT(*) AS ranks, median(dur) AS median_ns
  FROM steps
  GROUP BY step
),
slowest AS (
  SELECT step, input, rank, dur,
         ROW_NUMBER() OVER (PARTITION BY step ORDER BY dur DESC, input) AS k
  FROM steps
)
SELECT m.step, m.ranks, m.median_ns, s.input AS slowest_input, s.rank AS slowest_rank, s.dur AS slowest_ns,
       s.dur - m.median_ns AS lag_ns, ROUND(100.0 * (s.dur - m.median_ns) / NULLIF(m.median_ns, 0), 2) AS lag_pct
FROM med m
JOIN slowest s ON s.step = m.step AND s.k = 1
ORDER BY LENGTH(m.step), m.step;
