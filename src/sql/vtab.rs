//! One read-only SQLite virtual table module for every table of the SQL
//! layer: SQLite reads the model's columns in place (as Perfetto trace
//! processor does with its own tables) instead of a copy made with one
//! `INSERT` per row.
//!
//! A table is a [`Table`]: its columns ([`Column`]), a row count and a
//! cell reader. Tables are registered as eponymous virtual tables named
//! after the table, so `SELECT * FROM slice` needs no `CREATE` statement.
//! Their contents are built on first use ([`Lazy`]), so a command pays only
//! for the tables its SQL reads.
//!
//! Constraint push-down (`xBestIndex`, <https://sqlite.org/vtab.html>):
//! - equality on a column whose value is the row index ([`Access::RowIndex`]),
//!   whose values never decrease with the row ([`Access::Sorted`]: binary
//!   search; ranges too), or that has an equality index
//!   ([`Access::Lookup`]: a `(key, row)` list sorted once, on first use);
//! - `ORDER BY` a prefix of the table's row order ([`TableDef::order`]) is
//!   reported as already satisfied when the rows come out in row order.
//!
//! An `IN` list on a searchable column is taken all at once
//! (`sqlite3_vtab_in`), so its rows still come out in row order — the order
//! a scan gives, which decides how SQL without a total `ORDER BY` breaks
//! ties. Constraints are never marked omitted: SQLite checks each returned
//! row again, so a plan only has to return a superset of the matching rows
//! (which keeps SQLite's comparison and affinity rules in charge).
//!
//! The module is written against SQLite's C interface (rusqlite's `ffi`):
//! rusqlite's safe wrapper offers no all-at-once `IN`.

use std::ffi::{c_char, c_int, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::{ffi, Connection};

/// A cell as a table hands it to SQLite; text is borrowed from the model.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    /// Text made for this cell (e.g. a location rendered on demand).
    Owned(String),
}

impl<'a> From<Option<i64>> for Cell<'a> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Cell::Null, Cell::Int)
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Cell::Null, Cell::Text)
    }
}

impl<'a> From<Option<f64>> for Cell<'a> {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Null, Cell::Real)
    }
}

impl<'a> From<&'a rusqlite::types::Value> for Cell<'a> {
    fn from(v: &'a rusqlite::types::Value) -> Self {
        use rusqlite::types::Value as V;
        match v {
            V::Null | V::Blob(_) => Cell::Null,
            V::Integer(i) => Cell::Int(*i),
            V::Real(f) => Cell::Real(*f),
            V::Text(s) => Cell::Text(s),
        }
    }
}

/// How equality and range constraints on a column can be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Only by scanning.
    Scan,
    /// The value is the row index (`id` columns): direct.
    RowIndex,
    /// Integer values, never NULL, that never decrease with the row index:
    /// binary search (equality and ranges).
    Sorted,
    /// Equality through an index of `(key, row)` built on first use; the
    /// table maps cells and constants to integer keys ([`Table::key`]).
    Lookup,
}

/// One column: its SQL declaration and how it can be searched.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    /// Declared type: `INTEGER`, `REAL`, `TEXT` or empty (any).
    pub ty: &'static str,
    pub not_null: bool,
    /// `Some(expr)`: a generated column in a `db` file (`GENERATED ALWAYS
    /// AS (expr) VIRTUAL`); the virtual table serves it like any other.
    pub generated: Option<&'static str>,
    pub access: Access,
    /// The column's keys sort as its values do (SQLite's BINARY order), so
    /// an `ORDER BY` on it can be served from its keys (text columns only;
    /// integer keys are the values).
    pub keys_sorted: bool,
}

impl Column {
    /// A nullable, scan-only column of SQL type `ty`.
    pub fn new(name: impl Into<String>, ty: &'static str) -> Self {
        Column {
            name: name.into(),
            ty,
            not_null: false,
            generated: None,
            access: Access::Scan,
            keys_sorted: false,
        }
    }
    /// See [`Column::keys_sorted`].
    pub fn keys_sorted(mut self) -> Self {
        self.keys_sorted = true;
        self
    }
    /// Declared `NOT NULL` (the table never gives NULL).
    pub fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }
    /// How constraints on it are answered.
    pub fn access(mut self, a: Access) -> Self {
        self.access = a;
        self
    }
    /// See [`Column::generated`].
    pub fn generated(mut self, expr: &'static str) -> Self {
        self.generated = Some(expr);
        self
    }
}

/// A table's shape, known before its rows are built.
#[derive(Clone, Debug)]
pub struct TableDef {
    pub name: &'static str,
    /// Column 0 is the primary key in a `db` file: `id INTEGER` in every
    /// table but `warning_count` (`kind TEXT`).
    pub columns: Vec<Column>,
    /// Columns whose lexicographic order is the row order (e.g. `ts, id`).
    pub order: Vec<usize>,
    /// Whether column 0 is unique and ascends with the rows (then it is
    /// also the rowid SQLite sees).
    pub unique_first: bool,
}

