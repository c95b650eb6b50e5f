-- Gaps between consecutive kernels in start order (the RTP-LLM profiling doc's second query, same rows, O(n log n)).
-- Over kernels and memory copies (`gpu_work`: 'kernel'/'gpu_memcpy' in any spelling; profiler artifacts left out)
-- of ALL devices and streams merged into one sequence, as the doc does:
-- diff = start of this kernel - end of the previous one, in ns; negative when they overlap (other streams);
-- NULL for the first kernel. For per-device / per-stream idle time use `gpu-idle`.
-- Columns: ts (ns), name, prev_name (the kernel before), diff (ns). Ordered by diff, largest first.
-- Uses LAG() where the doc self-joins a ROW_NUMBER() sequence (O(n^2) in SQLite and trace processor).
WITH k AS (
  SELECT ts, name,
         LAG(ts) OVER w AS prev_ts,
         LAG(dur) OVER w AS prev_dur,
         LAG(name) OVER w AS prev_name
  FROM gpu_work WHERE kind IN ('kernel', 'memcpy') AND artifact IS NULL
  WINDOW w AS (ORDER BY ts, id)
)
SELECT ts, name, prev_name, ts - COALESCE(prev_ts, 0) - prev_dur AS diff
FROM k
ORDER BY diff DESC;
