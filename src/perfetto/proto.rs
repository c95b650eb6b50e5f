//! Messages generated from `protos/perfetto_subset.proto` by build.rs.
#![allow(clippy::all, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/perfetto.protos.rs"));
