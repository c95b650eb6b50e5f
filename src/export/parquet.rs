//! One SQL table of one input as one Parquet file, written with the
//! `parquet` crate's low-level column writer (no Arrow arrays).
//!
//! The columns are the table's own ([`TableDef`], the definition SQLite's
//! virtual tables and `db` files use) minus `input` (the Hive partition
//! `input=<label>` carries it), plus the per-input columns [`Extra`] that the
//! table does not already have. Types follow the declared SQL type the way a
//! SQLite column's affinity would store the cell:
//!
//! | SQL type | Parquet | cells |
//! |---|---|---|
//! | `INTEGER` | `INT64` | integers; a whole-valued real becomes an integer (as SQLite stores it); a fractional real or text is an error naming the table, row and column |
//! | `REAL` | `DOUBLE` | reals; integers become reals |
//! | `TEXT` | `BYTE_ARRAY` (`STRING`) | text; numbers become their text |
//! | none (`iteration`'s field columns) | from the cells: `INT64` if all are integers, `DOUBLE` if all are numbers, else `STRING` | |
//!
//! Every column is `OPTIONAL` (NULL is a missing definition level). Rows are
//! written in row groups of at most `rows_per_group` rows, read from the
//! table's cells one group at a time, so no column of the whole table is
//! held as values. Pages are Snappy-compressed, dictionary-encoded where
//! Parquet's writer finds it pays.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::sql::vtab::{Cell, Table, TableDef};

/// Parquet type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Real,
    Text,
}

/// A per-input column every row of every table carries (unless the table
/// has a column of that name): a constant for the whole file.
#[derive(Clone, Debug)]
pub struct Extra {
    pub name: &'static str,
    pub kind: Kind,
    pub value: Option<ExtraValue>,
}

#[derive(Clone, Debug)]
pub enum ExtraValue {
    Int(i64),
    Text(String),
}

/// Where an output column's values come from.
enum From {
    Column(usize),
    Extra(usize),
}

struct OutColumn {
    name: String,
    kind: Kind,
    from: From,
}

/// Default row group size: 128 Ki rows (a few MB of values per group for
/// the widest tables).
pub const ROWS_PER_GROUP: usize = 128 * 1024;

/// Writes `table` (shape `def`) to `out` as one Parquet file; returns the
/// number of rows. `metadata` goes into the file's key-value metadata.
/// Errors are messages naming the table (the caller adds the file).
pub fn write_table<W: Write + Send>(
    out: W,
    def: &TableDef,
    table: &dyn Table,
    extras: &[Extra],
    metadata: Vec<(String, String)>,
    rows_per_group: usize,
) -> Result<u64, String> {
    let columns = out_columns(def, table, extras);
    let perr = |e: parquet::errors::ParquetError| format!("table {}: {e}", def.name);
    let fields = columns
        .iter()
        .map(|c| {
            let (physical, logical) = match c.kind {
                Kind::Int => (Physical::INT64, None),
                Kind::Real => (Physical::DOUBLE, None),
                Kind::Text => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            };
            Type::primitive_type_builder(&c.name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(perr)?;
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(perr)?,
    );
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("breakdown-trace {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(
            metadata
                .into_iter()
                .map(|(k, v)| KeyValue::new(k, v))
                .collect(),
        ))
        .build();
    let mut w = SerializedFileWriter::new(out, schema, Arc::new(props)).map_err(perr)?;
    let n = table.len();
    let step = rows_per_group.max(1);
    let mut start = 0;
    while start < n {
        let end = (start + step).min(n);
        let mut rg = w.next_row_group().map_err(perr)?;
        let mut i = 0;
        while let Some(mut col) = rg.next_column().map_err(perr)? {
            let c = &columns[i];
            write_column(&mut col, c, def, table, extras, start..end)?;
            col.close().map_err(perr)?;
            i += 1;
        }
        rg.close().map_err(perr)?;
        start = end;
    }
    w.close().map_err(perr)?;
    Ok(n as u64)
}

/// The file's columns: the table's (minus `input`), then the extras it
/// lacks.
fn out_columns(def: &TableDef, table: &dyn Table, extras: &[Extra]) -> Vec<OutColumn> {
    let mut cols: Vec<OutColumn> = def
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name != "input")
        .map(|(i, c)| OutColumn {
            name: c.name.clone(),
            kind: match c.ty {
                "INTEGER" => Kind::Int,
                "REAL" => Kind::Real,
                "TEXT" => Kind::Text,
                _ => kind_of_cells(table, i),
            },
            from: From::Column(i),
        })
        .collect();
    for (i, e) in extras.iter().enumerate() {
        if def.column(e.name).is_none() {
            cols.push(OutColumn {
                name: e.name.to_owned(),
                kind: e.kind,
                from: From::Extra(i),
            });
        }
    }
    cols
}

