//! `DIR/views.sql`: DuckDB statements that make an export directory look
//! like the tool's SQLite database, so the bundled queries run there.
//!
//! - One view per table over `read_parquet('DIR/<table>/*/*.parquet',
//!   hive_partitioning = true, union_by_name = true)` (`union_by_name`:
//!   `iteration` has one column per field the input had, so its files differ).
//!   `input` (the partition) is read as text (`hive_types`), never guessed as
//!   a number or date.
//! - Each view keeps only the rows of the input named by the DuckDB variable
//!   `input` when it is set (`SET VARIABLE input = 'rank-0';`), so a
//!   single-input query (every bundled query but the cross-input ones) runs
//!   unchanged, per input; unset, the views hold every input.
//! - The views of [`crate::sql::schema::views`] (`thread_slice`, ...), with
//!   every join also on `input` (ids are unique per input only).
//! - SQLite's semantics where DuckDB differs and the bundled queries rely on
//!   it: `/` on two integers divides integers (`integer_division`), NULLs
//!   sort first ascending and last descending (`default_null_order`).
//! - `percentile(x, p)` (p in 0..100) and `median(x)` as macros that compute
//!   numpy's linear interpolation with the same floating-point operations as
//!   ours ([`crate::percentile::percentile_sorted`]): DuckDB's `quantile_cont`
//!   interpolates too but rounds differently in the last bit (388.99999999999994
//!   where ours gives 389).

use std::path::Path;

use crate::sql::schema;

/// Quotes `s` as an SQL string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The views of the SQLite schema with their joins also on `input`.
/// Panics when a view's join is not one this knows how to extend (a unit
/// test runs it, so a new view cannot silently join across inputs).
pub fn partitioned_views() -> String {
    let mut v = schema::views();
    let rewrites: &[(&str, &str)] = &[
        (
            "ON s.track_id = tt.id",
            "ON s.track_id = tt.id AND s.input = tt.input",
        ),
        (
            "ON s.track_id = pt.id",
            "ON s.track_id = pt.id AND s.input = pt.input",
        ),
        (
            "JOIN thread t USING (utid)",
            "JOIN thread t ON t.utid = tt.utid AND t.input = s.input",
        ),
        (
            "LEFT JOIN process p USING (upid)",
            "LEFT JOIN process p ON p.upid = t.upid AND p.input = s.input",
        ),
        (
            "JOIN process p USING (upid)",
            "JOIN process p ON p.upid = pt.upid AND p.input = s.input",
        ),
        // The input of a slice is the slice's own (a thread may lack a process).
        ("p.input, p.rank", "s.input, p.rank"),
        // client_stat_value: the per-request values joined back on id.
        ("SELECT id, ", "SELECT input, id, "),
        (
            "SELECT m.client_request_id, ",
            "SELECT m.input, m.client_request_id, ",
        ),
        ("ON s.id = r.id", "ON s.id = r.id AND s.input = r.input"),
    ];
    for (from, to) in rewrites {
        assert!(v.contains(from), "schema views no longer contain `{from}`");
        v = v.replace(from, to);
    }
    // Every join of the result names `input`.
    for part in v.split("JOIN").skip(1) {
        let head: String = part.chars().take(400).collect();
        let cond = head
            .find(" ON ")
            .or_else(|| head.find(" USING "))
            .map(|i| &head[i..])
            .unwrap_or(&head);
        let cond = cond.split('\n').next().unwrap_or("");
        assert!(
            cond.contains("input") || head.trim_start().starts_with('('),
            "a view joins without `input`: JOIN{head}"
        );
    }
    v
}

/// The text of `views.sql` for the export directory `dir` (absolute) and
/// the tables named `tables`.
pub fn views_sql(dir: &Path, tables: &[&str]) -> String {
    let dir = dir.to_string_lossy();
    let mut s = String::new();
    s.push_str(&format!(
        "-- DuckDB views over the Parquet export in {dir}, written by breakdown-trace {}.\n\
         -- Run it first in a DuckDB session (`duckdb -init {dir}/views.sql`, or `.read`), then the\n\
         -- bundled queries. `SET VARIABLE input = '<label>';` limits every view to one input\n\
         -- (the single-input queries need it); `RESET VARIABLE input;` shows all of them again.\n\
         -- Moved the directory? Replace the paths below (they are absolute).\n",
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str(
        "SET integer_division = true; -- SQLite: integer / integer is an integer\n\
         SET default_null_order = 'nulls_first_on_asc_last_on_desc'; -- SQLite's NULL order\n\
         -- numpy-linear percentiles with the same floating-point operations as ours (src/percentile.rs):\n\
         -- h = (n - 1) * p / 100 over the sorted non-NULL values; x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).\n\
         CREATE OR REPLACE MACRO bt_percentile_at(l, h) AS\n  \
           CAST(l[CAST(floor(h) AS BIGINT) + 1] AS DOUBLE) + (h - floor(h)) *\n  \
           (CAST(l[least(CAST(floor(h) AS BIGINT) + 2, len(l))] AS DOUBLE) - CAST(l[CAST(floor(h) AS BIGINT) + 1] AS DOUBLE));\n\
         CREATE OR REPLACE MACRO bt_percentile(l, p) AS CASE WHEN len(l) = 0 OR p < 0 OR p > 100 THEN NULL\n  \
           ELSE bt_percentile_at(l, CAST(len(l) - 1 AS DOUBLE) * CAST(p AS DOUBLE) / CAST(100 AS DOUBLE)) END;\n\
         CREATE OR REPLACE MACRO percentile(x, p) AS bt_percentile(list_sort(list(x) FILTER (WHERE x IS NOT NULL)), p);\n\
         CREATE OR REPLACE MACRO median(x) AS bt_percentile(list_sort(list(x) FILTER (WHERE x IS NOT NULL)), 50);\n",
    );
    for t in tables {
        let glob = literal(&format!("{dir}/{t}/*/*.parquet"));
        s.push_str(&format!(
            "CREATE OR REPLACE VIEW {t} AS SELECT * FROM read_parquet({glob}, hive_partitioning = true, \
             union_by_name = true, hive_types = {{'input': VARCHAR}})\n  \
             WHERE getvariable('input') IS NULL OR input = getvariable('input');\n"
        ));
    }
    s.push_str(&partitioned_views().replace("CREATE VIEW ", "CREATE OR REPLACE VIEW "));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_joins_on_input() {
        let v = partitioned_views();
        assert!(v.contains("t.input = s.input"));
        assert!(!v.contains("USING"));
        assert!(v.contains("s.input = r.input"));
    }

    #[test]
    fn quotes_paths() {
        let s = views_sql(Path::new("/tmp/it's"), &["slice"]);
        assert!(
            s.contains("read_parquet('/tmp/it''s/slice/*/*.parquet'"),
            "{s}"
        );
    }
}
