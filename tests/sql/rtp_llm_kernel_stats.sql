-- The RTP-LLM profiling doc's kernel latency query (docs/references/profiling.md), kept in the doc's form to
-- check that Perfetto SQL written for trace processor runs unchanged and agrees with `query kernel-stats`.
SELECT
    ROUND(AVG(dur) / 1000, 2) AS avg_us,
    MAX(dur) / 1000 AS max_us,
    MIN(dur) / 1000 AS min_us,
    ROUND(SUM(dur) / 1000.0 / 1000, 2) AS sum_ms,
    ROUND(SUM(dur) * 100.0 / (SELECT SUM(dur) FROM slice WHERE (category = 'kernel' OR category = 'gpu_memcpy')), 1) AS percent,
    COUNT(name) AS count,
    name
FROM
    (SELECT * FROM slice)
WHERE
    (category = 'kernel' OR category = 'gpu_memcpy')
GROUP BY
    name
ORDER BY
    SUM(dur) DESC;
