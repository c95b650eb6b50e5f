//! Test oracle: decodes a `.pftrace` with the upstream Perfetto schema (the
//! `perfetto_protos` crate, independent of our own proto subset) and
//! rebuilds tracks and slices the way trace processor would, checking the
//! wire rules on the way (interning defined before use, state cleared first,
//! END matching an open BEGIN, no crossing slices on a track).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use perfetto_protos::debug_annotation::DebugAnnotation;
use perfetto_protos::trace::Trace;
use perfetto_protos::track_event::track_event::Type;
use protobuf::Message;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    manifest_dir().join("fixtures").join(rel)
}

/// Every file below `dir` (recursively) whose name ends with `suffix`,
/// sorted: e.g. the real `.json.gz` traces under `shared("realdata/hta")`.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn shared(rel: &str) -> PathBuf {
    manifest_dir().join("..").join("shared").join(rel)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Int(i64),
    Uint(u64),
    Real(f64),
    Str(String),
    Bool(bool),
}

#[derive(Clone, Debug)]
pub struct DTrack {
    pub uuid: u64,
    pub parent: Option<u64>,
    pub name: String,
    pub pid: Option<i32>,
    pub tid: Option<i32>,
    pub is_counter: bool,
    /// Counter unit as trace processor names it: "count", "bytes", "ns", or
    /// the descriptor's `unit_name`.
    pub counter_unit: Option<String>,
}

#[derive(Clone, Debug)]
pub struct DSlice {
    pub track: u64,
    pub name: String,
    pub category: String,
    pub ts: u64,
    pub dur: u64,
    pub depth: usize,
    /// Index of the enclosing slice on the same track.
    pub parent: Option<usize>,
    pub instant: bool,
    pub correlation: Option<u64>,
    /// Flattened debug annotations (`a.b`, `x[0]`).
    pub args: BTreeMap<String, Val>,
    pub flow_out: Vec<u64>,
    pub flow_in: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct Decoded {
    pub tracks: Vec<DTrack>,
    pub slices: Vec<DSlice>,
    pub counters: Vec<(u64, u64, f64)>,
    pub packets: usize,
}

impl Decoded {
    pub fn track(&self, uuid: u64) -> &DTrack {
        self.tracks
            .iter()
            .find(|t| t.uuid == uuid)
            .expect("described track")
    }

    /// Track names from the root down to `uuid`.
    pub fn track_path(&self, uuid: u64) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = Some(uuid);
        while let Some(u) = cur {
            let t = self.track(u);
            out.push(t.name.clone());
            cur = t.parent;
        }
        out.reverse();
        out
    }

    /// Values of the counter track `name` under a track path ending in
    /// `parent`, as (ts, value) in write order, with the track's unit.
    pub fn counter_series(&self, parent: &str, name: &str) -> (Option<String>, Vec<(u64, f64)>) {
        let t = self
            .tracks
            .iter()
            .find(|t| {
                t.is_counter
                    && t.name == name
                    && t.parent.is_some_and(|p| self.track(p).name == parent)
            })
            .unwrap_or_else(|| panic!("no counter track `{name}` under `{parent}`"));
        let values = self
            .counters
            .iter()
            .filter(|c| c.0 == t.uuid)
            .map(|c| (c.1, c.2))
            .collect();
        (t.counter_unit.clone(), values)
    }

    pub fn top_level_tracks(&self) -> Vec<&str> {
        self.tracks
            .iter()
            .filter(|t| t.parent.is_none())
            .map(|t| t.name.as_str())
            .collect()
    }

    pub fn named(&self, name: &str) -> std::vec::IntoIter<&DSlice> {
        let v: Vec<&DSlice> = self.slices.iter().filter(|s| s.name == name).collect();
        v.into_iter()
    }

    /// Pairs (source slice, destination slice) of every flow id.
    pub fn flows(&self) -> Vec<(usize, usize)> {
        let mut out: HashMap<u64, usize> = HashMap::new();
        let mut pairs = Vec::new();
        for (i, s) in self.slices.iter().enumerate() {
            for &f in &s.flow_out {
                out.insert(f, i);
            }
        }
        for (i, s) in self.slices.iter().enumerate() {
            for &f in &s.flow_in {
                let src = *out.get(&f).expect("flow terminated without a source");
                pairs.push((src, i));
            }
        }
        pairs
    }
}

