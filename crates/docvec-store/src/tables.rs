//! Tables found in documents: `document_tables`.

use serde::Serialize;
use sqlx::Row;

use docvec_types::Table;

use crate::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    pub document_id: String,
    pub document_path: String,
    pub ordinal: i64,
    #[serde(flatten)]
    pub table: Table,
}

pub(crate) async fn insert_tables(
    tx: &mut sqlx::SqliteConnection,
    document_id: &str,
    tables: &[Table],
) -> Result<(), StoreError> {
    for (ordinal, t) in tables.iter().enumerate() {
        sqlx::query(
            "INSERT INTO document_tables (document_id, ordinal, name, header, column_types, rows, row_count, column_count, header_row, delimiter, source_rows)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(document_id)
        .bind(ordinal as i64)
        .bind(&t.name)
        .bind(json(&t.header))
        .bind(json(&t.column_types))
        .bind(json(&t.rows))
        .bind(t.rows.len() as i64)
        .bind(t.header.len() as i64)
        .bind(t.header_row as i64)
        .bind(t.delimiter.map(String::from))
        .bind(json(&t.source_rows))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// JSON text of a value for the JSON columns (these types always serialise).
pub(crate) fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl Store {
    /// Tables of one document (id or path), or of every document, in document then table order.
    pub async fn tables(&self, document: Option<&str>) -> Result<Vec<TableRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.*, d.path AS document_path FROM document_tables t JOIN documents d ON d.id = t.document_id
             WHERE ?1 IS NULL OR d.id = ?1 OR d.path = ?1 ORDER BY d.path, t.ordinal",
        )
        .bind(document)
        .fetch_all(&self.pool)
        .await?;
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("document_tables: {e}"));
        rows.iter()
            .map(|r| {
                let delimiter: Option<String> = r.try_get("delimiter")?;
                Ok(TableRow {
                    document_id: r.try_get("document_id")?,
                    document_path: r.try_get("document_path")?,
                    ordinal: r.try_get("ordinal")?,
                    table: Table {
                        name: r.try_get("name")?,
                        header: serde_json::from_str(r.try_get("header")?).map_err(corrupt)?,
                        column_types: serde_json::from_str(r.try_get("column_types")?)
                            .map_err(corrupt)?,
                        rows: serde_json::from_str(r.try_get("rows")?).map_err(corrupt)?,
                        header_row: r.try_get::<i64, _>("header_row")? as u32,
                        source_rows: serde_json::from_str(r.try_get("source_rows")?)
                            .map_err(corrupt)?,
                        delimiter: delimiter.and_then(|d| d.chars().next()),
                    },
                })
            })
            .collect()
    }
}
