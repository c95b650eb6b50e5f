-- Launch-bound or not, per device: how long the CPU takes to launch GPU work, how long the GPU then runs it, and
-- how much of the device's idle time sits between a launch and the start of what it launched.
-- (HTA get_cuda_kernel_launch_stats, summarised; the rows themselves are `kernel-launches`.)
-- GPU work = `gpu_work` (kernel, memcpy, memset; profiler artifacts left out). Its launch = `gpu_work.launch_id`: the
-- slice at the other end of its incoming flow (Kineto `ac2g` = CUPTI correlation id), else the cuda_runtime/cuda_driver
-- slice with the same `correlation` argument; work with neither counts in `unlaunched`.
-- Per launched work item (ns): cpu_dur = the launch call's dur, gpu_dur = the work's dur,
-- launch_delay = max(0, work start - launch end) (HTA's definition, clipped at 0 as HTA does).
-- short_kernels = items with gpu_dur < cpu_dur (HTA: GPU shorter than its CPU launch: the launch-bound signature);
-- runtime_outliers = cpu_dur > :runtime_cutoff_ns (default 50000 = HTA's runtime_cutoff 50 µs);
-- delay_outliers = launch_delay > :launch_delay_cutoff_ns (default 100000 = HTA's launch_delay_cutoff 100 µs).
-- p50/p90 = numpy-linear percentiles (our `percentile`).
-- Device idle (ns) = gaps in the union of the device's work intervals (as `gpu-idle`). Each gap is closed by the
-- work item that starts at its end; idle_after_launch_ns = the part of the gap after that item's launch started:
-- gap end - max(gap start, launch ts) (the launch was issued, the GPU had not started it: launch latency / queueing
-- behind dependencies), the rest of the gap is before the launch (the host had not launched yet: host-bound).
-- Gaps closed by unlaunched work count in neither part. idle_after_launch_pct = 100 * that / idle_ns.
WITH work AS (
  SELECT k.id, k.ts, k.dur, k.ts + k.dur AS end_ts, k.upid, l.ts AS l_ts, l.dur AS l_dur
  FROM gpu_work k
  LEFT JOIN slice l ON l.id = k.launch_id
  WHERE k.artifact IS NULL AND k.upid IS NOT NULL
),
ordered AS (
  SELECT *, MAX(end_ts) OVER (PARTITION BY upid ORDER BY ts, id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_to
  FROM work
),
per AS (
  SELECT upid,
         COUNT(*) AS work_items,
         COUNT(l_ts) AS launched,
         COUNT(*) - COUNT(l_ts) AS unlaunched,
         SUM(dur < l_dur) AS short_kernels,
         SUM(l_dur > COALESCE(:runtime_cutoff_ns, 50000)) AS runtime_outliers,
         SUM(MAX(0, ts - l_ts - l_dur) > COALESCE(:launch_delay_cutoff_ns, 100000)) AS delay_outliers,
         ROUND(percentile(l_dur, 50), 1) AS cpu_dur_p50, ROUND(percentile(l_dur, 90), 1) AS cpu_dur_p90, MAX(l_dur) AS cpu_dur_max,
         ROUND(percentile(CASE WHEN l_ts IS NOT NULL THEN dur END, 50), 1) AS gpu_dur_p50,
         ROUND(percentile(CASE WHEN l_ts IS NOT NULL THEN dur END, 90), 1) AS gpu_dur_p90,
         ROUND(percentile(CASE WHEN l_ts IS NOT NULL THEN MAX(0, ts - l_ts - l_dur) END, 50), 1) AS launch_delay_p50,
         ROUND(percentile(CASE WHEN l_ts IS NOT NULL THEN MAX(0, ts - l_ts - l_dur) END, 90), 1) AS launch_delay_p90,
         MAX(CASE WHEN l_ts IS NOT NULL THEN MAX(0, ts - l_ts - l_dur) END) AS launch_delay_max,
         COALESCE(SUM(CASE WHEN ts > covered_to THEN ts - covered_to END), 0) AS idle_ns,
         COALESCE(SUM(CASE WHEN ts > covered_to AND l_ts IS NOT NULL
                           THEN ts - MAX(covered_to, MIN(l_ts, ts)) END), 0) AS idle_after_launch_ns
  FROM ordered
  GROUP BY upid
)
SELECT p.name AS device, work_items, launched, unlaunched, short_kernels,
       ROUND(100.0 * short_kernels / NULLIF(launched, 0), 2) AS short_pct,
       runtime_outliers, delay_outliers,
       cpu_dur_p50, cpu_dur_p90, cpu_dur_max, gpu_dur_p50, gpu_dur_p90,
       launch_delay_p50, launch_delay_p90, launch_delay_max,
       idle_ns, idle_after_launch_ns,
       ROUND(100.0 * idle_after_launch_ns / NULLIF(idle_ns, 0), 2) AS idle_after_launch_pct
FROM per JOIN process p ON p.upid = per.upid
ORDER BY p.name;
