-- The RTP-LLM profiling doc's "empty time slots" query: a ROW_NUMBER() sequence joined to itself
-- (O(n^2) in SQLite); must agree with `query idle-gaps`.
WITH cte AS (
    SELECT name, ts, dur,
           ROW_NUMBER() OVER (ORDER BY ts) AS seqnum
    FROM slice
    WHERE (category = 'kernel' OR category = 'gpu_memcpy')
)
SELECT slice.ts, slice.name, tprev.name,
       slice.ts - COALESCE(tprev.ts, 0) - tprev.dur AS diff
FROM cte slice
LEFT OUTER JOIN cte tprev
ON slice.seqnum = tprev.seqnum + 1
ORDER BY diff DESC
