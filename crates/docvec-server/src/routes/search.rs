//! `POST /search` and `GET /search`: semantic search with filters resolved before the top k is chosen.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use docvec_engine::{
    ChunkFilter, DEFAULT_K, DEFAULT_SNIPPET_CHARS, HybridOptions, SearchHit, SearchMode,
};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

fn default_k() -> usize {
    DEFAULT_K
}

fn yes() -> bool {
    true
}

/// Which chunks may be returned; every set field must match.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SearchFilters {
    // Described in the OpenAPI document from the format table (`openapi::FormatNames`).
    pub format: Vec<String>,
    /// One document, by id or path.
    pub document: Option<String>,
    /// Tags that must all be on the chunk or its document.
    pub tags: Vec<String>,
    /// Documents whose path starts with this.
    pub path_prefix: Option<String>,
    /// Chunks of logs holding an entry at or after this ISO 8601 time ...
    pub since: Option<String>,
    /// ... at or before this one ...
    pub until: Option<String>,
    /// ... of this level (ERROR, WARN, INFO ...).
    pub log_level: Option<String>,
    /// Conditions on the document's own metadata, every one required, applied before the top k:
    /// `{"year": {"gte": 2020, "lt": 2025}, "lang": "en", "team": ["a", "b"]}`: a value (equal), an
    /// array (one of them) or an object of `eq`, `in`, `gt`, `gte`, `lt`, `lte`. Ranges compare
    /// numbers with numbers and strings with strings (ISO 8601 dates as time).
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The query's text; may be left out when `vector` is given (then `hybrid` searches by the
    /// vector alone, and `keyword` is refused). At most `[search] max_query_bytes` (4096 by default)
    /// and `max_query_terms` distinct terms (256); beyond, 400 naming the limit.
    #[serde(default)]
    pub query: String,
    /// Your own query vector, of the index's dimension, instead of embedding `query` (no model is
    /// run). Scaled to unit length; scores are cosine similarities.
    #[serde(default)]
    pub vector: Option<Vec<f32>>,
    /// Hits to return, 1 to 1000.
    #[serde(default = "default_k")]
    pub k: usize,
    /// `vector`, `keyword` (BM25) or `hybrid` (both, fused; the default).
    #[serde(default)]
    #[schema(value_type = String)]
    pub mode: SearchMode,
    #[serde(default)]
    pub filters: SearchFilters,
    /// Hybrid fusion: `{"fusion": {"method": "zscore", "vector_weight": 0.6}}` (default),
    /// `{"fusion": {"method": "weighted", "vector_weight": 0.7}}` (min-max normalised; alias
    /// `minmax`) or `{"fusion": {"method": "rrf", "k": 60}}`, and `candidates` per list.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub hybrid: HybridOptions,
    /// Return each hit's text (default true).
    #[serde(default = "yes")]
    pub include_text: bool,
    /// At most this many hits of one document (0, the default: no limit); k hits still come back
    /// whenever enough documents match.
    #[serde(default)]
    pub max_per_document: usize,
    /// Add to each hit the passage where the query's words stand, with their positions (stemmed as
    /// the keyword index stems them).
    #[serde(default)]
    pub highlight: bool,
    /// Longest snippet, in characters (default 200).
    #[serde(default = "default_snippet_chars")]
    pub snippet_chars: usize,
}

fn default_snippet_chars() -> usize {
    DEFAULT_SNIPPET_CHARS
}

/// Query string of `GET /search`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// The query.
    pub q: String,
    pub k: Option<usize>,
    #[param(value_type = Option<String>)]
    pub mode: Option<SearchMode>,
    pub format: Option<String>,
    pub tag: Option<String>,
    pub document: Option<String>,
    pub path_prefix: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub log_level: Option<String>,
    pub max_per_document: Option<usize>,
    pub highlight: Option<bool>,
    /// A metadata filter as JSON, as `filters.meta` of `POST /search`
    /// (`meta={"year":{"gte":2020}}`, URL-encoded).
    pub meta: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    /// Higher is better: cosine similarity (vector), BM25 (keyword) or the fused score (hybrid).
    pub score: f32,
    pub chunk_id: i64,
    pub chunk_key: String,
    pub document_id: String,
    pub document_path: String,
    pub document_title: Option<String>,
    pub format: String,
    /// Heading path of the chunk's section ("Guide > Install").
    pub section: Option<String>,
    pub page: Option<u32>,
    /// Where the chunk came from: `byte_start`/`byte_end` into the document's stored text (open it with
    /// `GET /documents/{document_id}/source?start=&end=`), `line_start`/`line_end`, pages, table `rows`
    /// (sheet, header row, first and last row) or the API `operation` (method and path).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub span: Option<docvec_engine::Span>,
    /// The document's own metadata, when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<docvec_engine::Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// With `highlight`: the best passage and the byte ranges of the matched words in it, and the
    /// same passage with the matches in `<mark>` (HTML-escaped otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub snippet: Option<docvec_engine::Snippet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet_html: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    pub hits: Vec<Hit>,
    #[schema(value_type = String)]
    pub mode: SearchMode,
    /// `local` (this machine's index) or `remote` (Postgres).
    pub source: String,
    /// Set when the answer is degraded (e.g. Postgres failed and the local index answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    pub took_ms: f64,
}

fn hit(h: SearchHit, include_text: bool) -> Hit {
    Hit {
        score: h.score,
        chunk_id: h.chunk_id,
        chunk_key: h.chunk_key,
        document_id: h.document_id,
        document_path: h.document_path,
        document_title: h.document_title,
        format: h.format.to_string(),
        section: h.section,
        page: h.page,
        span: h.span,
        meta: h.meta,
        text: include_text.then_some(h.text),
        snippet_html: h.snippet.as_ref().map(snippet_html),
        snippet: h.snippet,
    }
}

