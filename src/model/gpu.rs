//! GPU work: which slices are kernels, memory copies and memsets, however
//! the profiler spelled their category — one classification that every
//! statistic and bundled query uses (SQL table `gpu_work`).
//!
//! Spellings (FORMATS.md, Kineto section): `kernel`, `gpu_memcpy`,
//! `gpu_memset` since 2022; `Kernel`, `Memcpy`, `Memset` before (the
//! category is compared without case). Work without a category that sits on
//! a GPU device's stream (a process named `GPU <n>`, as the importers name
//! devices) is classified by its name: `Memcpy…` / `Memset…`, else a kernel.
//! Slices of other categories on a GPU stream (`gpu_user_annotation`, …)
//! are not GPU work: they annotate it.
//!
//! Profiler artifacts — GPU work that a stream cannot have executed (see
//! [`Artifact`]) — are found by the importers, which know the event
//! index their warning names; they stay in the trace on a track of their
//! own and are kept out of span, busy, idle and gap statistics.

use super::{SliceId, Trace, TrackKind};

/// What a piece of GPU work does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GpuKind {
    Kernel,
    Memcpy,
    Memset,
}

impl GpuKind {
    /// The SQL `gpu_work.kind` value.
    pub fn name(self) -> &'static str {
        match self {
            GpuKind::Kernel => "kernel",
            GpuKind::Memcpy => "memcpy",
            GpuKind::Memset => "memset",
        }
    }

    /// The kind a category names, in any spelling; `None` for others.
    pub fn of_category(category: &str) -> Option<GpuKind> {
        let c = category.to_ascii_lowercase();
        match c.as_str() {
            "kernel" | "gpu_kernel" | "cuda_kernel" => Some(GpuKind::Kernel),
            "gpu_memcpy" | "memcpy" => Some(GpuKind::Memcpy),
            "gpu_memset" | "memset" => Some(GpuKind::Memset),
            _ => None,
        }
    }

    /// The kind of uncategorised work on a GPU stream, from its name.
    pub fn of_name(name: &str) -> GpuKind {
        let n = name.trim_start().to_ascii_lowercase();
        if n.starts_with("memcpy") {
            GpuKind::Memcpy
        } else if n.starts_with("memset") {
            GpuKind::Memset
        } else {
            GpuKind::Kernel
        }
    }
}

/// Whether a process name is a GPU device's (`GPU 0`, `GPU 1`, …).
pub fn is_device_name(name: &str) -> bool {
    name.strip_prefix("GPU ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A slice that a GPU stream cannot have executed as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub slice: SliceId,
    /// Short machine-readable reason, also the warning's kind:
    /// `zero_timestamp_gpu_work` (Kineto's `ts: 0, dur: 0` records, far from
    /// the stream's other work) or `overlapping_gpu_work` (starts well
    /// inside the previous work on the same stream).
    pub reason: &'static str,
}

/// The GPU-work kind of every slice (`None`: not GPU work), by model index.
pub fn classify(trace: &Trace) -> Vec<Option<GpuKind>> {
    // Per track: is it (a lane of) a thread of a GPU device?
    let device_pids: Vec<i32> = trace
        .tracks
        .iter()
        .filter_map(|t| match t.kind {
            TrackKind::Process { pid, .. } if is_device_name(trace.str(t.name)) => Some(pid),
            _ => None,
        })
        .collect();
    let on_device: Vec<bool> = (0..trace.tracks.len())
        .map(|i| {
            let logical = trace.tracks[i].lane_of.map_or(i, |(l, _)| l.index());
            matches!(trace.tracks[logical].kind, TrackKind::Thread { pid, .. } if device_pids.contains(&pid))
        })
        .collect();
    trace
        .slices
        .iter()
        .map(|s| match s.category {
            Some(c) => GpuKind::of_category(trace.str(c)),
            None if on_device[s.track.index()] => Some(GpuKind::of_name(trace.str(s.name))),
            None => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_category() {
        for (c, k) in [
            ("kernel", Some(GpuKind::Kernel)),
            ("Kernel", Some(GpuKind::Kernel)),
            ("gpu_memcpy", Some(GpuKind::Memcpy)),
            ("Memcpy", Some(GpuKind::Memcpy)),
            ("gpu_memset", Some(GpuKind::Memset)),
            ("Memset", Some(GpuKind::Memset)),
            ("gpu_user_annotation", None),
            ("Runtime", None),
            ("cuda_runtime", None),
        ] {
            assert_eq!(GpuKind::of_category(c), k, "{c}");
        }
        assert_eq!(GpuKind::of_name("Memcpy HtoD (Pageable -> Device)"), GpuKind::Memcpy);
        assert_eq!(GpuKind::of_name("void gemm<float>()"), GpuKind::Kernel);
        assert!(is_device_name("GPU 0") && is_device_name("GPU 12"));
        assert!(!is_device_name("GPU") && !is_device_name("python") && !is_device_name("GPU x"));
    }
}
