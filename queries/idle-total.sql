-- Sum of all gaps between consecutive kernels (the RTP-LLM profiling doc's third query, same value, O(n log n)).
-- The sum of `idle-gaps`.diff over kernels and memory copies (`gpu_work`, artifacts left out), all streams merged, in ns.
-- Overlapping kernels on different streams contribute negative diffs, so this is NOT the GPU's idle time
-- when more than one stream is busy; `gpu-idle` gives idle time per device and per stream.
-- Column: total_diff_ns (ns; NULL when there are fewer than two kernels).
SELECT SUM(ts - COALESCE(prev_ts, 0) - prev_dur) AS total_diff_ns
FROM (
  SELECT ts,
         LAG(ts) OVER (ORDER BY ts, id) AS prev_ts,
         LAG(dur) OVER (ORDER BY ts, id) AS prev_dur
  FROM gpu_work WHERE kind IN ('kernel', 'memcpy') AND artifact IS NULL
);