fn flatten(prefix: &str, a: &DebugAnnotation, out: &mut BTreeMap<String, Val>) {
    if !a.dict_entries.is_empty() {
        for e in &a.dict_entries {
            flatten(&format!("{prefix}.{}", e.name()), e, out);
        }
        return;
    }
    if !a.array_values.is_empty() {
        for (i, e) in a.array_values.iter().enumerate() {
            flatten(&format!("{prefix}[{i}]"), e, out);
        }
        return;
    }
    let v = if a.has_int_value() {
        Val::Int(a.int_value())
    } else if a.has_uint_value() {
        Val::Uint(a.uint_value())
    } else if a.has_double_value() {
        Val::Real(a.double_value())
    } else if a.has_string_value() {
        Val::Str(a.string_value().to_owned())
    } else if a.has_bool_value() {
        Val::Bool(a.bool_value())
    } else {
        return;
    };
    out.insert(prefix.to_owned(), v);
}

/// Decodes and validates a trace file; panics with a precise message on any
/// rule violation.
pub fn decode(path: &Path) -> Decoded {
    let bytes = std::fs::read(path).expect("trace file");
    decode_bytes(&bytes)
}

pub fn decode_bytes(bytes: &[u8]) -> Decoded {
    let trace = Trace::parse_from_bytes(bytes).expect("valid Trace proto");
    let mut d = Decoded {
        packets: trace.packet.len(),
        ..Default::default()
    };
    let mut names: HashMap<u64, String> = HashMap::new();
    let mut cats: HashMap<u64, String> = HashMap::new();
    let mut ann: HashMap<u64, String> = HashMap::new();
    let mut cleared = false;
    // Per track: stack of open slice indexes.
    let mut open: HashMap<u64, Vec<usize>> = HashMap::new();
    for (pi, p) in trace.packet.iter().enumerate() {
        assert_eq!(
            p.trusted_packet_sequence_id(),
            1,
            "packet {pi}: one sequence"
        );
        let flags = p.sequence_flags();
        if flags & 1 != 0 {
            assert_eq!(pi, 0, "only the first packet clears incremental state");
            cleared = true;
        }
        if flags & 2 != 0 {
            assert!(
                cleared,
                "packet {pi} needs incremental state before any clear"
            );
        }
        if let Some(i) = p.interned_data.as_ref() {
            assert!(
                flags != 0,
                "packet {pi}: interned data without sequence flags"
            );
            for n in &i.event_names {
                names.insert(n.iid(), n.name().to_owned());
            }
            for c in &i.event_categories {
                cats.insert(c.iid(), c.name().to_owned());
            }
            for a in &i.debug_annotation_names {
                ann.insert(a.iid(), a.name().to_owned());
            }
        }
        if p.has_track_descriptor() {
            let t = p.track_descriptor();
            assert!(
                d.tracks.iter().all(|x| x.uuid != t.uuid()),
                "duplicate uuid {}",
                t.uuid()
            );
            let parent = if t.has_parent_uuid() {
                Some(t.parent_uuid())
            } else {
                None
            };
            if let Some(pu) = parent {
                assert!(
                    d.tracks.iter().any(|x| x.uuid == pu),
                    "parent {pu} described before child"
                );
            }
            let (name, pid, tid) = if t.thread.is_some() {
                let th = t.thread.as_ref().unwrap();
                (th.thread_name().to_owned(), Some(th.pid()), Some(th.tid()))
            } else if t.process.is_some() {
                let pr = t.process.as_ref().unwrap();
                (pr.process_name().to_owned(), Some(pr.pid()), None)
            } else {
                (t.name().to_owned(), None, None)
            };
            d.tracks.push(DTrack {
                uuid: t.uuid(),
                parent,
                name,
                pid,
                tid,
                is_counter: t.counter.is_some(),
                counter_unit: t.counter.as_ref().map(|c| {
                    use perfetto_protos::counter_descriptor::counter_descriptor::Unit;
                    match c.unit() {
                        Unit::UNIT_COUNT => "count".to_owned(),
                        Unit::UNIT_SIZE_BYTES => "bytes".to_owned(),
                        Unit::UNIT_TIME_NS => "ns".to_owned(),
                        _ => c.unit_name().to_owned(),
                    }
                }),
            });
        }
        if p.has_track_event() {
            let e = p.track_event();
            let ts = p.timestamp();
            let track = e.track_uuid();
            assert!(
                d.tracks.iter().any(|t| t.uuid == track),
                "packet {pi}: event on undescribed track {track}"
            );
            // Counter samples riding on the event (`extra_counter_values`,
            // `extra_double_counter_values`): samples of their own counter
            // tracks at the event's time, as trace processor reads them.
            assert_eq!(
                e.extra_counter_track_uuids.len(),
                e.extra_counter_values.len(),
                "packet {pi}: extra counter uuids and values differ in number"
            );
            assert_eq!(
                e.extra_double_counter_track_uuids.len(),
                e.extra_double_counter_values.len(),
                "packet {pi}: extra double counter uuids and values differ in number"
            );
            let extra = e
                .extra_counter_track_uuids
                .iter()
                .zip(e.extra_counter_values.iter().map(|&v| v as f64))
                .chain(
                    e.extra_double_counter_track_uuids
                        .iter()
                        .zip(e.extra_double_counter_values.iter().copied()),
                );
            for (&u, v) in extra {
                assert!(
                    d.tracks.iter().any(|t| t.uuid == u && t.is_counter),
                    "packet {pi}: extra counter value on track {u}, not a described counter track"
                );
                d.counters.push((u, ts, v));
            }
            match e.type_() {
                Type::TYPE_SLICE_BEGIN | Type::TYPE_INSTANT => {
                    let name = if e.has_name_iid() {
                        names
                            .get(&e.name_iid())
                            .unwrap_or_else(|| {
                                panic!("packet {pi}: name iid {} not interned", e.name_iid())
                            })
                            .clone()
                    } else {
                        e.name().to_owned()
                    };
                    let category = e
                        .category_iids
                        .iter()
                        .map(|c| {
                            cats.get(c)
                                .unwrap_or_else(|| panic!("category iid {c} not interned"))
                                .clone()
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    let mut args = BTreeMap::new();
                    for a in &e.debug_annotations {
                        let key = if a.has_name_iid() {
                            ann.get(&a.name_iid())
                                .unwrap_or_else(|| {
                                    panic!(
                                        "packet {pi}: annotation iid {} not interned",
                                        a.name_iid()
                                    )
                                })
                                .clone()
                        } else {
                            a.name().to_owned()
                        };
                        flatten(&key, a, &mut args);
                    }
                    let stack = open.entry(track).or_default();
                    let instant = e.type_() == Type::TYPE_INSTANT;
                    d.slices.push(DSlice {
                        track,
                        name,
                        category,
                        ts,
                        dur: 0,
                        depth: stack.len(),
                        parent: stack.last().copied(),
                        instant,
                        correlation: if e.has_correlation_id() {
                            Some(e.correlation_id())
                        } else {
                            None
                        },
                        args,
                        flow_out: e.flow_ids.clone(),
                        flow_in: e.terminating_flow_ids.clone(),
                    });
                    if !instant {
                        stack.push(d.slices.len() - 1);
                    }
                }
                Type::TYPE_SLICE_END => {
                    let stack = open
                        .get_mut(&track)
                        .expect("END on a track with no open slice");
                    let i = stack
                        .pop()
                        .unwrap_or_else(|| panic!("packet {pi}: END without BEGIN"));
                    assert!(ts >= d.slices[i].ts, "negative duration");
                    d.slices[i].dur = ts - d.slices[i].ts;
                }
                Type::TYPE_COUNTER => {
                    let v = if e.has_double_counter_value() {
                        e.double_counter_value()
                    } else {
                        e.counter_value() as f64
                    };
                    d.counters.push((track, ts, v));
                }
                other => panic!("unexpected event type {other:?}"),
            }
        }
    }
    for (t, s) in &open {
        assert!(s.is_empty(), "track {t} has {} unclosed slices", s.len());
    }
    assert_no_crossing(&d);
    d
}

/// No two slices on one track cross: each child lies within its parent.
pub fn assert_no_crossing(d: &Decoded) {
    for (i, s) in d.slices.iter().enumerate() {
        if let Some(p) = s.parent {
            let ps = &d.slices[p];
            assert!(
                s.ts >= ps.ts && s.ts + s.dur <= ps.ts + ps.dur,
                "slice {i} `{}` [{}, {}] crosses its parent `{}` [{}, {}] on track {:?}",
                s.name,
                s.ts,
                s.ts + s.dur,
                ps.name,
                ps.ts,
                ps.ts + ps.dur,
                d.track_path(s.track)
            );
        }
    }
}

/// Runs the binary with `env` set; asserts it never panics; returns its
/// output and stderr.
pub fn run_env<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(&str, &str)],
) -> (std::process::Output, String) {
    let mut cmd = assert_cmd::Command::cargo_bin("breakdown-trace").unwrap();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run binary");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "binary panicked: {stderr}");
    (out, stderr)
}

