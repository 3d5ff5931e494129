//! The structured data found in documents: log entries, API endpoints, tags, facts and their evidence,
//! each with filters and pages (`cursor` from the previous page's `next_cursor`).

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use docvec_engine::{
    EndpointFilter, Engine, EngineError, FactFilter, FactKind, LogFilter, TagFilter, TagKind,
};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, decode_cursor, encode_cursor, page_limit};
use crate::routes::PathParam;
use crate::state::AppState;

/// A page of rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn offset(cursor: Option<&str>) -> Result<i64, ApiError> {
    match cursor {
        None => Ok(0),
        Some(c) => decode_cursor(c)?
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("`{c}` is not a cursor this API gave out"))),
    }
}

fn page<T: Serialize>(rows: Vec<T>, offset: i64, limit: i64) -> Result<Json<Page>, ApiError> {
    let full = rows.len() as i64 == limit;
    let items = rows
        .into_iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(Page {
        items,
        next_cursor: full.then(|| encode_cursor(&(offset + limit).to_string())),
    }))
}

/// One page of a listing. `fetch` gets the engine and the page's limit and offset; the bounds from
/// `cursor` and `limit` and the next cursor are the same for every listing, so they are here once.
async fn listing<T, F, Fut>(
    state: &AppState,
    cursor: Option<String>,
    limit: Option<i64>,
    fetch: F,
) -> Result<Json<Page>, ApiError>
where
    T: Serialize,
    F: FnOnce(Arc<Engine>, Option<i64>, Option<i64>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, EngineError>>,
{
    let engine = state.engine()?;
    let (limit, offset) = (page_limit(limit)?, offset(cursor.as_deref())?);
    let rows = fetch(engine, Some(limit), Some(offset)).await?;
    page(rows, offset, limit)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    /// TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, FATAL (any case).
    pub level: Option<String>,
    /// ISO 8601 bounds, inclusive.
    pub since: Option<String>,
    pub until: Option<String>,
    /// A component, or a package and its classes.
    pub component: Option<String>,
    /// Text the message contains.
    pub grep: Option<String>,
    /// Document id or path.
    pub document: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Entries of the stored logs, by time.
#[utoipa::path(get, path = "/logs", tag = "structured", params(LogParams),
    responses((status = 200, body = Page), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn logs(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<LogParams>,
) -> Result<Json<Page>, ApiError> {
    listing(
        &state,
        p.cursor,
        p.limit,
        |engine, limit, offset| async move {
            let filter = LogFilter {
                level: p.level,
                since: p.since,
                until: p.until,
                component: p.component,
                grep: p.grep,
                document: p.document,
                limit,
                offset,
            };
            engine.log_entries(&filter).await
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApiParams {
    /// HTTP method, any case.
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    pub document: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Operations of the stored API descriptions (OpenAPI, Swagger, Postman).
#[utoipa::path(get, path = "/apis", tag = "structured", params(ApiParams),
    responses((status = 200, body = Page)), security(("api_key" = [])))]
pub(crate) async fn apis(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ApiParams>,
) -> Result<Json<Page>, ApiError> {
    listing(
        &state,
        p.cursor,
        p.limit,
        |engine, limit, offset| async move {
            let filter = EndpointFilter {
                method: p.method,
                path_prefix: p.path_prefix,
                document: p.document,
                limit,
                offset,
            };
            engine.endpoints(&filter).await
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TagParams {
    /// format, user or keyphrase.
    #[param(value_type = Option<String>)]
    pub kind: Option<TagKind>,
    pub document: Option<String>,
    /// Names starting with this.
    pub prefix: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Tags with how many documents and chunks carry them, the most used first.
#[utoipa::path(get, path = "/tags", tag = "structured", params(TagParams),
    responses((status = 200, body = Page)), security(("api_key" = [])))]
pub(crate) async fn tags(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<TagParams>,
) -> Result<Json<Page>, ApiError> {
    listing(
        &state,
        p.cursor,
        p.limit,
        |engine, limit, offset| async move {
            let filter = TagFilter {
                kind: p.kind,
                document: p.document,
                prefix: p.prefix,
                limit,
                offset,
            };
            engine.tags(&filter).await
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FactParams {
    pub document: Option<String>,
    /// The key (column header or label), case-insensitively.
    pub key: Option<String>,
    /// The subject (a table row's label).
    pub subject: Option<String>,
    /// table_cell or label_value.
    #[param(value_type = Option<String>)]
    pub kind: Option<FactKind>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Facts found in the documents, each with the evidence of where it stands.
#[utoipa::path(get, path = "/facts", tag = "structured", params(FactParams),
    responses((status = 200, body = Page)), security(("api_key" = [])))]
pub(crate) async fn facts(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<FactParams>,
) -> Result<Json<Page>, ApiError> {
    listing(
        &state,
        p.cursor,
        p.limit,
        |engine, limit, offset| async move {
            let filter = FactFilter {
                document: p.document,
                key: p.key,
                subject: p.subject,
                kind: p.kind,
                limit,
                offset,
            };
            engine.facts(&filter).await
        },
    )
    .await
}

/// One fact with its evidence (document, page or row and column, line and character span).
#[utoipa::path(get, path = "/evidence/{id}", tag = "structured",
    params(("id" = i64, Path, description = "fact id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn evidence(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let engine = state.engine()?;
    let n: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("`{id}` is not a fact id (a number)")))?;
    let row = engine
        .evidence(n)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no fact {n}")))?;
    serde_json::to_value(row)
        .map(Json)
        .map_err(|e| ApiError::from(EngineError::Internal(e.to_string())))
}
