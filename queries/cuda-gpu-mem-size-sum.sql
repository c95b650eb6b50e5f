-- GPU memory operations by size, shaped like `nsys stats --report cuda_gpu_mem_size_sum`: one row per operation.
-- Over memory copies and memsets (`gpu_work` kind 'memcpy'/'memset'; profiler artifacts left out), operations as in
-- `cuda-gpu-mem-time-sum`. Size = the slice's `bytes` argument (Kineto's memcpy/memset args; `debug.bytes` or
-- `args.bytes`). Operations without it are left out of the sizes and counted in the last column.
-- Columns as nsys: Total (MB), Count, Avg (MB), Med (MB, numpy-linear median), Min (MB), Max (MB), StdDev (MB,
-- sample, n-1; 0 for one) — MB = 10^6 bytes, as nsys; Operation; then ours: Without Size (count of operations of
-- that kind with no `bytes`; their Count is not in Count). Largest total first.
WITH m AS (
  SELECT w.id,
         CASE WHEN w.kind = 'memset' THEN '[CUDA memset]'
              WHEN w.name GLOB 'Memcpy HtoD*' THEN '[CUDA memcpy Host-to-Device]'
              WHEN w.name GLOB 'Memcpy DtoH*' THEN '[CUDA memcpy Device-to-Host]'
              WHEN w.name GLOB 'Memcpy DtoD*' THEN '[CUDA memcpy Device-to-Device]'
              WHEN w.name GLOB 'Memcpy HtoH*' THEN '[CUDA memcpy Host-to-Host]'
              WHEN w.name GLOB 'Memcpy PtoP*' THEN '[CUDA memcpy Peer-to-Peer]'
              ELSE w.name END AS op,
         (SELECT COALESCE(a.int_value, a.real_value) FROM slice s JOIN args a ON a.arg_set_id = s.arg_set_id
          WHERE s.id = w.id AND a.key IN ('debug.bytes', 'args.bytes') LIMIT 1) / 1e6 AS mb
  FROM gpu_work w WHERE w.kind IN ('memcpy', 'memset') AND w.artifact IS NULL
),
k AS (
  SELECT op, mb, AVG(mb) OVER (PARTITION BY op) AS mean,
         ROW_NUMBER() OVER (PARTITION BY op ORDER BY mb) - 1 AS i,
         COUNT(*) OVER (PARTITION BY op) AS cnt
  FROM m WHERE mb IS NOT NULL
),
per AS (
  SELECT op, SUM(mb) AS total, COUNT(*) AS n, AVG(mb) AS avg,
         AVG(CASE WHEN i IN ((cnt - 1) / 2, cnt / 2) THEN mb END) AS med,
         MIN(mb) AS min, MAX(mb) AS max,
         CASE WHEN COUNT(*) > 1 THEN sqrt(SUM((mb - mean) * (mb - mean)) / (COUNT(*) - 1)) ELSE 0.0 END AS sd
  FROM k GROUP BY op
),
missing AS (SELECT op, COUNT(*) AS n FROM m WHERE mb IS NULL GROUP BY op),
ops AS (SELECT op FROM per UNION SELECT op FROM missing)
SELECT ROUND(per.total, 6) AS "Total (MB)", COALESCE(per.n, 0) AS "Count", ROUND(per.avg, 6) AS "Avg (MB)",
       ROUND(per.med, 6) AS "Med (MB)", ROUND(per.min, 6) AS "Min (MB)", ROUND(per.max, 6) AS "Max (MB)",
       ROUND(per.sd, 6) AS "StdDev (MB)", ops.op AS "Operation", COALESCE(missing.n, 0) AS "Without Size"
FROM ops LEFT JOIN per ON per.op = ops.op LEFT JOIN missing ON missing.op = ops.op
ORDER BY per.total DESC NULLS LAST, ops.op;
