//! `warning` (the first `Warnings::DETAIL_LIMIT` of each kind, with where
//! they were found) and `warning_count` (every warning, counted by kind).

use std::sync::Arc;

use rusqlite::types::Value;

use super::{def, id_column, opt_int, opt_text, Store, ValueRows};
use crate::model::Location;
use crate::sql::vtab::{Column, Lazy, TableDef};

/// `warning` and `warning_count` over `store`.
pub fn tables(store: &Arc<Store>) -> Vec<Arc<Lazy>> {
    let s = store.clone();
    let warning = Lazy::new(
        def(
            "warning",
            vec![
                id_column(),
                Column::new("kind", "TEXT").not_null(),
                Column::new("input", "TEXT"),
                Column::new("location", "TEXT").not_null(),
                Column::new("record_index", "INTEGER"),
                Column::new("line", "INTEGER"),
                Column::new("field", "TEXT"),
                Column::new("message", "TEXT"),
            ],
        ),
        move || {
            let rows = s
                .trace
                .warnings
                .list
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let (idx, line) = match w.location {
                        Location::File => (None, None),
                        Location::Index(i) => (Some(i), None),
                        Location::Line(l) => (None, Some(l)),
                    };
                    vec![
                        Value::Integer(i as i64),
                        Value::Text(w.kind.to_owned()),
                        opt_text(s.input_path(w.input)),
                        Value::Text(w.location.to_string()),
                        opt_int(idx),
                        opt_int(line),
                        Value::Text(w.field.clone()),
                        Value::Text(w.message.clone()),
                    ]
                })
                .collect();
            Box::new(ValueRows(rows))
        },
    );
    let s = store.clone();
    let warning_count = Lazy::new(
        TableDef {
            name: "warning_count",
            columns: vec![
                Column::new("kind", "TEXT"),
                Column::new("count", "INTEGER").not_null(),
            ],
            // Kinds are unique and come sorted.
            order: vec![0],
            unique_first: true,
        },
        move || {
            let rows = s
                .trace
                .warnings
                .counts
                .iter()
                .map(|(k, n)| vec![Value::Text((*k).to_owned()), opt_int(Some(*n))])
                .collect();
            Box::new(ValueRows(rows))
        },
    );
    vec![Arc::new(warning), Arc::new(warning_count)]
}
