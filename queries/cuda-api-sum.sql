-- CUDA API calls on the host, shaped like `nsys stats --report cuda_api_sum`: one row per call name.
-- Over slices of Kineto's categories `cuda_runtime` and `cuda_driver` (any case), every thread.
-- Columns as nsys: Time (%) = share of the total API time; Total Time (ns), Num Calls, Avg, Med (median,
-- numpy-linear), Min, Max, StdDev (sample, n-1; 0 for one call) — all ns; Name. Largest total first.
WITH c AS (
  SELECT name, dur FROM slice WHERE lower(category) IN ('cuda_runtime', 'cuda_driver')
),
k AS (
  SELECT name, dur, AVG(dur) OVER (PARTITION BY name) AS mean,
         ROW_NUMBER() OVER (PARTITION BY name ORDER BY dur) - 1 AS i,
         COUNT(*) OVER (PARTITION BY name) AS cnt
  FROM c
),
per AS (
  SELECT name, SUM(dur) AS total, COUNT(*) AS n, AVG(dur) AS avg,
         AVG(CASE WHEN i IN ((cnt - 1) / 2, cnt / 2) THEN dur END) AS med,
         MIN(dur) AS min, MAX(dur) AS max,
         CASE WHEN COUNT(*) > 1 THEN sqrt(SUM((dur - mean) * (dur - mean)) / (COUNT(*) - 1)) ELSE 0.0 END AS sd
  FROM k GROUP BY name
)
SELECT ROUND(100.0 * total / NULLIF((SELECT SUM(total) FROM per), 0), 1) AS "Time (%)",
       total AS "Total Time (ns)", n AS "Num Calls", ROUND(avg, 1) AS "Avg (ns)", ROUND(med, 1) AS "Med (ns)",
       min AS "Min (ns)", max AS "Max (ns)", ROUND(sd, 1) AS "StdDev (ns)", name AS "Name"
FROM per
ORDER BY total DESC, name;
