-- GPU kernel summary shaped like `nsys stats --report cuda_gpu_kern_sum`: one row per kernel name.
-- Over kernels (`gpu_work` kind 'kernel': category 'kernel' in any spelling; memcpy/memset excluded, as in nsys;
-- profiler artifacts left out), all devices and streams.
-- Columns: Time (%) = share of the total kernel time; Total Time, Avg, Med (median, numpy-linear), Min, Max,
-- StdDev (sample standard deviation, n-1; 0 for one instance) — all ns; Instances; Name.
-- Ordered by total time, largest first (ties by name).
-- Plain SQLite (no extension functions): the median is the middle value, or the mean of the two middle values.
WITH k AS (
  SELECT name, dur, AVG(dur) OVER (PARTITION BY name) AS mean,
         ROW_NUMBER() OVER (PARTITION BY name ORDER BY dur) - 1 AS i,
         COUNT(*) OVER (PARTITION BY name) AS cnt
  FROM gpu_work WHERE kind = 'kernel' AND artifact IS NULL
),
per AS (
  SELECT name, SUM(dur) AS total, COUNT(*) AS n, AVG(dur) AS avg,
         AVG(CASE WHEN i IN ((cnt - 1) / 2, cnt / 2) THEN dur END) AS med,
         MIN(dur) AS min, MAX(dur) AS max,
         CASE WHEN COUNT(*) > 1 THEN sqrt(SUM((dur - mean) * (dur - mean)) / (COUNT(*) - 1)) ELSE 0.0 END AS sd
  FROM k
  GROUP BY name
)
SELECT ROUND(100.0 * total / (SELECT SUM(total) FROM per), 1) AS "Time (%)",
       total AS "Total Time (ns)",
       n AS "Instances",
       ROUND(avg, 1) AS "Avg (ns)",
       ROUND(med, 1) AS "Med (ns)",
       min AS "Min (ns)",
       max AS "Max (ns)",
       ROUND(sd, 1) AS "StdDev (ns)",
       name AS "Name"
FROM per
ORDER BY total DESC, name;