impl TableDef {
    /// Index of the column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    fn col_decl(&self, i: usize, for_file: bool) -> String {
        let c = &self.columns[i];
        let mut s = format!("\"{}\"", c.name);
        if !c.ty.is_empty() {
            s.push(' ');
            s.push_str(c.ty);
        }
        if for_file && i == 0 {
            s.push_str(" PRIMARY KEY");
        }
        if c.not_null {
            s.push_str(" NOT NULL");
        }
        if let (true, Some(g)) = (for_file, c.generated) {
            s.push_str(&format!(" GENERATED ALWAYS AS ({g}) VIRTUAL"));
        }
        s
    }

    /// `CREATE TABLE` for an ordinary SQLite file (`db`): the same columns,
    /// `id` as `INTEGER PRIMARY KEY`, generated columns as such.
    pub fn create_table(&self, schema: &str) -> String {
        let cols: Vec<String> = (0..self.columns.len())
            .map(|i| self.col_decl(i, true))
            .collect();
        format!(
            "CREATE TABLE {schema}.{} (\n  {}\n)",
            self.name,
            cols.join(",\n  ")
        )
    }

    /// Names of the stored (not generated) columns, quoted, comma separated.
    pub fn stored_columns(&self) -> String {
        self.columns
            .iter()
            .filter(|c| c.generated.is_none())
            .map(|c| format!("\"{}\"", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn declare(&self) -> String {
        let cols: Vec<String> = (0..self.columns.len())
            .map(|i| self.col_decl(i, false))
            .collect();
        format!("CREATE TABLE x({})", cols.join(", "))
    }
}

/// Rows of one table, read in place.
pub trait Table: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The cell at `row`, `col` (`row < len()`).
    fn cell(&self, row: usize, col: usize) -> Cell<'_>;
    /// Integer key of a [`Access::Sorted`] or [`Access::Lookup`] cell; `None`
    /// for NULL. The default reads integer cells.
    fn key(&self, row: usize, col: usize) -> Option<i64> {
        match self.cell(row, col) {
            Cell::Int(i) => Some(i),
            _ => None,
        }
    }
    /// Key of a text constant compared with a text [`Access::Lookup`]
    /// column: `Some(None)` when no row can hold it, `None` when this
    /// column has no text keys (then the lookup falls back to a scan).
    fn text_key(&self, _col: usize, _text: &str) -> Option<Option<i64>> {
        None
    }
}

/// An equality index: `(key, row)` sorted.
struct KeyIndex {
    keys: Vec<i64>,
    rows: Vec<u32>,
}

impl KeyIndex {
    fn build(t: &dyn Table, col: usize) -> KeyIndex {
        let mut pairs: Vec<(i64, u32)> = (0..t.len())
            .filter_map(|r| t.key(r, col).map(|k| (k, r as u32)))
            .collect();
        pairs.sort_unstable();
        KeyIndex {
            keys: pairs.iter().map(|p| p.0).collect(),
            rows: pairs.iter().map(|p| p.1).collect(),
        }
    }

    fn range(&self, key: i64) -> (usize, usize) {
        let lo = self.keys.partition_point(|&k| k < key);
        let hi = self.keys.partition_point(|&k| k <= key);
        (lo, hi)
    }
}

/// An order plan: its columns and, once built, the rows in that order.
type OrderPlan = (Vec<usize>, Option<Arc<Vec<u32>>>);

/// A table whose rows are built on first use, with its equality indexes
/// and the row orders plans asked for.
pub struct Lazy {
    pub def: TableDef,
    build: Box<dyn Fn() -> Box<dyn Table> + Send + Sync>,
    rows: OnceLock<Box<dyn Table>>,
    indexes: Vec<OnceLock<Arc<KeyIndex>>>,
    /// Column lists of [`PLAN_ORDER`] plans (the plan names its position)
    /// and, once built, the rows in that order.
    orders: Mutex<Vec<OrderPlan>>,
}

impl Lazy {
    /// A table of shape `def` whose rows `build` makes on first use.
    pub fn new(def: TableDef, build: impl Fn() -> Box<dyn Table> + Send + Sync + 'static) -> Self {
        let n = def.columns.len();
        Lazy {
            def,
            build: Box::new(build),
            rows: OnceLock::new(),
            indexes: (0..n).map(|_| OnceLock::new()).collect(),
            orders: Mutex::new(Vec::new()),
        }
    }

    /// The number of the order plan over `cols`, registered if new.
    fn order_plan(&self, cols: &[usize]) -> usize {
        let mut o = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        match o.iter().position(|(c, _)| c == cols) {
            Some(i) => i,
            None => {
                o.push((cols.to_vec(), None));
                o.len() - 1
            }
        }
    }

    /// Rows sorted by the keys of order plan `plan`'s columns, then by row.
    fn ordered_rows(&self, plan: usize) -> Option<Arc<Vec<u32>>> {
        let cols = {
            let o = self.orders.lock().unwrap_or_else(|e| e.into_inner());
            let (cols, built) = o.get(plan)?;
            if let Some(b) = built {
                return Some(b.clone());
            }
            cols.clone()
        };
        let t = self.table();
        let key = |r: usize, i: usize| cols.get(i).and_then(|&c| t.key(r, c));
        let mut keyed: Vec<([Option<i64>; MAX_ORDER], u32)> = (0..t.len())
            .map(|r| ([key(r, 0), key(r, 1), key(r, 2)], r as u32))
            .collect();
        keyed.sort_unstable();
        let rows = Arc::new(keyed.into_iter().map(|(_, r)| r).collect::<Vec<u32>>());
        let mut o = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        o[plan].1 = Some(rows.clone());
        Some(rows)
    }

    /// The rows, built now if this is the first use.
    pub fn table(&self) -> &dyn Table {
        self.rows.get_or_init(|| (self.build)()).as_ref()
    }

    fn index(&self, col: usize) -> Arc<KeyIndex> {
        self.indexes[col]
            .get_or_init(|| Arc::new(KeyIndex::build(self.table(), col)))
            .clone()
    }
}

/// Registers `tables` on `conn` as eponymous virtual tables.
pub fn register(conn: &Connection, tables: &[Arc<Lazy>]) -> rusqlite::Result<()> {
    for t in tables {
        let name = CString::new(t.def.name).expect("table names have no NUL");
        let aux = Box::into_raw(Box::new(t.clone()));
        // SAFETY: `handle` is this open connection; SQLite owns `aux` from
        // here and frees it with `drop_aux` when the module goes.
        let rc = unsafe {
            ffi::sqlite3_create_module_v2(
                conn.handle(),
                name.as_ptr(),
                &MODULE,
                aux.cast(),
                Some(drop_aux),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(rusqlite::Error::SqliteFailure(
                ffi::Error::new(rc),
                Some(format!("registering table {}", t.def.name)),
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------ the module

/// Eponymous-only: no `xCreate`, so each table exists under the module's
/// name in every schema search without a `CREATE VIRTUAL TABLE`.
static MODULE: ffi::sqlite3_module = ffi::sqlite3_module {
    iVersion: 1,
    xCreate: None,
    xConnect: Some(x_connect),
    xBestIndex: Some(x_best_index),
    xDisconnect: Some(x_disconnect),
    xDestroy: None,
    xOpen: Some(x_open),
    xClose: Some(x_close),
    xFilter: Some(x_filter),
    xNext: Some(x_next),
    xEof: Some(x_eof),
    xColumn: Some(x_column),
    xRowid: Some(x_rowid),
    // SAFETY: every other member is an optional callback; zero is `None`.
    ..unsafe { std::mem::zeroed() }
};

#[repr(C)]
struct ModelTab {
    base: ffi::sqlite3_vtab,
    table: Arc<Lazy>,
}

#[repr(C)]
struct ModelCursor {
    base: ffi::sqlite3_vtab_cursor,
    table: Arc<Lazy>,
    rows: Rows,
    pos: usize,
}

/// Runs a callback body; a panic becomes `SQLITE_ERROR` instead of
/// unwinding into C.
fn guard(f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(ffi::SQLITE_ERROR)
}

unsafe extern "C" fn drop_aux(p: *mut c_void) {
    // SAFETY: `p` is the box made in `register`, freed once by SQLite.
    drop(unsafe { Box::from_raw(p.cast::<Arc<Lazy>>()) });
}

unsafe extern "C" fn x_connect(
    db: *mut ffi::sqlite3,
    aux: *mut c_void,
    _argc: c_int,
    _argv: *const *const c_char,
    out: *mut *mut ffi::sqlite3_vtab,
    _err: *mut *mut c_char,
) -> c_int {
    guard(|| {
        // SAFETY: `aux` is the `Arc<Lazy>` given to `register`.
        let table = unsafe { &*aux.cast::<Arc<Lazy>>() }.clone();
        let Ok(decl) = CString::new(table.def.declare()) else {
            return ffi::SQLITE_ERROR;
        };
        // SAFETY: called from xConnect, as sqlite3_declare_vtab requires.
        let rc = unsafe { ffi::sqlite3_declare_vtab(db, decl.as_ptr()) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let tab = Box::new(ModelTab {
            // SAFETY: plain C struct; SQLite fills it.
            base: unsafe { std::mem::zeroed() },
            table,
        });
        // SAFETY: `out` is SQLite's out-parameter.
        unsafe { *out = Box::into_raw(tab).cast() };
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_disconnect(tab: *mut ffi::sqlite3_vtab) -> c_int {
    // SAFETY: `tab` was made by `x_connect`.
    drop(unsafe { Box::from_raw(tab.cast::<ModelTab>()) });
    ffi::SQLITE_OK
}

/// A plan chosen by `best_index`, passed to `filter` as `idx_num`: bits
/// 0..2 the kind, bit 3 set when argv\[0\] is an all-at-once `IN` list,
/// bits 4..14 the column, then 3 bits per range operator of argv in order.
const PLAN_SCAN: c_int = 0;
const PLAN_EQ: c_int = 1;
const PLAN_RANGE: c_int = 2;
/// All rows, in the order of up to [`MAX_ORDER`] columns' keys (an
/// `ORDER BY` on integer columns, or a `GROUP BY`, which only needs equal
/// values together); the column bits hold the plan's number.
const PLAN_ORDER: c_int = 3;
const MAX_ORDER: usize = 3;
/// Equality on a searchable column (argv\[0\], an `IN` list too) narrowed
/// by a range on the column the rows are ordered by (`ts`): the equal rows
/// come in row order, so the range is a binary search within them. The
/// range operators of argv\[1..\] are coded from [`OPS_SHIFT`] on.
const PLAN_EQ_RANGE: c_int = 4;
const PLAN_IN: c_int = 8;
const COL_SHIFT: u32 = 4;
const COL_MASK: c_int = 0x3ff;
const OPS_SHIFT: u32 = 14;
/// Range constraints one plan takes at most (5 × 3 bits fit above bit 14).
const MAX_RANGE: usize = 5;

unsafe extern "C" fn x_best_index(
    tab: *mut ffi::sqlite3_vtab,
    info: *mut ffi::sqlite3_index_info,
) -> c_int {
    guard(|| {
        // SAFETY: SQLite passes the table made by `x_connect` and a valid
        // index info whose arrays have the stated lengths.
        let (tab, info) = unsafe { (&*tab.cast::<ModelTab>(), &mut *info) };
        unsafe { best_index(&tab.table, info) };
        ffi::SQLITE_OK
    })
}

/// # Safety
/// `info` must be the index info of an `xBestIndex` call.
unsafe fn best_index(table: &Lazy, info: &mut ffi::sqlite3_index_info) {
    let def = &table.def;
    let cons: &[ffi::sqlite3_index_constraint] = if info.nConstraint > 0 {
        unsafe { std::slice::from_raw_parts(info.aConstraint, info.nConstraint as usize) }
    } else {
        &[]
    };
    let order: &[ffi::sqlite3_index_orderby] = if info.nOrderBy > 0 {
        unsafe { std::slice::from_raw_parts(info.aOrderBy, info.nOrderBy as usize) }
    } else {
        &[]
    };
    // Row counts are known only once built; before that, plan with a large
    // guess so that lookups win over scans.
    let n = table.rows.get().map_or(1e6, |t| t.len().max(1) as f64);
    let log_n = n.log2().max(1.0);
    // Best plan: (cost, rows, kind, col, constraints used).
    let mut best: Option<(f64, f64, c_int, usize, Vec<usize>)> = None;
    let mut ranges: Vec<Vec<(usize, Op)>> = vec![Vec::new(); def.columns.len()];
    for (i, c) in cons.iter().enumerate() {
        let col = c.iColumn;
        if c.usable == 0 || col < 0 || col as usize >= def.columns.len() || col > COL_MASK {
            continue;
        }
        let col = col as usize;
        let access = def.columns[col].access;
        match Op::of(c.op) {
            Op::Eq if access != Access::Scan => {
                let text = def.columns[col].ty == "TEXT";
                // Text lookups match bytes: only for BINARY comparisons.
                // SAFETY: inside xBestIndex, with a constraint index.
                if text && !unsafe { binary_collation(info, i) } {
                    continue;
                }
                let unique = access == Access::RowIndex || (col == 0 && def.unique_first);
                let rows = match access {
                    _ if unique => 1.0,
                    _ if def.columns[col].ty == "TEXT" => (n / 20.0).max(1.0),
                    _ => 4.0f64.min(n),
                };
                let cost = rows + log_n;
                if best.as_ref().is_none_or(|b| cost < b.0) {
                    best = Some((cost, rows, PLAN_EQ, col, vec![i]));
                }
            }
            op @ (Op::Gt | Op::Ge | Op::Lt | Op::Le)
                if matches!(access, Access::RowIndex | Access::Sorted)
                    && ranges[col].len() < MAX_RANGE =>
            {
                ranges[col].push((i, op));
            }
            _ => {}
        }
    }
    for (col, r) in ranges.iter().enumerate() {
        if r.is_empty() {
            continue;
        }
        let both = r.iter().any(|(_, o)| o.is_lower()) && r.iter().any(|(_, o)| !o.is_lower());
        let rows = if both { n / 16.0 } else { n / 4.0 };
        let cost = rows + log_n;
        if best.as_ref().is_none_or(|b| cost < b.0) {
            let ops = r.iter().map(|(i, _)| *i).collect();
            best = Some((cost, rows, PLAN_RANGE, col, ops));
        }
    }
    // Equality narrowed by a range on the ordering column: better than
    // either alone (a track's slices within a time window).
    let ord_col = def
        .order
        .first()
        .copied()
        .filter(|&c| matches!(def.columns[c].access, Access::Sorted | Access::RowIndex));
    if let (Some((_, rows, PLAN_EQ, col, used)), Some(oc)) = (&best, ord_col) {
        let (rows, col, eq) = (*rows, *col, used[0]);
        if col != oc && !ranges[oc].is_empty() && def.columns[col].access != Access::RowIndex {
            let r = &ranges[oc];
            let both = r.iter().any(|(_, o)| o.is_lower()) && r.iter().any(|(_, o)| !o.is_lower());
            let rows = (if both { rows / 8.0 } else { rows / 3.0 }).max(1.0);
            let mut all = vec![eq];
            all.extend(r.iter().take(MAX_RANGE - 1).map(|(i, _)| *i));
            best = Some((rows + 2.0 * log_n, rows, PLAN_EQ_RANGE, col, all));
        }
    }
    let constrained = best.is_some();
    match best {
        Some((cost, rows, kind, col, used)) => {
            let mut idx = kind | (col as c_int) << COL_SHIFT;
            for (argv, &i) in used.iter().enumerate() {
                // SAFETY: `i` < nConstraint.
                let u = unsafe { &mut *info.aConstraintUsage.add(i) };
                u.argvIndex = argv as c_int + 1;
                u.omit = 0;
                let code = match Op::of(cons[i].op) {
                    Op::Gt => 1,
                    Op::Ge => 2,
                    Op::Lt => 3,
                    _ => 4,
                };
                if kind == PLAN_RANGE {
                    idx |= code << (OPS_SHIFT + 3 * argv as u32);
                } else if kind == PLAN_EQ_RANGE && argv > 0 {
                    idx |= code << (OPS_SHIFT + 3 * (argv as u32 - 1));
                }
            }
            if kind == PLAN_EQ || kind == PLAN_EQ_RANGE {
                // SAFETY: inside xBestIndex, with a constraint index.
                let is_in = unsafe { ffi::sqlite3_vtab_in(info, used[0] as c_int, -1) } != 0;
                if is_in {
                    // Take the whole list in one `filter`: rows stay in
                    // row order. SAFETY: as above.
                    unsafe { ffi::sqlite3_vtab_in(info, used[0] as c_int, 1) };
                    idx |= PLAN_IN;
                } else if kind == PLAN_EQ
                    && (def.columns[col].access == Access::RowIndex
                        || (col == 0 && def.unique_first))
                {
                    info.idxFlags |= ffi::SQLITE_INDEX_SCAN_UNIQUE;
                }
            }
            info.idxNum = idx;
            info.estimatedCost = cost;
            info.estimatedRows = rows as i64;
        }
        None => {
            info.idxNum = PLAN_SCAN;
            info.estimatedCost = n;
            info.estimatedRows = n as i64;
        }
    }
    // Every plan above returns rows in row order (an IN list too: all at
    // once). Without constraints, another order can come from its keys.
    if !order.is_empty() {
        if order_is_row_order(def, order) {
            info.orderByConsumed = 1;
        } else if !constrained {
            if let Some(cols) = keyed_order(def, order) {
                let plan = table.order_plan(&cols) as c_int;
                if plan <= COL_MASK {
                    info.idxNum = PLAN_ORDER | plan << COL_SHIFT;
                    info.estimatedCost = n * 1.1;
                    info.orderByConsumed = 1;
                }
            }
        }
    }
}

/// The columns of an `ORDER BY` (or of a `GROUP BY`, which SQLite passes
/// the same way) that the rows' keys can deliver: ascending terms on
/// searchable columns whose keys sort as the values do. (SQLite passes an
/// `ORDER BY` term only when its collation is the column's, BINARY.)
fn keyed_order(def: &TableDef, order: &[ffi::sqlite3_index_orderby]) -> Option<Vec<usize>> {
    if order.len() > MAX_ORDER {
        return None;
    }
    let mut cols = Vec::new();
    for ob in order {
        let c = usize::try_from(ob.iColumn).ok()?;
        let col = def.columns.get(c)?;
        let usable =
            ob.desc == 0 && col.access != Access::Scan && (col.keys_sorted || col.ty != "TEXT");
        if !usable {
            return None;
        }
        cols.push(c);
    }
    Some(cols)
}

/// Whether constraint `i` compares with the BINARY collation.
///
/// # Safety
/// Only inside `xBestIndex`, with `i` < `nConstraint`.
unsafe fn binary_collation(info: &mut ffi::sqlite3_index_info, i: usize) -> bool {
    let name = unsafe { ffi::sqlite3_vtab_collation(info, i as c_int) };
    name.is_null()
        || unsafe { std::ffi::CStr::from_ptr(name) }
            .to_bytes()
            .eq_ignore_ascii_case(b"BINARY")
}

/// The constraint operators a plan can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
    Other,
}

impl Op {
    fn of(op: u8) -> Op {
        match op as c_int {
            ffi::SQLITE_INDEX_CONSTRAINT_EQ => Op::Eq,
            ffi::SQLITE_INDEX_CONSTRAINT_GT => Op::Gt,
            ffi::SQLITE_INDEX_CONSTRAINT_GE => Op::Ge,
            ffi::SQLITE_INDEX_CONSTRAINT_LT => Op::Lt,
            ffi::SQLITE_INDEX_CONSTRAINT_LE => Op::Le,
            _ => Op::Other,
        }
    }

    fn is_lower(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
}

/// Whether `ORDER BY` is satisfied by row order: ascending terms that
/// follow the table's order columns, or that reach a unique column.
fn order_is_row_order(def: &TableDef, order: &[ffi::sqlite3_index_orderby]) -> bool {
    for (k, ob) in order.iter().enumerate() {
        if ob.desc != 0 || ob.iColumn < 0 {
            return false;
        }
        let col = ob.iColumn as usize;
        if def.unique_first && col == 0 {
            return true; // unique: what follows cannot reorder
        }
        if def.order.get(k) != Some(&col) {
            return false;
        }
    }
    true
}

unsafe extern "C" fn x_open(
    tab: *mut ffi::sqlite3_vtab,
    out: *mut *mut ffi::sqlite3_vtab_cursor,
) -> c_int {
    guard(|| {
        // SAFETY: `tab` was made by `x_connect`; `out` is an out-parameter.
        let tab = unsafe { &*tab.cast::<ModelTab>() };
        let cur = Box::new(ModelCursor {
            base: unsafe { std::mem::zeroed() },
            table: tab.table.clone(),
            rows: Rows::Range(0, 0),
            pos: 0,
        });
        unsafe { *out = Box::into_raw(cur).cast() };
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_close(cur: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: `cur` was made by `x_open`.
    drop(unsafe { Box::from_raw(cur.cast::<ModelCursor>()) });
    ffi::SQLITE_OK
}

/// A filter argument, read from SQLite.
#[derive(Clone, Debug, PartialEq)]
enum Arg {
    Null,
    Int(i64),
    Text(String),
    /// A real, blob or text that is not UTF-8: compared by SQLite.
    Other,
}

/// # Safety
/// `v` must be a valid protected value.
unsafe fn arg_of(v: *mut ffi::sqlite3_value) -> Arg {
    unsafe {
        match ffi::sqlite3_value_type(v) {
            ffi::SQLITE_NULL => Arg::Null,
            ffi::SQLITE_INTEGER => Arg::Int(ffi::sqlite3_value_int64(v)),
            ffi::SQLITE_TEXT => {
                let p = ffi::sqlite3_value_text(v);
                let n = ffi::sqlite3_value_bytes(v);
                if p.is_null() {
                    return Arg::Other;
                }
                let bytes = std::slice::from_raw_parts(p, n.max(0) as usize);
                std::str::from_utf8(bytes).map_or(Arg::Other, |s| Arg::Text(s.to_owned()))
            }
            _ => Arg::Other,
        }
    }
}

unsafe extern "C" fn x_filter(
    cur: *mut ffi::sqlite3_vtab_cursor,
    idx_num: c_int,
    _idx_str: *const c_char,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) -> c_int {
    guard(|| {
        // SAFETY: `cur` was made by `x_open`; argv has argc values.
        let cur = unsafe { &mut *cur.cast::<ModelCursor>() };
        let argv: &[*mut ffi::sqlite3_value] = if argc > 0 {
            unsafe { std::slice::from_raw_parts(argv, argc as usize) }
        } else {
            &[]
        };
        let args: Vec<Vec<Arg>> = if idx_num & PLAN_IN != 0 {
            let mut list = Vec::new();
            let mut v: *mut ffi::sqlite3_value = std::ptr::null_mut();
            // SAFETY: argv[0] was selected for all-at-once IN handling.
            let mut rc = unsafe { ffi::sqlite3_vtab_in_first(argv[0], &mut v) };
            while rc == ffi::SQLITE_OK && !v.is_null() {
                list.push(unsafe { arg_of(v) });
                rc = unsafe { ffi::sqlite3_vtab_in_next(argv[0], &mut v) };
            }
            if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_DONE {
                return rc;
            }
            vec![list]
        } else {
            argv.iter().map(|&v| vec![unsafe { arg_of(v) }]).collect()
        };
        cur.filter(idx_num, &args);
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_next(cur: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: `cur` was made by `x_open`.
    unsafe { &mut *cur.cast::<ModelCursor>() }.pos += 1;
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_eof(cur: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: `cur` was made by `x_open`.
    let cur = unsafe { &*cur.cast::<ModelCursor>() };
    (cur.pos >= cur.len()) as c_int
}

unsafe extern "C" fn x_column(
    cur: *mut ffi::sqlite3_vtab_cursor,
    ctx: *mut ffi::sqlite3_context,
    i: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: `cur` was made by `x_open`, positioned on a row; `ctx` is
        // this call's result context. Text is copied (SQLITE_TRANSIENT).
        let cur = unsafe { &*cur.cast::<ModelCursor>() };
        let t = cur.table.table();
        let text = |s: &str| unsafe {
            ffi::sqlite3_result_text64(
                ctx,
                s.as_ptr().cast(),
                s.len() as u64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            )
        };
        match t.cell(cur.row(), i as usize) {
            Cell::Null => unsafe { ffi::sqlite3_result_null(ctx) },
            Cell::Int(v) => unsafe { ffi::sqlite3_result_int64(ctx, v) },
            Cell::Real(v) => unsafe { ffi::sqlite3_result_double(ctx, v) },
            Cell::Text(s) => text(s),
            Cell::Owned(s) => text(&s),
        }
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_rowid(
    cur: *mut ffi::sqlite3_vtab_cursor,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    guard(|| {
        // SAFETY: `cur` was made by `x_open`; `out` is an out-parameter.
        let cur = unsafe { &*cur.cast::<ModelCursor>() };
        let row = cur.row();
        let def = &cur.table.def;
        let id = match def.columns[0].access {
            Access::Sorted if def.unique_first => {
                cur.table.table().key(row, 0).unwrap_or(row as i64)
            }
            // A text key (`warning_count.kind`): rowids from 1, as in a file.
            _ if def.columns[0].ty == "TEXT" => row as i64 + 1,
            _ => row as i64,
        };
        unsafe { *out = id };
        ffi::SQLITE_OK
    })
}

/// The rows a cursor walks.
enum Rows {
    /// Rows `a..b` in order.
    Range(usize, usize),
    /// `index.rows[a..b]`.
    Indexed(Arc<KeyIndex>, usize, usize),
    /// Rows in order (the union of an `IN` list's lookups).
    List(Vec<u32>),
    /// All rows in a [`PLAN_ORDER`] order.
    Ordered(Arc<Vec<u32>>),
}

impl ModelCursor {
    fn row(&self) -> usize {
        match &self.rows {
            Rows::Range(a, _) => a + self.pos,
            Rows::Indexed(ix, a, _) => ix.rows[a + self.pos] as usize,
            Rows::List(v) => v[self.pos] as usize,
            Rows::Ordered(v) => v[self.pos] as usize,
        }
    }

    fn len(&self) -> usize {
        match &self.rows {
            Rows::Range(a, b) | Rows::Indexed(_, a, b) => b - a,
            Rows::List(v) => v.len(),
            Rows::Ordered(v) => v.len(),
        }
    }

    /// Keeps the rows whose column `oc` (ascending along the rows) is within
    /// `bounds` (operator code as in [`PLAN_RANGE`], value): two binary
    /// searches. Non-integer bounds are left to SQLite.
    fn narrow(&mut self, t: &dyn Table, oc: usize, bounds: &[(c_int, &Arg)]) {
        let list: Vec<u32>;
        let rows: &[u32] = match &self.rows {
            Rows::Range(a, b) => {
                list = (*a as u32..*b as u32).collect();
                &list
            }
            Rows::Indexed(ix, a, b) => &ix.rows[*a..*b],
            Rows::List(v) => v,
            Rows::Ordered(v) => v,
        };
        let key = |p: usize| t.key(rows[p] as usize, oc).unwrap_or(i64::MIN);
        let first_at_least = |k: i64| -> usize {
            let (mut lo, mut hi) = (0, rows.len());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if key(mid) < k {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let after = |k: i64| k.checked_add(1).map_or(rows.len(), first_at_least);
        let (mut a, mut b) = (0, rows.len());
        for &(code, v) in bounds {
            let k = match v {
                Arg::Int(k) => *k,
                Arg::Null => {
                    b = 0;
                    continue;
                }
                _ => continue,
            };
            match code {
                1 => a = a.max(after(k)),
                2 => a = a.max(first_at_least(k)),
                3 => b = b.min(first_at_least(k)),
                _ => b = b.min(after(k)),
            }
        }
        let kept = rows[a..b.max(a)].to_vec();
        self.rows = Rows::List(kept);
    }

    /// Positions the cursor on the rows of plan `idx_num` with `args` (one
    /// list per argv entry; several values only for an `IN` list).
    fn filter(&mut self, idx_num: c_int, args: &[Vec<Arg>]) {
        let lazy = self.table.clone();
        let t = lazy.table();
        let n = t.len();
        let col = ((idx_num >> COL_SHIFT) & COL_MASK) as usize;
        self.pos = 0;
        self.rows = Rows::Range(0, n);
        match idx_num & 7 {
            kind @ (PLAN_EQ | PLAN_EQ_RANGE) => {
                let values = args.first().map(Vec::as_slice).unwrap_or(&[]);
                let mut parts: Vec<Rows> = Vec::with_capacity(values.len());
                for v in values {
                    match lookup(&lazy, t, col, v) {
                        Some(r) => parts.push(r),
                        None => return, // scan; SQLite compares
                    }
                }
                self.rows = match parts.len() {
                    1 => parts.pop().expect("one part"),
                    _ => {
                        let mut all: Vec<u32> = Vec::new();
                        for p in &parts {
                            match p {
                                Rows::Range(a, b) => all.extend(*a as u32..*b as u32),
                                Rows::Indexed(ix, a, b) => all.extend_from_slice(&ix.rows[*a..*b]),
                                Rows::List(v) => all.extend_from_slice(v),
                                Rows::Ordered(v) => all.extend_from_slice(v),
                            }
                        }
                        all.sort_unstable();
                        all.dedup();
                        Rows::List(all)
                    }
                };
                if kind == PLAN_EQ_RANGE {
                    let Some(oc) = lazy.def.order.first().copied() else {
                        return;
                    };
                    let bounds: Vec<(c_int, &Arg)> = args[1..]
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| {
                            Some(((idx_num >> (OPS_SHIFT + 3 * i as u32)) & 7, v.first()?))
                        })
                        .collect();
                    self.narrow(t, oc, &bounds);
                }
            }
            PLAN_RANGE => {
                let (mut a, mut b) = (0usize, n);
                let row_index = lazy.def.columns[col].access == Access::RowIndex;
                for (i, v) in args.iter().enumerate() {
                    let code = (idx_num >> (OPS_SHIFT + 3 * i as u32)) & 7;
                    // Non-integer bounds (reals, text): leave the range open
                    // and let SQLite compare.
                    let k = match v.first() {
                        Some(Arg::Int(k)) => *k,
                        Some(Arg::Null) => {
                            b = 0; // comparisons with NULL match nothing
                            continue;
                        }
                        _ => continue,
                    };
                    let first_at_least = |key: i64| -> usize {
                        if row_index {
                            key.clamp(0, n as i64) as usize
                        } else {
                            lower_bound(t, col, key)
                        }
                    };
                    let after = |key: i64| key.checked_add(1).map_or(n, first_at_least);
                    match code {
                        1 => a = a.max(after(k)),
                        2 => a = a.max(first_at_least(k)),
                        3 => b = b.min(first_at_least(k)),
                        _ => b = b.min(after(k)),
                    }
                }
                self.rows = Rows::Range(a, b.max(a));
            }
            PLAN_ORDER => {
                if let Some(rows) = lazy.ordered_rows(col) {
                    self.rows = Rows::Ordered(rows);
                }
            }
            _ => {}
        }
    }
}

/// The rows where column `col` equals `v`, or `None` when only a scan can
/// tell (a value of another type: SQLite's affinity rules decide).
fn lookup(lazy: &Lazy, t: &dyn Table, col: usize, v: &Arg) -> Option<Rows> {
    let c = &lazy.def.columns[col];
    let n = t.len();
    let key: Option<i64> = match (v, c.access) {
        (Arg::Null, _) => return Some(Rows::Range(0, 0)), // `= NULL` matches nothing
        (Arg::Text(s), Access::Lookup) if c.ty == "TEXT" => t.text_key(col, s)?,
        (Arg::Int(i), _) if c.ty != "TEXT" => Some(*i),
        _ => return None,
    };
    let Some(k) = key else {
        return Some(Rows::Range(0, 0)); // a text no row holds
    };
    Some(match c.access {
        Access::RowIndex => {
            if k >= 0 && (k as usize) < n {
                Rows::Range(k as usize, k as usize + 1)
            } else {
                Rows::Range(0, 0)
            }
        }
        Access::Sorted => {
            let a = lower_bound(t, col, k);
            let b = k.checked_add(1).map_or(n, |k1| lower_bound(t, col, k1));
            Rows::Range(a, b)
        }
        Access::Lookup => {
            let ix = lazy.index(col);
            let (a, b) = ix.range(k);
            Rows::Indexed(ix, a, b)
        }
        Access::Scan => return None,
    })
}

/// First row whose sorted key is >= `key` (keys never decrease).
fn lower_bound(t: &dyn Table, col: usize, key: i64) -> usize {
    let (mut lo, mut hi) = (0, t.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if t.key(mid, col).unwrap_or(i64::MIN) < key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}
