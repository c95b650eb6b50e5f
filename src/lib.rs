//! breakdown-trace: where did an LLM inference request's time go?
//!
//! The data's path is the module tree: [`ingest`] reads inputs into a
//! [`model::Trace`]; [`model::layout`] lays slices out on overlap-free
//! tracks; [`perfetto`] writes a `.pftrace` ([`open`] serves one to the Perfetto UI); [`sql`] serves the trace to
//! SQLite in place (virtual tables defined in `sql::tables`), for `query`,
//! `stats`, `report` and `db`; [`diff`] compares two runs with it; [`export`] writes those
//! tables of many inputs as Parquet (one partition per input) with DuckDB views. [`segments`] is the one table of request
//! segments every output uses; [`model::gpu`] the one classification of GPU
//! work.

pub mod client_stats;
pub mod diff;
pub mod error;
pub mod export;
pub mod info;
pub mod ingest;
pub mod json;
pub mod model;
pub mod open;
pub mod output;
pub mod percentile;
pub mod perfetto;
pub mod progress;
pub mod report;
pub mod segments;
pub mod sql;
pub mod time;

pub use error::{Error, InputError, Result};
