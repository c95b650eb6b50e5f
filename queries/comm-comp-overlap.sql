-- How much of each device's communication is hidden behind computation (HTA get_comm_comp_overlap).
-- GPU work = `gpu_work` (profiler artifacts left out); kernel types as in `kernel-type-breakdown` (HTA's
-- get_kernel_type: communication = name matches `nccl*Kernel*`; computation = not communication, memory, nor a
-- name containing Memcpy or Sync).
-- comm_ns = union of the device's communication intervals, comp_ns = union of its computation intervals (any
-- stream), overlap_ns = length of their intersection = comm_ns + comp_ns - union(both) (ns).
-- overlap_pct = 100 * overlap_ns / comm_ns (HTA comp_comm_overlap_pctg: the share of communication time during
-- which some compute kernel runs); NULL on a device without communication.
WITH work AS (
  SELECT id, ts, ts + dur AS end_ts, upid,
         CASE WHEN name GLOB 'nccl*Kernel*' THEN 'communication'
              WHEN kind IN ('memcpy', 'memset') OR name GLOB 'Memcpy*' OR name GLOB 'Memset*' OR name GLOB 'dma*'
                THEN 'memory'
              WHEN name GLOB '*Memcpy*' OR name GLOB '*Sync*' THEN 'other'
              ELSE 'computation' END AS kernel_type
  FROM gpu_work
  WHERE artifact IS NULL AND upid IS NOT NULL
),
cc AS (
  SELECT * FROM work WHERE kernel_type IN ('communication', 'computation')
),
sets AS (
  SELECT upid, kernel_type AS s, id, ts, end_ts FROM cc
  UNION ALL
  SELECT upid, 'both', id, ts, end_ts FROM cc
),
ordered AS (
  SELECT upid, s, ts, end_ts,
         MAX(end_ts) OVER (PARTITION BY upid, s ORDER BY ts, id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM sets
),
u AS (
  SELECT upid, s, COUNT(*) AS n, SUM(MAX(0, end_ts - MAX(ts, COALESCE(covered_to, ts)))) AS t
  FROM ordered GROUP BY upid, s
),
per AS (
  SELECT upid,
         COALESCE(SUM(CASE s WHEN 'communication' THEN n END), 0) AS comm_kernels,
         COALESCE(SUM(CASE s WHEN 'communication' THEN t END), 0) AS comm_ns,
         COALESCE(SUM(CASE s WHEN 'computation' THEN n END), 0) AS comp_kernels,
         COALESCE(SUM(CASE s WHEN 'computation' THEN t END), 0) AS comp_ns,
         COALESCE(SUM(CASE s WHEN 'both' THEN t END), 0) AS both_ns
  FROM u GROUP BY upid
)
SELECT p.name AS device, comm_kernels, comm_ns, comp_kernels, comp_ns,
       comm_ns + comp_ns - both_ns AS overlap_ns,
       ROUND(100.0 * (comm_ns + comp_ns - both_ns) / NULLIF(comm_ns, 0), 2) AS overlap_pct
FROM per JOIN process p ON p.upid = per.upid
ORDER BY p.name;