/// Runs the binary; returns (status ok, stdout, stderr) and asserts it never panics.
pub fn run(args: &[&str]) -> (bool, String, String) {
    let (out, stderr) = run_env(args, &[]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// Adds a process track (pid `pid`, named `name`) to a hand-built trace.
pub fn add_process(
    t: &mut breakdown_trace::model::Trace,
    pid: i32,
    name: &str,
) -> breakdown_trace::model::TrackId {
    use breakdown_trace::model::{Track, TrackKind};
    let n = t.intern(name);
    t.add_track(Track::new(
        n,
        None,
        TrackKind::Process {
            pid,
            labels: vec![],
            sort_index: None,
        },
    ))
}

/// Adds a thread track (`pid`/`tid`, named `name`) under `parent`.
pub fn add_thread(
    t: &mut breakdown_trace::model::Trace,
    parent: breakdown_trace::model::TrackId,
    pid: i32,
    tid: i64,
    name: &str,
) -> breakdown_trace::model::TrackId {
    use breakdown_trace::model::{Track, TrackKind};
    let n = t.intern(name);
    t.add_track(Track::new(
        n,
        Some(parent),
        TrackKind::Thread {
            pid,
            tid,
            sort_index: None,
        },
    ))
}

/// A Python interpreter with `packages` (pip requirement strings) installed,
/// in a virtual environment `target/pyenv/<name>` that the test suite makes
/// itself (CI starts with none). Built once, reused while its package list is
/// unchanged; several test binaries may ask at once (a lock directory makes
/// them wait). `None`, with the reason printed, when pip cannot install the
/// packages here: the caller skips with that message.
///
/// `BREAKDOWN_TRACE_PYTHON` overrides it with an interpreter that already has
/// the packages.
pub fn python_with(name: &str, packages: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("BREAKDOWN_TRACE_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let root = manifest_dir().join("target").join("pyenv");
    std::fs::create_dir_all(&root).unwrap();
    let dir = root.join(name);
    let python = dir.join("bin").join("python");
    let stamp = dir.join("installed.txt");
    let want = packages.join("\n");
    // One builder at a time: mkdir is atomic.
    let lock = root.join(format!("{name}.lock"));
    let started = std::time::Instant::now();
    while std::fs::create_dir(&lock).is_err() {
        if started.elapsed() > std::time::Duration::from_secs(900) {
            eprintln!(
                "SKIP: python env {name}: lock {} held for 15 min",
                lock.display()
            );
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    struct Unlock(PathBuf);
    impl Drop for Unlock {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _unlock = Unlock(lock);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) && python.exists() {
        return Some(python);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let step = |cmd: &mut std::process::Command, what: &str| -> bool {
        match cmd.output() {
            Ok(o) if o.status.success() => true,
            Ok(o) => {
                eprintln!(
                    "SKIP: python env {name}: {what} failed:\n{}",
                    String::from_utf8_lossy(&o.stderr)
                );
                false
            }
            Err(e) => {
                eprintln!("SKIP: python env {name}: {what}: {e}");
                false
            }
        }
    };
    if !step(
        std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir),
        "python3 -m venv",
    ) {
        return None;
    }
    if !step(
        std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages),
        &format!("pip install {}", packages.join(" ")),
    ) {
        return None;
    }
    std::fs::write(&stamp, &want).unwrap();
    Some(python)
}
