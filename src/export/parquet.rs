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
//! held as values; the column chunks of a group are encoded in parallel.
//! Encodings: see [`properties`].

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::column::writer::{get_column_writer, get_typed_column_writer_mut, ColumnWriter};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
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
    let mut w = TableWriter::new(out, def, table, extras, metadata)?;
    let n = table.len();
    let step = rows_per_group.max(1);
    let mut start = 0;
    while start < n {
        let end = (start + step).min(n);
        w.write_group(table, start..end)?;
        start = end;
    }
    w.finish()
}

/// One Parquet file of one table, written a row group at a time (from
/// the whole table or from chunks of it, e.g. [`crate::sql::tables::Store::stream_args`]).
pub struct TableWriter<'d, W: Write + Send> {
    w: SerializedFileWriter<W>,
    props: Arc<WriterProperties>,
    def: &'d TableDef,
    columns: Vec<OutColumn>,
    extras: Vec<Extra>,
    rows: u64,
}

impl<'d, W: Write + Send> TableWriter<'d, W> {
    /// Starts the file: the schema of `def` (an untyped column's type from
    /// the cells of `table`; see the module's table) and the extras it lacks.
    pub fn new(
        out: W,
        def: &'d TableDef,
        table: &dyn Table,
        extras: &[Extra],
        metadata: Vec<(String, String)>,
    ) -> Result<Self, String> {
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
        let props = properties(&columns)
            .set_created_by(format!("breakdown-trace {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(
                metadata
                    .into_iter()
                    .map(|(k, v)| KeyValue::new(k, v))
                    .collect(),
            ))
            .build();
        let props = Arc::new(props);
        let w = SerializedFileWriter::new(out, schema, props.clone()).map_err(perr)?;
        Ok(TableWriter {
            w,
            props,
            def,
            columns,
            extras: extras.to_vec(),
            rows: 0,
        })
    }

    /// Writes rows `rows` of `table` (shape `def`) as one row group. Its
    /// column chunks are encoded in parallel, each into memory, then
    /// appended in order.
    pub fn write_group(
        &mut self,
        table: &dyn Table,
        rows: std::ops::Range<usize>,
    ) -> Result<(), String> {
        use rayon::prelude::*;
        let def = self.def;
        let perr = |e: parquet::errors::ParquetError| format!("table {}: {e}", def.name);
        let schema = self.w.schema_descr();
        let chunks = (0..self.columns.len())
            .into_par_iter()
            .map(|i| {
                let c = &self.columns[i];
                let cerr = |e: parquet::errors::ParquetError| {
                    format!("table {}: column {}: {e}", def.name, c.name)
                };
                let mut sink = TrackedWrite::new(Vec::new());
                let pages = Box::new(SerializedPageWriter::new(&mut sink));
                let mut w = get_column_writer(schema.column(i), self.props.clone(), pages);
                write_column(&mut w, c, def, table, &self.extras, rows.clone())?;
                let close = w.close().map_err(cerr)?;
                let bytes = sink.into_inner().map_err(cerr)?;
                Ok((Bytes::from(bytes), close))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut rg = self.w.next_row_group().map_err(perr)?;
        for (bytes, close) in chunks {
            rg.append_column(&bytes, close).map_err(perr)?;
        }
        rg.close().map_err(perr)?;
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Closes the file; the rows written.
    pub fn finish(self) -> Result<u64, String> {
        let def = self.def;
        self.w
            .close()
            .map_err(|e| format!("table {}: {e}", def.name))?;
        Ok(self.rows)
    }
}

/// Writer properties: Snappy pages. Integers delta-encoded
/// (`DELTA_BINARY_PACKED`: ids and timestamps ascend, so it beats a
/// dictionary that overflows; a quarter of the bytes), reals plain, text
/// dictionary-encoded (names, keys and kinds repeat). Min/max statistics
/// per column chunk (what row-group pruning reads) for numbers, none per
/// page and none for text (names in no order: a range of them prunes
/// nothing, and comparing every value cost a tenth of the writing).
fn properties(columns: &[OutColumn]) -> parquet::file::properties::WriterPropertiesBuilder {
    use parquet::basic::Encoding;
    use parquet::file::properties::EnabledStatistics;
    use parquet::schema::types::ColumnPath;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Chunk);
    for c in columns {
        let path = ColumnPath::from(c.name.as_str());
        b = match c.kind {
            Kind::Int => b
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED),
            Kind::Real => b.set_column_dictionary_enabled(path, false),
            Kind::Text => b.set_column_statistics_enabled(path, EnabledStatistics::None),
        };
    }
    b
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
    col: &mut ColumnWriter<'_>,
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
            get_typed_column_writer_mut::<Int64Type>(col)
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
            get_typed_column_writer_mut::<DoubleType>(col)
                .write_batch(&values, Some(&levels), None)
                .map_err(perr)?;
        }
        Kind::Text => {
            // All the group's text in one buffer; values are slices of it.
            let mut buf: Vec<u8> = Vec::new();
            let mut ends: Vec<usize> = Vec::with_capacity(rows.len());
            for r in rows {
                let present = match &c.from {
                    From::Column(i) => match table.cell(r, *i) {
                        Cell::Null => false,
                        Cell::Text(s) => {
                            buf.extend_from_slice(s.as_bytes());
                            true
                        }
                        Cell::Owned(s) => {
                            buf.extend_from_slice(s.as_bytes());
                            true
                        }
                        Cell::Int(v) => {
                            let _ = write!(buf, "{v}");
                            true
                        }
                        Cell::Real(f) => {
                            buf.extend_from_slice(real_text(f).as_bytes());
                            true
                        }
                    },
                    From::Extra(i) => match &extras[*i].value {
                        Some(ExtraValue::Text(s)) => {
                            buf.extend_from_slice(s.as_bytes());
                            true
                        }
                        Some(ExtraValue::Int(v)) => {
                            let _ = write!(buf, "{v}");
                            true
                        }
                        None => false,
                    },
                };
                if present {
                    ends.push(buf.len());
                }
                levels.push(present as i16);
            }
            let all = Bytes::from(buf);
            let mut start = 0;
            let values: Vec<ByteArray> = ends
                .into_iter()
                .map(|end| {
                    let v = ByteArray::from(all.slice(start..end));
                    start = end;
                    v
                })
                .collect();
            get_typed_column_writer_mut::<ByteArrayType>(col)
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
