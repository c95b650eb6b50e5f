//! What the database holds besides its tables (which `super::tables`
//! defines): the views, the same over virtual tables and in `db` files, and
//! the indexes a `db` file gets after its rows are copied.

/// Views; `slices` and `instant` as trace processor has them.
pub const VIEWS: &str = r#"
CREATE VIEW slices AS SELECT * FROM slice;
CREATE VIEW instant AS SELECT * FROM slice WHERE dur = 0;
CREATE VIEW thread_slice AS
SELECT s.id, s.ts, s.dur, s.category, s.name, s.track_id, tt.name AS track_name,
       t.name AS thread_name, t.utid, t.tid, t.is_main_thread,
       p.name AS process_name, p.upid, p.pid, s.depth, s.parent_id,
       s.arg_set_id, s.thread_ts, s.thread_dur, p.input, p.rank
FROM slice s
JOIN thread_track tt ON s.track_id = tt.id
JOIN thread t USING (utid)
LEFT JOIN process p USING (upid);
CREATE VIEW process_slice AS
SELECT s.id, s.ts, s.dur, s.category, s.name, s.track_id, pt.name AS track_name,
       p.name AS process_name, p.upid, p.pid, s.depth, s.parent_id,
       s.arg_set_id, s.thread_ts, s.thread_dur, p.input, p.rank
FROM slice s
JOIN process_track pt ON s.track_id = pt.id
JOIN process p USING (upid);
"#;

/// Indexes of a `db` file, built after the rows are copied. Deliberately
/// no index on `slice.category`: the kernel queries scan in `ts` order
/// either way, and an index there would change the order ties are visited in.
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
CREATE INDEX client_metric_request ON client_metric(client_request_id);
CREATE INDEX client_metadata_request ON client_metadata(client_request_id);
CREATE INDEX iteration_ts ON iteration(ts);
"#;

pub use super::tables::request::stamp_column;

/// Every view, in creation order: trace processor's and the client view.
pub fn views() -> String {
    format!("{VIEWS}{}", super::tables::client::VIEWS)
}
