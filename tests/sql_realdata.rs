//! The kernel queries on every real Kineto trace in `../shared/realdata/hta`,
//! against a second, straightforward computation over the raw JSON events
//! done here (no code of the crate involved): `X` events with category
//! `kernel` / `gpu_memcpy` (`gpu_memset` too for gpu-idle), `ts`/`dur` decimal
//! µs text → integer ns, plus `baseTimeNanoseconds` when present.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use breakdown_trace::ingest;
use breakdown_trace::sql::{self, Database, Rows};
use common::{manifest_dir, shared};
use rusqlite::types::Value;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Ev<'a> {
    #[serde(borrow)]
    ph: Option<&'a RawValue>,
    #[serde(borrow)]
    cat: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    ts: Option<&'a RawValue>,
    #[serde(borrow)]
    dur: Option<&'a RawValue>,
    #[serde(borrow)]
    pid: Option<&'a RawValue>,
    #[serde(borrow)]
    tid: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, rename = "traceEvents")]
    events: Vec<Ev<'a>>,
    #[serde(borrow, rename = "baseTimeNanoseconds")]
    base: Option<&'a RawValue>,
}

/// A GPU op from the raw JSON.
#[derive(Clone, Debug)]
struct Op {
    ts: i64,
    dur: i64,
    name: String,
    cat: String,
    pid: String,
    tid: String,
    index: usize,
}

/// Decimal µs text → ns (exact for up to 3 decimals).
fn us_to_ns(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut f: String = frac.chars().take(3).collect();
    while f.len() < 3 {
        f.push('0');
    }
    let sign = if int.starts_with('-') { -1 } else { 1 };
    let i: i64 = int.trim_start_matches('-').parse().unwrap();
    sign * (i * 1000 + f.parse::<i64>().unwrap())
}

fn string(v: Option<&RawValue>) -> String {
    match v {
        None => String::new(),
        Some(r) => serde_json::from_str::<String>(r.get()).unwrap_or_else(|_| r.get().to_owned()),
    }
}

fn raw_ops(path: &Path) -> Vec<Op> {
    let mut bytes = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let doc: Doc = serde_json::from_slice(&bytes).unwrap();
    let base = doc
        .base
        .map_or(0, |b| b.get().trim_matches('"').parse::<i64>().unwrap());
    doc.events
        .iter()
        .enumerate()
        .filter(|(_, e)| string(e.ph) == "X")
        .filter_map(|(index, e)| {
            // GPU work in every spelling Kineto used: `kernel`, `gpu_memcpy`,
            // `gpu_memset` since 2022, `Kernel`, `Memcpy`, `Memset` before
            // (HTA's inference_rank_1 trace); normalized to today's names.
            let cat = match string(e.cat).as_str() {
                "kernel" | "Kernel" => "kernel",
                "gpu_memcpy" | "Memcpy" => "gpu_memcpy",
                "gpu_memset" | "Memset" => "gpu_memset",
                _ => return None,
            }
            .to_owned();
            Some(Op {
                ts: base + us_to_ns(e.ts?.get()),
                dur: us_to_ns(e.dur?.get()),
                name: string(e.name),
                cat,
                pid: string(e.pid),
                tid: string(e.tid),
                index,
            })
        })
        .collect()
}

fn traces() -> Vec<PathBuf> {
    let out = common::files_ending(&shared("realdata/hta"), ".json.gz");
    assert!(out.len() >= 9, "real traces present: {out:?}");
    out
}

fn db_for(path: &Path) -> Database {
    let trace = ingest::load(&[path.to_owned()], None).unwrap();
    Database::in_memory(trace).unwrap()
}

fn bundled(db: &Database, name: &str) -> Rows {
    db.run(name, sql::Bundled::find(name).unwrap().sql, &[])
        .unwrap()
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        _ => None,
    }
}

fn real(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Real(f) => *f,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Null => "<null>".into(),
        other => format!("{other:?}"),
    }
}

/// Whether `got` is `exact` rounded to `d` decimals (within half a unit,
/// so SQLite's decimal rounding and f64 representation both pass).
fn rounds_to(got: f64, exact: f64, d: i32) -> bool {
    (got - exact).abs() <= 0.5 * 10f64.powi(-d) * (1.0 + 1e-9) + 1e-12
}

