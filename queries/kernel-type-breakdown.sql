-- GPU time by kind of work per device: computation, communication (NCCL/RCCL), memory, other, and idle, in ns and %
-- of the device's span (HTA kernel-type breakdown and temporal breakdown).
-- GPU work = `gpu_work` (kernel, memcpy, memset; profiler artifacts left out); device = process (e.g. `GPU 0`).
-- kernel_type, HTA's get_kernel_type() on the name, first match wins:
--   communication: name matches `nccl*Kernel*` (NCCL, and RCCL, whose kernels keep the nccl prefix);
--   memory: name starts with Memcpy, Memset or dma (HTA), or the work is a memcpy/memset by category (ours: also
--     catches copies named otherwise);
--   other: name contains Memcpy or Sync (HTA: neither compute nor memory);
--   computation: everything else.
-- time_ns of a type = the union of its intervals on the device (overlapping work of one type counts once; types
-- may overlap each other, so the type rows do not sum to busy: see `comm-comp-overlap`).
-- busy = union of all work; idle = span - busy; span = first start .. last end of the device's work (HTA
-- kernel_time). non_compute = span - computation - idle (HTA non_compute_time). pct = 100 * time_ns / span_ns.
-- One row per (device, kernel_type) with work, plus busy, idle and non_compute rows; work_items = count (NULL on
-- the derived rows).
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
by_type AS (
  SELECT upid, kernel_type, ts, end_ts,
         MAX(end_ts) OVER (PARTITION BY upid, kernel_type ORDER BY ts, id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM work
),
type_time AS (
  SELECT upid, kernel_type, COUNT(*) AS work_items,
         SUM(MAX(0, end_ts - MAX(ts, COALESCE(covered_to, ts)))) AS time_ns
  FROM by_type GROUP BY upid, kernel_type
),
all_work AS (
  SELECT upid, ts, end_ts,
         MAX(end_ts) OVER (PARTITION BY upid ORDER BY ts, id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM work
),
device AS (
  SELECT upid, MAX(end_ts) - MIN(ts) AS span_ns,
         SUM(MAX(0, end_ts - MAX(ts, COALESCE(covered_to, ts)))) AS busy_ns
  FROM all_work GROUP BY upid
),
rows AS (
  SELECT upid, kernel_type, work_items, time_ns FROM type_time
  UNION ALL SELECT upid, 'busy', NULL, busy_ns FROM device
  UNION ALL SELECT upid, 'idle', NULL, span_ns - busy_ns FROM device
  UNION ALL SELECT d.upid, 'non_compute', NULL,
                   d.busy_ns - COALESCE((SELECT t.time_ns FROM type_time t
                                         WHERE t.upid = d.upid AND t.kernel_type = 'computation'), 0)
            FROM device d
)
SELECT p.name AS device, r.kernel_type, r.work_items, r.time_ns, d.span_ns,
       ROUND(100.0 * r.time_ns / NULLIF(d.span_ns, 0), 2) AS pct
FROM rows r JOIN device d ON d.upid = r.upid JOIN process p ON p.upid = r.upid
ORDER BY p.name,
         CASE r.kernel_type WHEN 'computation' THEN 0 WHEN 'communication' THEN 1 WHEN 'memory' THEN 2
                            WHEN 'other' THEN 3 WHEN 'busy' THEN 4 WHEN 'idle' THEN 5 ELSE 6 END;
