//! SQL functions: `median(x)` and `percentile(x, p)`, and trace
//! processor's `EXTRACT_ARG(arg_set_id, key)`.
//!
//! Both are aggregates over the non-NULL numeric values of `x` and use
//! [`crate::percentile`] — linear interpolation between closest ranks, numpy's
//! default (`method="linear"`) — so SQL and `stats` agree to the bit.
//! `p` is in 0..=100. An empty group gives NULL.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Error, Result};

use crate::percentile;

struct Percentile {
    /// `Some(p)` for `median`, `None` when `p` is the second argument.
    fixed: Option<f64>,
}

struct Acc {
    values: Vec<f64>,
    p: Option<f64>,
}

fn user_err(msg: String) -> Error {
    Error::UserFunctionError(msg.into())
}

impl Aggregate<Acc, Option<f64>> for Percentile {
    fn init(&self, _: &mut Context<'_>) -> Result<Acc> {
        Ok(Acc {
            values: Vec::new(),
            p: self.fixed,
        })
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Acc) -> Result<()> {
        let v = match ctx.get_raw(0) {
            ValueRef::Null => None,
            ValueRef::Integer(i) => Some(i as f64),
            ValueRef::Real(f) => Some(f),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok()),
            ValueRef::Blob(_) => None,
        };
        if self.fixed.is_none() {
            let p = match ctx.get_raw(1) {
                ValueRef::Integer(i) => i as f64,
                ValueRef::Real(f) => f,
                other => {
                    return Err(user_err(format!(
                        "percentile(x, p): p must be a number in 0..100, got {other:?}"
                    )))
                }
            };
            if !(0.0..=100.0).contains(&p) {
                return Err(user_err(format!(
                    "percentile(x, p): p must be in 0..100, got {p}"
                )));
            }
            match acc.p {
                Some(q) if q != p => {
                    return Err(user_err(
                        "percentile(x, p): p must be the same for every row of a group".into(),
                    ))
                }
                _ => acc.p = Some(p),
            }
        }
        if let Some(v) = v.filter(|v| !v.is_nan()) {
            acc.values.push(v);
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Acc>) -> Result<Option<f64>> {
        let Some(mut acc) = acc else { return Ok(None) };
        let p = acc.p.unwrap_or(50.0);
        Ok(percentile::percentile(&mut acc.values, p))
    }
}

/// `EXTRACT_ARG(arg_set_id, key)`: the value of `key` (e.g. `debug.stream`)
/// in arg set `arg_set_id`, typed as stored (integer, real or text), NULL
/// when the set has no such key — trace processor's function of that name.
fn extract_arg(ctx: &Context<'_>) -> Result<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let set = match ctx.get_raw(0) {
        ValueRef::Integer(i) => i,
        _ => return Ok(Value::Null),
    };
    let key: String = match ctx.get_raw(1) {
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        _ => return Ok(Value::Null),
    };
    // SAFETY: the connection is used on this thread only, for the duration
    // of this call (rusqlite's condition for `get_connection`).
    let conn = unsafe { ctx.get_connection()? };
    let mut st = conn.prepare_cached(
        "SELECT CASE value_type WHEN 'string' THEN string_value WHEN 'real' THEN real_value \
                WHEN 'uint' THEN COALESCE(int_value, real_value) ELSE int_value END \
         FROM args WHERE arg_set_id = ?1 AND key = ?2 LIMIT 1",
    )?;
    let mut rows = st.query(rusqlite::params![set, key])?;
    Ok(match rows.next()? {
        Some(r) => r.get(0)?,
        None => Value::Null,
    })
}

/// Registers `median(x)`, `percentile(x, p)`, `EXTRACT_ARG(arg_set_id,
/// key)` and, when the SQLite build lacks math functions, `sqrt(x)`.
pub fn register(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("extract_arg", 2, FunctionFlags::SQLITE_UTF8, extract_arg)?;
    conn.create_aggregate_function("median", 1, flags, Percentile { fixed: Some(50.0) })?;
    conn.create_aggregate_function("percentile", 2, flags, Percentile { fixed: None })?;
    if conn
        .query_row("SELECT sqrt(4.0)", [], |r| r.get::<_, f64>(0))
        .is_err()
    {
        conn.create_scalar_function("sqrt", 1, flags, |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Integer(i) => Some((i as f64).sqrt()),
                ValueRef::Real(f) => Some(f.sqrt()),
                _ => None,
            })
        })?;
    }
    Ok(())
}
