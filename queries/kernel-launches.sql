-- Every piece of GPU work with the CPU call that launched it (one row per kernel; HTA get_cuda_kernel_launch_stats rows).
-- Launch = `gpu_work.launch_id`: the slice at the other end of the work's incoming flow (Kineto `ac2g` flow = CUPTI
-- correlation id; the runtime/driver call, e.g. cudaLaunchKernel, cuLaunchKernel, cudaMemcpyAsync, cudaGraphLaunch);
-- for work without a flow, the first cuda_runtime/cuda_driver slice with the same `correlation` argument (traces
-- written without flows). Work with neither is left out (`kernel-launch-stats`
-- counts it as unlaunched).
-- GPU work = `gpu_work` (kernel, memcpy, memset; profiler artifacts left out).
-- Columns (all ns): kernel_id, device, stream, name, launch (the call's name), launch_ts, cpu_dur (the call's dur,
-- HTA cpu_duration), gpu_dur (the work's dur, HTA gpu_duration), launch_delay = max(0, kernel start - launch end)
-- (HTA launch_delay: clipped at 0 as HTA does), launch_to_start = kernel start - launch start,
-- short_kernel = 1 when gpu_dur < cpu_dur (HTA: "GPU events with a shorter duration than the corresponding CPU
-- events", the launch-bound signature). Ordered by kernel start.
SELECT k.id AS kernel_id, k.device, k.stream, k.name, l.name AS launch, l.ts AS launch_ts,
       l.dur AS cpu_dur, k.dur AS gpu_dur,
       MAX(0, k.ts - (l.ts + l.dur)) AS launch_delay,
       k.ts - l.ts AS launch_to_start,
       k.dur < l.dur AS short_kernel
FROM gpu_work k
JOIN slice l ON l.id = k.launch_id
WHERE k.artifact IS NULL
ORDER BY k.ts, k.id;
