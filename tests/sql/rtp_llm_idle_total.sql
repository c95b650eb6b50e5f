SELECT SUM(diff)
FROM (
    WITH cte AS (
        SELECT
            name,
            ts,
            dur,
            ROW_NUMBER() OVER (ORDER BY ts) AS seqnum
        FROM slice
        WHERE (category = 'kernel' OR category = 'gpu_memcpy')
    )
    SELECT
        slice.name,
        slice.ts - COALESCE(tprev.ts, 0) - tprev.dur AS diff
    FROM cte slice
    LEFT OUTER JOIN cte tprev
    ON slice.seqnum = tprev.seqnum + 1
)
