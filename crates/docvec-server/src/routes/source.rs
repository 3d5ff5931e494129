//! The source behind a hit: `GET /documents/{id}/source` returns a span of the document's stored text
//! with the text around it, and `GET /chunks/{id}/source` the span of one chunk (a hit's `chunk_id`
//! or `chunk_key`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use docvec_engine::SourceView;

use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::routes::PathParam;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SourceParams {
    /// Byte offset where the span starts in the stored text (a hit's `span.byte_start`); default 0.
    pub start: Option<u64>,
    /// Byte offset where the span ends (a hit's `span.byte_end`); default the text's end.
    pub end: Option<u64>,
    /// Bytes of text shown on each side of the span, cut back to whole lines (default 400, at most
    /// 65536).
    pub context: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChunkSourceParams {
    /// Bytes of text shown on each side of the span (default 400, at most 65536).
    pub context: Option<usize>,
}

/// A span of a document's stored text (the file itself for text, Markdown, logs, CSV and API
/// descriptions; the extracted text of PDFs, HTML and workbooks) with the text around it: `before`,
/// `text` (the span) and `after` are consecutive, so a client marks the span by styling `text`.
#[utoipa::path(get, path = "/documents/{id}/source", tag = "documents",
    params(("id" = String, Path, description = "document id or path"), SourceParams),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn document(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    ApiQuery(p): ApiQuery<SourceParams>,
) -> Result<Json<SourceView>, ApiError> {
    let engine = state.engine()?;
    Ok(Json(
        engine
            .document_source(&id, p.start, p.end, p.context)
            .await?,
    ))
}

/// The source span of one chunk, with the chunk itself and its span (lines, pages, table rows, API
/// operation): what `docvec show` prints.
#[utoipa::path(get, path = "/chunks/{id}/source", tag = "documents",
    params(("id" = String, Path, description = "chunk id or key (a hit's chunk_id or chunk_key)"), ChunkSourceParams),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn chunk(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    ApiQuery(p): ApiQuery<ChunkSourceParams>,
) -> Result<Json<SourceView>, ApiError> {
    let engine = state.engine()?;
    Ok(Json(engine.show_chunk(&id, p.context).await?))
}
