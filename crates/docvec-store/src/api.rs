//! Structured rows of API descriptions: `api_endpoints`.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use docvec_types::{ApiEndpoint, ApiParameter, EndpointKind};

use crate::{Store, StoreError};

/// Which endpoints to list; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct EndpointFilter {
    /// HTTP method, any case.
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    /// Document id or path.
    pub document: Option<String>,
    pub limit: Option<i64>,
    /// Rows skipped before the first one returned (with `limit`, for paging).
    pub offset: Option<i64>,
}

/// An endpoint with the document it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    pub document_id: String,
    pub document_path: String,
    #[serde(flatten)]
    pub endpoint: ApiEndpoint,
}

pub(crate) async fn insert_endpoints(
    tx: &mut sqlx::SqliteConnection,
    document_id: &str,
    endpoints: &[ApiEndpoint],
) -> Result<(), StoreError> {
    for (ordinal, e) in endpoints.iter().enumerate() {
        sqlx::query(
            "INSERT INTO api_endpoints (document_id, ordinal, method, path, kind, operation_id, summary, description, parameters, request_schema, responses, tags)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(document_id)
        .bind(ordinal as i64)
        .bind(&e.method)
        .bind(&e.path)
        .bind(kind_str(e.kind))
        .bind(&e.operation_id)
        .bind(&e.summary)
        .bind(&e.description)
        .bind(serde_json::to_string(&e.parameters).unwrap_or_else(|_| "[]".into()))
        .bind(&e.request_schema)
        .bind(serde_json::to_string(&e.responses).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

fn kind_str(k: EndpointKind) -> &'static str {
    match k {
        EndpointKind::Operation => "operation",
        EndpointKind::Webhook => "webhook",
        EndpointKind::Request => "request",
    }
}

impl Store {
    /// Endpoints matching `filter`, by document path then position in the document.
    pub async fn endpoints(&self, filter: &EndpointFilter) -> Result<Vec<EndpointRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT e.*, d.path AS document_path FROM api_endpoints e JOIN documents d ON d.id = e.document_id WHERE 1 = 1",
        );
        if let Some(m) = &filter.method {
            q.push(" AND e.method = ").push_bind(m.to_ascii_uppercase());
        }
        if let Some(prefix) = &filter.path_prefix {
            // substr, not LIKE: a prefix holding % or _ means itself.
            q.push(" AND substr(e.path, 1, length(")
                .push_bind(prefix.clone())
                .push(")) = ")
                .push_bind(prefix.clone());
        }
        crate::filter::push_document(&mut q, filter.document.as_deref());
        q.push(" ORDER BY d.path, e.ordinal");
        if let Some(limit) = filter.limit {
            q.push(" LIMIT ").push_bind(limit);
            if let Some(offset) = filter.offset {
                q.push(" OFFSET ").push_bind(offset.max(0));
            }
        }
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let json =
                    |col: &str| -> Result<String, sqlx::Error> { r.try_get::<String, _>(col) };
                let kind = match r.try_get::<&str, _>("kind")? {
                    "webhook" => EndpointKind::Webhook,
                    "request" => EndpointKind::Request,
                    _ => EndpointKind::Operation,
                };
                let parameters: Vec<ApiParameter> = serde_json::from_str(&json("parameters")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let responses: Vec<(String, Option<String>)> =
                    serde_json::from_str(&json("responses")?)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let tags: Vec<String> = serde_json::from_str(&json("tags")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(EndpointRow {
                    document_id: r.try_get("document_id")?,
                    document_path: r.try_get("document_path")?,
                    endpoint: ApiEndpoint {
                        method: r.try_get("method")?,
                        path: r.try_get("path")?,
                        kind,
                        operation_id: r.try_get("operation_id")?,
                        summary: r.try_get("summary")?,
                        description: r.try_get("description")?,
                        parameters,
                        request_schema: r.try_get("request_schema")?,
                        responses,
                        tags,
                    },
                })
            })
            .collect()
    }
}
