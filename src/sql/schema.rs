//! The database schema: trace processor's table and column names
//! (PERFETTO.md §1.8) plus the domain tables `request`, `request_segment`
//! and `warning`.
//!
//! Differences from trace processor, all additive or documented:
//! - `thread_track` / `process_track` also list the lane tracks the layout
//!   made under a thread or process track (same `utid` / `upid`), so slices
//!   moved to a lane still belong to their thread (stream) or process
//!   (device) in `thread_slice` / `process_slice`.
//! - `track` has the extra column `classification` = our track kind.
//! - upid 0 / utid 0 are the "unknown" rows, as in trace processor.

use crate::model::{Field, Trace};

/// Tables, created before the bulk load.
pub const TABLES: &str = r#"
CREATE TABLE process (
  id INTEGER PRIMARY KEY, upid INTEGER NOT NULL, pid INTEGER, name TEXT,
  start_ts INTEGER, end_ts INTEGER, parent_upid INTEGER, uid INTEGER,
  android_appid INTEGER, android_user_id INTEGER, cmdline TEXT,
  arg_set_id INTEGER, machine_id INTEGER
);
CREATE TABLE thread (
  id INTEGER PRIMARY KEY, utid INTEGER NOT NULL, tid INTEGER, name TEXT,
  start_ts INTEGER, end_ts INTEGER, upid INTEGER, is_main_thread INTEGER,
  is_idle INTEGER NOT NULL DEFAULT 0, machine_id INTEGER, arg_set_id INTEGER
);
CREATE TABLE track (
  id INTEGER PRIMARY KEY, name TEXT, type TEXT NOT NULL,
  dimension_arg_set_id INTEGER, parent_id INTEGER, source_arg_set_id INTEGER,
  machine_id INTEGER, track_group_id INTEGER, classification TEXT NOT NULL
);
CREATE TABLE thread_track (
  id INTEGER PRIMARY KEY, name TEXT, type TEXT NOT NULL, parent_id INTEGER,
  source_arg_set_id INTEGER, machine_id INTEGER, utid INTEGER NOT NULL
);
CREATE TABLE process_track (
  id INTEGER PRIMARY KEY, name TEXT, type TEXT NOT NULL, parent_id INTEGER,
  source_arg_set_id INTEGER, machine_id INTEGER, upid INTEGER NOT NULL
);
CREATE TABLE counter_track (
  id INTEGER PRIMARY KEY, name TEXT, parent_id INTEGER, type TEXT NOT NULL,
  dimension_arg_set_id INTEGER, source_arg_set_id INTEGER, machine_id INTEGER,
  unit TEXT, description TEXT
);
CREATE TABLE slice (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, dur INTEGER NOT NULL,
  track_id INTEGER NOT NULL, category TEXT, name TEXT, depth INTEGER NOT NULL,
  parent_id INTEGER, arg_set_id INTEGER, thread_ts INTEGER, thread_dur INTEGER,
  thread_instruction_count INTEGER, thread_instruction_delta INTEGER,
  cat TEXT GENERATED ALWAYS AS (category) VIRTUAL,
  slice_id INTEGER GENERATED ALWAYS AS (id) VIRTUAL
);
CREATE TABLE counter (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, track_id INTEGER NOT NULL,
  value REAL, arg_set_id INTEGER
);
CREATE TABLE args (
  id INTEGER PRIMARY KEY, arg_set_id INTEGER NOT NULL, flat_key TEXT NOT NULL,
  key TEXT NOT NULL, int_value INTEGER, string_value TEXT, real_value REAL,
  value_type TEXT NOT NULL, display_value TEXT
);
CREATE TABLE flow (
  id INTEGER PRIMARY KEY, slice_out INTEGER NOT NULL, slice_in INTEGER NOT NULL,
  trace_id INTEGER, arg_set_id INTEGER
);
CREATE TABLE request_segment (
  id INTEGER PRIMARY KEY, request_id INTEGER NOT NULL, seq INTEGER NOT NULL,
  segment TEXT NOT NULL, role TEXT NOT NULL, side TEXT NOT NULL,
  start_field TEXT NOT NULL, end_field TEXT NOT NULL,
  start_ts INTEGER, end_ts INTEGER, dur INTEGER, absent_reason TEXT
);
CREATE TABLE warning (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, input TEXT, location TEXT NOT NULL,
  record_index INTEGER, line INTEGER, field TEXT, message TEXT
);
CREATE TABLE warning_count (kind TEXT PRIMARY KEY, count INTEGER NOT NULL);
"#;