/// numpy's default percentile, written out again.
fn np_percentile(sorted: &[i64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p / 100.0;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] as f64 + (h - lo as f64) * (sorted[hi] - sorted[lo]) as f64
}

#[test]
fn kernel_queries_on_real_traces() {
    let mut checked = 0;
    for path in traces() {
        let label = path
            .strip_prefix(manifest_dir().join(".."))
            .unwrap_or(&path)
            .display()
            .to_string();
        let ops = raw_ops(&path);
        let db = db_for(&path);
        let km: Vec<&Op> = ops.iter().filter(|o| o.cat != "gpu_memset").collect();

        // kernel-stats: per name count, sum, min, max.
        let mut by_name: BTreeMap<&str, (i64, i64, i64, i64)> = BTreeMap::new();
        for o in &km {
            let e = by_name.entry(&o.name).or_insert((0, 0, i64::MAX, i64::MIN));
            e.0 += 1;
            e.1 += o.dur;
            e.2 = e.2.min(o.dur);
            e.3 = e.3.max(o.dur);
        }
        let total: i64 = km.iter().map(|o| o.dur).sum();
        let got = bundled(&db, "kernel-stats");
        assert_eq!(got.rows.len(), by_name.len(), "{label}: kernel-stats rows");
        for row in &got.rows {
            let name = text(&row[6]);
            let (n, sum, min, max) = by_name[name.as_str()];
            assert_eq!(int(&row[5]), Some(n), "{label} {name} count");
            assert_eq!(int(&row[1]), Some(max / 1000), "{label} {name} max_us");
            assert_eq!(int(&row[2]), Some(min / 1000), "{label} {name} min_us");
            assert!(
                rounds_to(real(&row[3]), sum as f64 / 1e6, 2),
                "{label} {name} sum_ms"
            );
            assert!(
                rounds_to(real(&row[0]), sum as f64 / n as f64 / 1000.0, 2),
                "{label} {name} avg_us"
            );
            assert!(
                rounds_to(real(&row[4]), sum as f64 * 100.0 / total as f64, 1),
                "{label} {name} percent"
            );
        }

        // idle-gaps / idle-total: all kernel+memcpy in start order (ties:
        // longer first, then file order — the slice id order).
        let mut seq: Vec<&Op> = km.clone();
        seq.sort_by_key(|o| (o.ts, std::cmp::Reverse(o.dur), o.index));
        let mut want: Vec<(i64, String, String, Option<i64>)> = Vec::new();
        let mut sum = None::<i64>;
        for (k, o) in seq.iter().enumerate() {
            if k == 0 {
                want.push((o.ts, o.name.clone(), "<null>".into(), None));
            } else {
                let p = seq[k - 1];
                let d = o.ts - p.ts - p.dur;
                sum = Some(sum.unwrap_or(0) + d);
                want.push((o.ts, o.name.clone(), p.name.clone(), Some(d)));
            }
        }
        let got: Vec<(i64, String, String, Option<i64>)> = bundled(&db, "idle-gaps")
            .rows
            .iter()
            .map(|r| (int(&r[0]).unwrap(), text(&r[1]), text(&r[2]), int(&r[3])))
            .collect();
        let diffs: Vec<Option<i64>> = got.iter().map(|g| g.3).collect();
        let mut desc = diffs.clone();
        desc.sort_by(|a, b| b.cmp(a)); // None (NULL) sorts last in DESC
        assert_eq!(diffs, desc, "{label}: idle-gaps ordered by diff desc");
        let (mut g2, mut w2) = (got.clone(), want.clone());
        g2.sort();
        w2.sort();
        assert_eq!(g2, w2, "{label}: idle-gaps rows");
        let total_row = bundled(&db, "idle-total");
        assert_eq!(int(&total_row.rows[0][0]), sum, "{label}: idle-total");

        // The doc's queries verbatim agree (small enough for the O(n²) form)
        // on traces that spell GPU work as the doc does; on older spellings
        // they find nothing (the user's SQL, run as written).
        let doc_spelling = db.other_gpu_categories().is_empty();
        if !doc_spelling {
            let text =
                std::fs::read_to_string(manifest_dir().join("tests/sql/rtp_llm_kernel_stats.sql"))
                    .unwrap();
            assert!(
                db.run("doc", &text, &[]).unwrap().rows.is_empty(),
                "{label}"
            );
        }
        if km.len() <= 5000 && doc_spelling {
            for (file, name) in [
                ("rtp_llm_idle_gaps.sql", "idle-gaps"),
                ("rtp_llm_idle_total.sql", "idle-total"),
                ("rtp_llm_kernel_stats.sql", "kernel-stats"),
            ] {
                let text =
                    std::fs::read_to_string(manifest_dir().join("tests/sql").join(file)).unwrap();
                let v = db.run(file, &text, &[]).unwrap();
                let b = bundled(&db, name);
                let key = |r: &Rows| {
                    let mut v: Vec<String> = r.rows.iter().map(|x| format!("{x:?}")).collect();
                    v.sort();
                    v
                };
                assert_eq!(key(&v), key(&b), "{label}: {file} vs {name}");
            }
        }

        // gpu-idle: union of busy intervals per stream (pid, tid) and per device (pid).
        let unit_stats = |key: &dyn Fn(&Op) -> String| -> Vec<(i64, i64, i64)> {
            let mut groups: BTreeMap<String, Vec<&Op>> = BTreeMap::new();
            for o in &ops {
                groups.entry(key(o)).or_default().push(o);
            }
            let mut out = Vec::new();
            for (_, mut v) in groups {
                v.sort_by_key(|o| o.ts);
                let start = v[0].ts;
                let mut covered = v[0].ts + v[0].dur;
                let mut end = covered;
                let mut idle = 0;
                for o in &v[1..] {
                    if o.ts > covered {
                        idle += o.ts - covered;
                    }
                    covered = covered.max(o.ts + o.dur);
                    end = end.max(o.ts + o.dur);
                }
                out.push((v.len() as i64, end - start, idle));
            }
            out.sort();
            out
        };
        let want_stream = unit_stats(&|o: &Op| format!("{}/{}", o.pid, o.tid));
        let want_device = unit_stats(&|o: &Op| o.pid.clone());
        let gi = bundled(&db, "gpu-idle");
        let got_unit = |scope: &str| {
            let mut v: Vec<(i64, i64, i64)> = gi
                .rows
                .iter()
                .filter(|r| text(&r[0]) == scope && matches!(int(&r[8]), None | Some(1)))
                .map(|r| {
                    (
                        int(&r[3]).unwrap(),
                        int(&r[4]).unwrap(),
                        int(&r[6]).unwrap(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            got_unit("stream"),
            want_stream,
            "{label}: gpu-idle per stream"
        );
        assert_eq!(
            got_unit("device"),
            want_device,
            "{label}: gpu-idle per device"
        );
        for r in &gi.rows {
            assert!(
                int(&r[6]).unwrap() <= int(&r[4]).unwrap(),
                "{label}: idle ≤ span"
            );
        }

        // kernel-summary: kernels only.
        let mut ks: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for o in ops.iter().filter(|o| o.cat == "kernel") {
            ks.entry(&o.name).or_default().push(o.dur);
        }
        let got = bundled(&db, "kernel-summary");
        assert_eq!(got.rows.len(), ks.len(), "{label}: kernel-summary rows");
        for row in &got.rows {
            let name = text(&row[8]);
            let mut v = ks[name.as_str()].clone();
            v.sort();
            let sum: i64 = v.iter().sum();
            assert_eq!(int(&row[1]), Some(sum), "{label} {name} total");
            assert_eq!(int(&row[2]), Some(v.len() as i64));
            assert_eq!(int(&row[5]), Some(v[0]));
            assert_eq!(int(&row[6]), Some(*v.last().unwrap()));
            assert!(
                rounds_to(real(&row[4]), np_percentile(&v, 50.0), 1),
                "{label} {name} median"
            );
            let mean = sum as f64 / v.len() as f64;
            let sd = if v.len() > 1 {
                (v.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64)
                    .sqrt()
            } else {
                0.0
            };
            assert!(rounds_to(real(&row[7]), sd, 1), "{label} {name} stddev");
        }
        if !km.is_empty() {
            checked += 1;
        }
    }
    assert!(checked >= 5, "traces with kernels checked: {checked}");
}
