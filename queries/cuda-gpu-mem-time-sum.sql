-- GPU memory operations by time, shaped like `nsys stats --report cuda_gpu_mem_time_sum`: one row per operation.
-- Over memory copies and memsets (`gpu_work` kind 'memcpy'/'memset' in any category spelling; profiler artifacts
-- left out), all devices and streams.
-- Operation: nsys's names, from the Kineto name's copy kind: `Memcpy HtoD ...` -> [CUDA memcpy Host-to-Device],
-- DtoH -> Device-to-Host, DtoD -> Device-to-Device, HtoH -> Host-to-Host, PtoP -> Peer-to-Peer, any memset ->
-- [CUDA memset]; other names are kept as they are.
-- Columns as nsys: Time (%) = share of the total memory-operation time; Total Time, Count, Avg, Med (median,
-- numpy-linear), Min, Max, StdDev (sample, n-1; 0 for one operation) — all ns; Operation. Largest total first.
WITH m AS (
  SELECT dur,
         CASE WHEN kind = 'memset' THEN '[CUDA memset]'
              WHEN name GLOB 'Memcpy HtoD*' THEN '[CUDA memcpy Host-to-Device]'
              WHEN name GLOB 'Memcpy DtoH*' THEN '[CUDA memcpy Device-to-Host]'
              WHEN name GLOB 'Memcpy DtoD*' THEN '[CUDA memcpy Device-to-Device]'
              WHEN name GLOB 'Memcpy HtoH*' THEN '[CUDA memcpy Host-to-Host]'
              WHEN name GLOB 'Memcpy PtoP*' THEN '[CUDA memcpy Peer-to-Peer]'
              ELSE name END AS op
  FROM gpu_work WHERE kind IN ('memcpy', 'memset') AND artifact IS NULL
),
k AS (
  SELECT op, dur, AVG(dur) OVER (PARTITION BY op) AS mean,
         ROW_NUMBER() OVER (PARTITION BY op ORDER BY dur) - 1 AS i,
         COUNT(*) OVER (PARTITION BY op) AS cnt
  FROM m
),
per AS (
  SELECT op, SUM(dur) AS total, COUNT(*) AS n, AVG(dur) AS avg,
         AVG(CASE WHEN i IN ((cnt - 1) / 2, cnt / 2) THEN dur END) AS med,
         MIN(dur) AS min, MAX(dur) AS max,
         CASE WHEN COUNT(*) > 1 THEN sqrt(SUM((dur - mean) * (dur - mean)) / (COUNT(*) - 1)) ELSE 0.0 END AS sd
  FROM k GROUP BY op
)
SELECT ROUND(100.0 * total / NULLIF((SELECT SUM(total) FROM per), 0), 1) AS "Time (%)",
       total AS "Total Time (ns)", n AS "Count", ROUND(avg, 1) AS "Avg (ns)", ROUND(med, 1) AS "Med (ns)",
       min AS "Min (ns)", max AS "Max (ns)", ROUND(sd, 1) AS "StdDev (ns)", op AS "Operation"
FROM per
ORDER BY total DESC, op;