/// The snippet with its matches in `<mark>`, everything else HTML-escaped.
fn snippet_html(s: &docvec_engine::Snippet) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::new();
    let mut at = 0;
    for &(start, end) in &s.highlights {
        out.push_str(&escape(&s.fragment[at..start]));
        out.push_str("<mark>");
        out.push_str(&escape(&s.fragment[start..end]));
        out.push_str("</mark>");
        at = end;
    }
    out.push_str(&escape(&s.fragment[at..]));
    out
}

impl SearchRequest {
    /// The engine's request: the one search path every surface takes. A malformed `meta` filter is
    /// a 400 naming the key.
    fn to_engine(&self) -> Result<docvec_engine::SearchRequest, ApiError> {
        let f = self.filters.clone();
        let meta = match &f.meta {
            Some(v) => docvec_engine::parse_meta_filter(v).map_err(ApiError::bad_request)?,
            None => Vec::new(),
        };
        Ok(docvec_engine::SearchRequest {
            text: Some(self.query.clone()),
            vector: self.vector.clone(),
            k: self.k,
            mode: self.mode,
            filter: ChunkFilter {
                tags: f.tags,
                formats: f.format,
                document: f.document,
                path_prefix: f.path_prefix,
                log_level: f.log_level,
                since: f.since,
                until: f.until,
                meta,
            },
            hybrid: self.hybrid,
            max_per_document: self.max_per_document,
            snippet_chars: self.highlight.then_some(self.snippet_chars),
        })
    }
}

pub(crate) async fn run(state: &AppState, req: SearchRequest) -> Result<SearchResponse, ApiError> {
    let started = Instant::now();
    let engine = state.engine()?;
    let request = req.to_engine()?;
    // A request over a limit is refused now, not after waiting its turn behind every search queued.
    let tokens = engine.query_tokens(&request)?;
    let metrics = state.metrics();
    // A long query waits for its turn in the long-query lane first (see `long_queries`).
    let lane = state.long_queries();
    let _flight = state.search_in_flight();
    // Others in flight, cheap ones answered from the query cache included, are what pacing protects.
    let turn = match lane.is_long(tokens) {
        true => lane.turn(|| state.searches_in_flight() > 1).await,
        false => None,
    };
    if let Some(t) = &turn {
        metrics
            .long_query_wait_seconds
            .observe(t.waited.as_secs_f64());
    }
    // Bounds the embedding work in flight; the rest wait here, off the runtime's threads.
    let permit = state
        .searches()
        .acquire()
        .await
        .map_err(|_| ApiError::internal("search permits closed"))?;
    let ran = Instant::now();
    let answer = engine.search(&request).await;
    drop(permit);
    if let Some(t) = turn {
        lane.finish(t, ran.elapsed());
    }
    let answer = answer?;
    if let Some(seconds) = answer.embed_seconds {
        metrics.embed_seconds.observe(seconds);
    }
    metrics
        .search_seconds
        .with_label_values(&[answer.source])
        .observe(answer.search_seconds);
    Ok(SearchResponse {
        hits: answer
            .hits
            .into_iter()
            .map(|h| hit(h, req.include_text))
            .collect(),
        mode: answer.mode,
        source: answer.source.to_string(),
        warning: answer.warning,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Most searches in one batch.
pub(crate) const MAX_BATCH: usize = 1000;

/// `POST /search/batch`: many searches in one request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Searches, each as the body of `POST /search` (text, vector or both, with its own filters).
    pub queries: Vec<SearchRequest>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResponse {
    /// One answer per search, in the order asked.
    pub results: Vec<SearchResponse>,
    pub took_ms: f64,
}

/// Search with a JSON body.
#[utoipa::path(post, path = "/search", tag = "search", request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn post_search(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    Ok(Json(run(&state, req).await?))
}

/// Quick search from a query string: `/search?q=disk+failure&k=5`.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn get_search(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    let req = SearchRequest {
        query: p.q,
        vector: None,
        k: p.k.unwrap_or(DEFAULT_K),
        mode: p.mode.unwrap_or_default(),
        filters: SearchFilters {
            format: p.format.into_iter().collect(),
            document: p.document,
            tags: p.tag.into_iter().collect(),
            path_prefix: p.path_prefix,
            since: p.since,
            until: p.until,
            log_level: p.log_level,
            meta: p
                .meta
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| ApiError::bad_request(format!("meta: not JSON: {e}")))?,
        },
        include_text: true,
        hybrid: HybridOptions::default(),
        max_per_document: p.max_per_document.unwrap_or(0),
        highlight: p.highlight.unwrap_or(false),
        snippet_chars: default_snippet_chars(),
    };
    Ok(Json(run(&state, req).await?))
}

/// Many searches in one request, answered in order; the first that is wrong fails the batch with a
/// 400 naming it.
#[utoipa::path(post, path = "/search/batch", tag = "search", request_body = BatchRequest,
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn post_batch(
    State(state): State<AppState>,
    ApiJson(batch): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    let started = Instant::now();
    if batch.queries.is_empty() || batch.queries.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "a batch holds 1 to {MAX_BATCH} searches, got {}",
            batch.queries.len()
        )));
    }
    let mut results = Vec::with_capacity(batch.queries.len());
    for (i, req) in batch.queries.into_iter().enumerate() {
        results.push(
            run(&state, req)
                .await
                .map_err(|e| e.prefixed(&format!("queries[{i}]")))?,
        );
    }
    Ok(Json(BatchResponse {
        results,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    }))
}
