-- Every piece of GPU work with the CPU call that launched it (one row per kernel; HTA get_cuda_kernel_launch_stats rows).
-- Launch = the slice at the other end of the work's incoming flow (Kineto `ac2g` flow = CUPTI correlation id;
-- `flow.slice_in` = the kernel, `flow.slice_out` = the runtime/driver call, e.g. cudaLaunchKernel, cuLaunchKernel,
-- cudaMemcpyAsync, cudaGraphLaunch); for work without a flow, the cuda_runtime/cuda_driver slice with the same
-- `correlation` argument (traces written without flows). Work with neither is left out (`kernel-launch-stats`
-- counts it as unlaunched).
-- GPU work = `gpu_work` (kernel, memcpy, memset; profiler artifacts left out).
-- Columns (all ns): kernel_id, device, stream, name, launch (the call's name), launch_ts, cpu_dur (the call's dur,
-- HTA cpu_duration), gpu_dur (the work's dur, HTA gpu_duration), launch_delay = max(0, kernel start - launch end)
-- (HTA launch_delay: clipped at 0 as HTA does), launch_to_start = kernel start - launch start,
-- short_kernel = 1 when gpu_dur < cpu_dur (HTA: "GPU events with a shorter duration than the corresponding CPU
-- events", the launch-bound signature). Ordered by kernel start.
WITH no_flow AS MATERIALIZED (
  -- GPU work -> its launch: the Kineto `ac2g` flow; for work without one, the CUDA runtime/driver call with the
  -- same `correlation` argument (traces written without flows; HTA pairs by correlation only).
  SELECT k.id, (SELECT a.int_value FROM args a WHERE a.arg_set_id = ks.arg_set_id
                                 AND a.key = 'debug.correlation') AS corr
  FROM gpu_work k JOIN slice ks ON ks.id = k.id
  WHERE NOT EXISTS (SELECT 1 FROM flow f WHERE f.slice_in = k.id)
),
calls AS MATERIALIZED (
  SELECT s.id, (SELECT a.int_value FROM args a WHERE a.arg_set_id = s.arg_set_id
                AND a.key = 'debug.correlation') AS corr
  FROM slice s
  WHERE lower(s.category) IN ('cuda_runtime', 'cuda_driver') AND EXISTS (SELECT 1 FROM no_flow WHERE corr IS NOT NULL)
),
launch AS (
  SELECT slice_in, slice_out FROM flow
  UNION ALL
  SELECT n.id, MIN(c.id) FROM no_flow n JOIN calls c ON c.corr = n.corr GROUP BY n.id
)
SELECT k.id AS kernel_id, k.device, k.stream, k.name, l.name AS launch, l.ts AS launch_ts,
       l.dur AS cpu_dur, k.dur AS gpu_dur,
       MAX(0, k.ts - (l.ts + l.dur)) AS launch_delay,
       k.ts - l.ts AS launch_to_start,
       k.dur < l.dur AS short_kernel
FROM gpu_work k
JOIN launch f ON f.slice_in = k.id
JOIN slice l ON l.id = f.slice_out
WHERE k.artifact IS NULL
ORDER BY k.ts, k.id;