/// Views; `slices` and `instant` as trace processor has them.
pub const VIEWS: &str = r#"
CREATE VIEW slices AS SELECT * FROM slice;
CREATE VIEW instant AS SELECT * FROM slice WHERE dur = 0;
CREATE VIEW thread_slice AS
SELECT s.id, s.ts, s.dur, s.category, s.name, s.track_id, tt.name AS track_name,
       t.name AS thread_name, t.utid, t.tid, t.is_main_thread,
       p.name AS process_name, p.upid, p.pid, s.depth, s.parent_id,
       s.arg_set_id, s.thread_ts, s.thread_dur
FROM slice s
JOIN thread_track tt ON s.track_id = tt.id
JOIN thread t USING (utid)
LEFT JOIN process p USING (upid);
CREATE VIEW process_slice AS
SELECT s.id, s.ts, s.dur, s.category, s.name, s.track_id, pt.name AS track_name,
       p.name AS process_name, p.upid, p.pid, s.depth, s.parent_id,
       s.arg_set_id, s.thread_ts, s.thread_dur
FROM slice s
JOIN process_track pt ON s.track_id = pt.id
JOIN process p USING (upid);
"#;

/// Indexes, built after the bulk load. Deliberately no index on
/// `slice.category`: the kernel queries scan in `ts` order either way, and
/// an index there would change the order ties are visited in.
pub const INDEXES: &str = r#"
CREATE INDEX slice_ts ON slice(ts);
CREATE INDEX slice_track_ts ON slice(track_id, ts);
CREATE INDEX slice_parent ON slice(parent_id);
CREATE INDEX slice_arg_set ON slice(arg_set_id);
CREATE INDEX args_arg_set ON args(arg_set_id);
CREATE INDEX counter_track_ts ON counter(track_id, ts);
CREATE INDEX flow_out ON flow(slice_out);
CREATE INDEX flow_in ON flow(slice_in);
CREATE INDEX request_segment_request ON request_segment(request_id);
CREATE INDEX request_segment_segment ON request_segment(segment, role);
"#;

/// SQL column name of a request timestamp: `Field::name` with `.` → `_`.
pub fn stamp_column(f: Field) -> String {
    f.name().replace('.', "_")
}

/// `CREATE TABLE request`, one ns column per [`Field`].
pub fn request_table() -> String {
    let mut sql = String::from(
        "CREATE TABLE request (\n  id INTEGER PRIMARY KEY, label TEXT NOT NULL, kind TEXT NOT NULL,\n  \
         input TEXT, location TEXT, ctx_server TEXT, gen_server TEXT,\n  \
         ctx_request_id INTEGER, gen_request_id INTEGER, disagg_request_id INTEGER,\n  \
         status TEXT, has_router INTEGER NOT NULL, has_ctx INTEGER NOT NULL,\n  \
         has_gen INTEGER NOT NULL, correlation_id INTEGER, arg_set_id INTEGER",
    );
    for f in Field::all() {
        sql.push_str(&format!(",\n  {} INTEGER", stamp_column(f)));
    }
    sql.push_str("\n);\n");
    sql
}

/// The whole schema text (for `db` users and docs).
pub fn create_all(_trace: &Trace) -> String {
    format!(
        "{TABLES}{}{VIEWS}{}",
        request_table(),
        super::client::TABLES
    )
}
