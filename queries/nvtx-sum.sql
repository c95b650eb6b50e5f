-- Annotated ranges, shaped like `nsys stats --report nvtx_sum`: one row per (category, range name).
-- Over slices of Kineto's annotation categories: `user_annotation` (record_function / ProfilerStep ranges on the
-- host, the NVTX-like ranges of a PyTorch profile) and `gpu_user_annotation` (the same ranges projected onto the
-- GPU stream's timeline), any case.
-- Columns as nsys: Time (%) = share of the total time of that category (so the host and GPU rows each sum to 100);
-- Total Time (ns), Instances, Avg, Med (median, numpy-linear), Min, Max, StdDev (sample, n-1; 0 for one) — all ns;
-- Category (where nsys prints Style: a Kineto trace has no push/pop vs start/end distinction); Range.
-- Ranges nest, so totals of nested ranges overlap. Largest total first within each category.
WITH c AS (
  SELECT lower(category) AS cat, name, dur FROM slice
  WHERE lower(category) IN ('user_annotation', 'gpu_user_annotation')
),
k AS (
  SELECT cat, name, dur, AVG(dur) OVER (PARTITION BY cat, name) AS mean,
         ROW_NUMBER() OVER (PARTITION BY cat, name ORDER BY dur) - 1 AS i,
         COUNT(*) OVER (PARTITION BY cat, name) AS cnt
  FROM c
),
per AS (
  SELECT cat, name, SUM(dur) AS total, COUNT(*) AS n, AVG(dur) AS avg,
         AVG(CASE WHEN i IN ((cnt - 1) / 2, cnt / 2) THEN dur END) AS med,
         MIN(dur) AS min, MAX(dur) AS max,
         CASE WHEN COUNT(*) > 1 THEN sqrt(SUM((dur - mean) * (dur - mean)) / (COUNT(*) - 1)) ELSE 0.0 END AS sd
  FROM k GROUP BY cat, name
)
SELECT ROUND(100.0 * total / NULLIF(SUM(total) OVER (PARTITION BY cat), 0), 1) AS "Time (%)",
       total AS "Total Time (ns)", n AS "Instances", ROUND(avg, 1) AS "Avg (ns)", ROUND(med, 1) AS "Med (ns)",
       min AS "Min (ns)", max AS "Max (ns)", ROUND(sd, 1) AS "StdDev (ns)", cat AS "Category", name AS "Range"
FROM per
ORDER BY cat DESC, total DESC, name;
