//! Operations: liveness, readiness, the live configuration report, Prometheus metrics, API keys.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use docvec_engine::{EngineError, StorageMode};

use crate::auth::{NewKey, Role, create_key};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::PathParam;
use crate::state::AppState;
use crate::store::{self, ApiKeyRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub uptime_secs: f64,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        uptime_secs: state.uptime_secs(),
    })
}

fn probe_timeout(state: &AppState) -> Duration {
    Duration::from_millis(state.config().probe_timeout_ms)
}

/// Readiness: 200 once the model and index are loaded; 503 while they load, and in `supabase` mode while
/// Postgres does not answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let engine = state.engine()?;
    if engine.storage_mode() == StorageMode::Supabase {
        let status = engine.mirror_status(probe_timeout(&state)).await?;
        if let Some(p) = status.remote.filter(|p| !p.reachable) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "remote_unavailable",
                format!(
                    "storage mode is supabase and Postgres does not answer: {}",
                    p.error.unwrap_or_default()
                ),
            ));
        }
    }
    Ok(Json(Health {
        status: "ready".into(),
        uptime_secs: state.uptime_secs(),
    }))
}

/// Storage mode, model, index sizes, limits, and a live probe of Postgres with the outbox backlog.
#[utoipa::path(get, path = "/config", tag = "operations",
    responses((status = 200, body = Object), (status = 503, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn config(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let engine = state.engine()?;
    let stats = engine.stats().await?;
    let mirror = engine.mirror_status(probe_timeout(&state)).await?;
    let cfg = engine.config();
    // Never loads the model here: a request is not the place to spend seconds (or a TensorRT build).
    let model = engine.model_status(false).await;
    let srv = state.config();
    let mut warnings = mirror.warnings.clone();
    if !state.keys_required() {
        let (live, _) = store::check_api_key(state.store(), None)
            .await
            .map_err(|e| ApiError::from(EngineError::from(e)))?;
        if live == 0 {
            warnings
                .push("no API keys: the API is open to every local user (loopback only)".into());
        }
    }
    Ok(Json(serde_json::json!({
        "storage_mode": engine.storage_mode().as_str(),
        // `docvec serve --read-only`: routes that change data answer 403 `read_only`.
        "read_only": state.read_only(),
        "model": {
            "id": model.id,
            "dimension": model.dimension,
            "device": model.device,
            // ONNX Runtime's version and the execution providers the session holds (null until
            // the model is loaded: `docvec serve` loads it before it answers).
            "runtime": model.runtime,
            // What `POST /search/rebuild {"model": NAME}` can switch to.
            "configured": std::iter::once(docvec_engine::DEFAULT_MODEL).chain(cfg.models.keys().map(String::as_str)).collect::<Vec<_>>(),
        },
        "index": {
            "vectors": engine.index_len(),
            "text_chunks": engine.text_index_len(),
            "documents": stats.documents,
            "chunks": stats.chunks,
            "hnsw": cfg.hnsw,
        },
        // Hits, misses, entries and capacity since the engine opened; capacity 0 = off.
        "query_cache": engine.query_cache_stats(),
        // What one search may ask; a query over either is a 400 naming it.
        "search": cfg.search,
        "supabase": {
            "configured": mirror.url.is_some(),
            "url": mirror.url,
            "supabase_url": mirror.supabase_url,
            "service_key_set": mirror.supabase_service_key_set,
            "reachable": mirror.remote.as_ref().map(|p| p.reachable),
            "latency_ms": mirror.remote.as_ref().and_then(|p| p.latency_ms),
            "server_version": mirror.remote.as_ref().and_then(|p| p.server_version.clone()),
            "migration_version": mirror.remote.as_ref().and_then(|p| p.schema_version),
            "error": mirror.remote.as_ref().and_then(|p| p.error.clone()),
            "outbox_backlog": mirror.outbox.pending,
            "outbox_oldest_ms": mirror.outbox.oldest_ms,
            "outbox_last_error": mirror.outbox.last_error,
        },
        "server": {
            "max_body_bytes": srv.max_body_bytes,
            "max_search_body_bytes": srv.max_search_body_bytes,
            "max_batch_bytes": srv.max_batch_bytes,
            "max_upload_bytes": srv.max_upload_bytes,
            "request_timeout_secs": srv.request_timeout_secs,
            "max_concurrent_searches": srv.max_concurrent_searches,
            "long_query_tokens": srv.long_query_tokens,
            "long_query_share": srv.long_query_share,
            "cors_origins": srv.cors_origins,
            "keys_required": state.keys_required(),
        },
        "warnings": warnings,
    })))
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", description = "Prometheus exposition")), security(("api_key" = [])))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let m = state.metrics();
    if let Ok(engine) = state.engine() {
        m.index_vectors.set(engine.index_len() as i64);
        m.observe_query_cache(
            &engine.query_cache_stats(),
            &engine.query_batch_stats(),
            &engine.token_counts(),
        );
        if let Ok(stats) = engine.stats().await {
            m.documents.set(stats.documents);
            m.chunks.set(stats.chunks);
        }
        if let Ok(b) = engine.store().outbox_backlog().await {
            m.outbox_backlog.set(b.pending);
        }
    }
    if let Ok(counts) = store::job_counts(state.store()).await {
        for s in ["queued", "running", "succeeded", "failed", "cancelled"] {
            let n = counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
            m.jobs.with_label_values(&[s]).set(n);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    pub role: Role,
    #[serde(default)]
    pub name: String,
}

/// Make an API key; the answer is the only time the key is shown.
#[utoipa::path(post, path = "/keys", tag = "keys", request_body = KeyRequest,
    responses((status = 201, body = NewKey), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<KeyRequest>,
) -> Result<(StatusCode, Json<NewKey>), ApiError> {
    let key = create_key(state.store(), req.role, &req.name).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// API keys (without the keys themselves).
#[utoipa::path(get, path = "/keys", tag = "keys", responses((status = 200, body = Vec<Object>)), security(("api_key" = [])))]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
) -> Result<Json<Vec<ApiKeyRow>>, ApiError> {
    Ok(Json(
        store::list_api_keys(state.store())
            .await
            .map_err(|e| ApiError::from(EngineError::from(e)))?,
    ))
}

/// Revoke a key by id.
#[utoipa::path(delete, path = "/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    let revoked = store::revoke_api_key(state.store(), &id)
        .await
        .map_err(|e| ApiError::from(EngineError::from(e)))?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no live key `{id}`")))
    }
}