/// The narrowest type that holds every cell of an untyped column.
fn kind_of_cells(table: &dyn Table, col: usize) -> Kind {
    let mut kind = Kind::Int;
    for r in 0..table.len() {
        match table.cell(r, col) {
            Cell::Null | Cell::Int(_) => {}
            Cell::Real(_) => kind = Kind::Real,
            Cell::Text(_) | Cell::Owned(_) => return Kind::Text,
        }
    }
    kind
}

/// A real as SQLite writes it as text (`1.0`, `0.5`, `1e+20`).
fn real_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn write_column(
    col: &mut parquet::file::writer::SerializedColumnWriter<'_>,
    c: &OutColumn,
    def: &TableDef,
    table: &dyn Table,
    extras: &[Extra],
    rows: std::ops::Range<usize>,
) -> Result<(), String> {
    let perr =
        |e: parquet::errors::ParquetError| format!("table {}: column {}: {e}", def.name, c.name);
    let mut levels: Vec<i16> = Vec::with_capacity(rows.len());
    let bad = |row: usize, what: &str| {
        format!(
            "table {}: row {row}: column {} is declared {:?} but holds {what}",
            def.name, c.name, c.kind
        )
    };
    match c.kind {
        Kind::Int => {
            let mut values: Vec<i64> = Vec::with_capacity(rows.len());
            for r in rows {
                let v = match &c.from {
                    From::Column(i) => match table.cell(r, *i) {
                        Cell::Null => None,
                        Cell::Int(v) => Some(v),
                        Cell::Real(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
                        Cell::Real(f) => return Err(bad(r, &format!("the real {f}"))),
                        Cell::Text(_) | Cell::Owned(_) => return Err(bad(r, "text")),
                    },
                    From::Extra(i) => match &extras[*i].value {
                        Some(ExtraValue::Int(v)) => Some(*v),
                        _ => None,
                    },
                };
                levels.push(v.is_some() as i16);
                values.extend(v);
            }
            col.typed::<Int64Type>()
                .write_batch(&values, Some(&levels), None)
                .map_err(perr)?;
        }
        Kind::Real => {
            let mut values: Vec<f64> = Vec::with_capacity(rows.len());
            for r in rows {
                let v = match &c.from {
                    From::Column(i) => match table.cell(r, *i) {
                        Cell::Null => None,
                        Cell::Int(v) => Some(v as f64),
                        Cell::Real(f) => Some(f),
                        Cell::Text(_) | Cell::Owned(_) => return Err(bad(r, "text")),
                    },
                    From::Extra(i) => match &extras[*i].value {
                        Some(ExtraValue::Int(v)) => Some(*v as f64),
                        _ => None,
                    },
                };
                levels.push(v.is_some() as i16);
                values.extend(v);
            }
            col.typed::<DoubleType>()
                .write_batch(&values, Some(&levels), None)
                .map_err(perr)?;
        }
        Kind::Text => {
            // All the group's text in one buffer; values are slices of it.
            let mut buf: Vec<u8> = Vec::new();
            let mut spans: Vec<(usize, usize)> = Vec::with_capacity(rows.len());
            let mut push = |s: &str, buf: &mut Vec<u8>| {
                let a = buf.len();
                buf.extend_from_slice(s.as_bytes());
                spans.push((a, buf.len()));
            };
            for r in rows {
                let present = match &c.from {
                    From::Column(i) => match table.cell(r, *i) {
                        Cell::Null => false,
                        Cell::Text(s) => {
                            push(s, &mut buf);
                            true
                        }
                        Cell::Owned(s) => {
                            push(&s, &mut buf);
                            true
                        }
                        Cell::Int(v) => {
                            push(&v.to_string(), &mut buf);
                            true
                        }
                        Cell::Real(f) => {
                            push(&real_text(f), &mut buf);
                            true
                        }
                    },
                    From::Extra(i) => match &extras[*i].value {
                        Some(ExtraValue::Text(s)) => {
                            push(s, &mut buf);
                            true
                        }
                        Some(ExtraValue::Int(v)) => {
                            push(&v.to_string(), &mut buf);
                            true
                        }
                        None => false,
                    },
                };
                levels.push(present as i16);
            }
            let all = Bytes::from(buf);
            let values: Vec<ByteArray> = spans
                .into_iter()
                .map(|(a, b)| ByteArray::from(all.slice(a..b)))
                .collect();
            col.typed::<ByteArrayType>()
                .write_batch(&values, Some(&levels), None)
                .map_err(perr)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_as_sqlite_writes_them() {
        assert_eq!(real_text(1.0), "1.0");
        assert_eq!(real_text(0.5), "0.5");
        assert_eq!(real_text(-3.0), "-3.0");
    }
}
