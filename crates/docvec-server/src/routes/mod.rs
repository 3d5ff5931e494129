//! The route table: which handler answers what, under which role, body limit and timeout.

pub(crate) mod data;
pub(crate) mod documents;
pub(crate) mod jobs;
pub(crate) mod ops;
pub(crate) mod search;
pub(crate) mod source;
pub(crate) mod ui;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{Next, from_fn_with_state, map_response};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::auth::{require_admin, require_read, require_write};
use crate::error::{ApiError, json_errors};
use crate::state::AppState;

/// A path parameter whose rejection is a JSON error.
pub(crate) struct PathParam<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Refuse a route that changes the data directory (or the keys in it) when serving read-only, before
/// any of its work (an upload's body is not read): 403 `read_only`, saying why. Runs after the key
/// check, so a client without a valid key still learns only that.
async fn refuse_when_read_only(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.read_only() {
        return Err(docvec_engine::EngineError::ReadOnly(format!(
            "{} {} would change the data directory, which this docvec serves read-only \
             (--read-only); searches and reads work, and writes need a docvec serving it read-write",
            req.method(),
            req.uri().path()
        ))
        .into());
    }
    Ok(next.run(req).await)
}

pub(crate) fn router(state: AppState) -> Router {
    let srv = state.config();
    let timeout = |secs: u64| {
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(secs))
    };
    let request_timeout = timeout(srv.request_timeout_secs);
    let read = |m: MethodRouter<AppState>| {
        m.layer(request_timeout)
            .route_layer(from_fn_with_state(state.clone(), require_read))
    };
    // Routes that change data: refused when serving read-only (inside the key check, which runs first).
    let changes = |m: MethodRouter<AppState>| {
        m.route_layer(from_fn_with_state(state.clone(), refuse_when_read_only))
    };
    let write = |m: MethodRouter<AppState>| {
        changes(m.layer(request_timeout))
            .route_layer(from_fn_with_state(state.clone(), require_write))
    };
    let admin = |m: MethodRouter<AppState>| {
        m.layer(request_timeout)
            .route_layer(from_fn_with_state(state.clone(), require_admin))
    };
    let admin_change = |m: MethodRouter<AppState>| {
        changes(m.layer(request_timeout))
            .route_layer(from_fn_with_state(state.clone(), require_admin))
    };
    let upload = changes(
        post(documents::upload)
            .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(srv.max_upload_bytes))
            .layer(timeout(srv.upload_timeout_secs)),
    )
    .route_layer(from_fn_with_state(state.clone(), require_write));
    // Event streams last as long as their job: no timeout.
    let events = get(jobs::events).route_layer(from_fn_with_state(state.clone(), require_read));

    let mut app = Router::new()
        .route(
            "/search",
            read(get(search::get_search).post(search::post_search))
                .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(
                    srv.max_search_body_bytes,
                )),
        )
        .route(
            "/search/batch",
            read(post(search::post_batch))
                .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(srv.max_batch_bytes)),
        )
        .route("/search/rebuild", admin_change(post(jobs::rebuild)))
        .route("/snapshots", admin_change(post(jobs::snapshot)))
        .route("/documents", read(get(documents::list)).merge(upload))
        .route(
            "/documents/{id}",
            read(get(documents::get_one)).merge(write(axum::routing::delete(documents::delete))),
        )
        .route("/documents/{id}/source", read(get(source::document)))
        .route("/chunks/{id}/source", read(get(source::chunk)))
        .route("/logs", read(get(data::logs)))
        .route("/apis", read(get(data::apis)))
        .route("/tags", read(get(data::tags)))
        .route("/facts", read(get(data::facts)))
        .route("/evidence/{id}", read(get(data::evidence)))
        .route("/jobs", read(get(jobs::list)))
        .route("/jobs/{id}", read(get(jobs::get_one)))
        .route("/jobs/{id}/events", events)
        .route("/jobs/{id}/cancel", write(post(jobs::cancel)))
        .route("/config", read(get(ops::config)))
        .route("/metrics", read(get(ops::metrics)))
        .route(
            "/keys",
            admin(get(ops::list_keys)).merge(admin_change(post(ops::create))),
        )
        .route(
            "/keys/{id}",
            admin_change(axum::routing::delete(ops::revoke)),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(openapi))
        // The search page: public, as the probes are (it holds no data; its API calls are checked).
        .merge(ui::routes())
        .fallback(|| async { ApiError::not_found("no such route; see /openapi.json") })
        .layer(DefaultBodyLimit::max(srv.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(map_response(json_errors));
    if !srv.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = srv
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderName::from_static("x-api-key"),
                ]),
        );
    }
    app.with_state(state)
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
