//! Jobs: starting a rebuild, listing and reading jobs, and following one live as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};

use docvec_engine::{EngineError, RebuildOptions};

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, decode_cursor, encode_cursor, page_limit};
use crate::jobs::{CancelError, Queued, Work, is_terminal, phase_label, rebuild_phases};
use crate::routes::PathParam;
use crate::state::AppState;
use crate::store::{JobFilter, JobRow, get_job, list_jobs};

fn engine_config_check(state: &AppState, name: &str) -> Result<(), ApiError> {
    state
        .engine()?
        .config()
        .named_embedder_config(name)
        .map(|_| ())
        .map_err(ApiError::from)
}

fn store_err(e: docvec_engine::StoreError) -> ApiError {
    ApiError::from(EngineError::from(e))
}

/// What `POST /search/rebuild` may ask for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RebuildRequest {
    /// Embed every chunk again with the model in use first (after its files changed).
    pub reembed: bool,
    /// Embed every chunk with this configured model (`default`, a `[models.NAME]` name, or a model id)
    /// and switch to it, dimension included; the old vectors serve until the switch.
    pub model: Option<String>,
    /// Send every document to the Postgres mirror again afterwards.
    pub resync_mirror: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub job_id: String,
    #[schema(value_type = Object)]
    pub job: JobRow,
}

/// Rebuild the local index in the background; the current index serves until the new one is swapped
/// in. Answers 202 with the job.
#[utoipa::path(post, path = "/search/rebuild", tag = "jobs", request_body(content = Option<RebuildRequest>),
    responses((status = 202, body = JobAccepted), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn rebuild(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, HeaderMap, Json<JobAccepted>), ApiError> {
    state.engine()?;
    // The body is optional: an empty one asks for a plain rebuild.
    let req: RebuildRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RebuildRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the JSON body is not valid: {e}")))?
    };
    if let Some(name) = &req.model {
        // Refuse an unknown model now, with 400, not later in a failed job.
        engine_config_check(&state, name)?;
    }
    let opts = RebuildOptions {
        model: req.model,
        reembed: req.reembed,
        resync_mirror: req.resync_mirror,
    };
    let jobs = state.jobs();
    let job = jobs
        .create(
            "rebuild",
            "rebuild",
            serde_json::to_value(&opts).unwrap_or_default(),
            None,
            0,
        )
        .await?;
    let mut phases = Vec::new();
    let mirrors = state.engine()?.storage_mode().mirrors();
    for phase in rebuild_phases(&opts, mirrors) {
        let child = jobs
            .create(
                "rebuild_phase",
                &phase_label(phase),
                serde_json::json!({ "phase": phase }),
                Some(&job.id),
                0,
            )
            .await?;
        phases.push((child.id, phase));
    }
    jobs.enqueue(Queued {
        id: job.id.clone(),
        work: Work::Rebuild { opts, phases },
    })?;
    accepted(job)
}

/// Write a bundle (a consistent copy of the data directory: store, indexes and a manifest naming the
/// model) into `snapshots/snap-TIME` in the data directory, as `docvec export` does. Answers 202 with
/// the job; its result names the folder and holds the manifest.
#[utoipa::path(post, path = "/snapshots", tag = "jobs",
    responses((status = 202, body = JobAccepted), (status = 503, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn snapshot(
    State(state): State<AppState>,
) -> Result<(StatusCode, HeaderMap, Json<JobAccepted>), ApiError> {
    let engine = state.engine()?;
    let name = format!("snap-{}", crate::store::now_ms());
    let out = engine.layout().snapshots().join(&name);
    let job = state
        .jobs()
        .create(
            "snapshot",
            &format!("snapshot: {name}"),
            serde_json::json!({ "path": out.display().to_string() }),
            None,
            0,
        )
        .await?;
    state.jobs().enqueue(Queued {
        id: job.id.clone(),
        work: Work::Snapshot(out),
    })?;
    accepted(job)
}

fn accepted(job: JobRow) -> Result<(StatusCode, HeaderMap, Json<JobAccepted>), ApiError> {
    let mut headers = HeaderMap::new();
    if let Ok(v) = format!("/jobs/{}", job.id).parse() {
        headers.insert(header::LOCATION, v);
    }
    Ok((
        StatusCode::ACCEPTED,
        headers,
        Json(JobAccepted {
            job_id: job.id.clone(),
            job,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JobParams {
    /// queued, running, succeeded, failed, cancelled.
    pub state: Option<String>,
    /// ingest, ingest_file, rebuild, rebuild_phase, snapshot.
    pub kind: Option<String>,
    /// Children of this job (the files of an upload).
    pub parent: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    #[schema(value_type = Vec<Object>)]
    pub jobs: Vec<JobRow>,
    pub next_cursor: Option<String>,
}

/// Jobs, newest first (top-level ones unless `parent` is given).
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobParams),
    responses((status = 200, body = JobPage)), security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<JobParams>,
) -> Result<Json<JobPage>, ApiError> {
    let limit = page_limit(p.limit)?;
    let jobs = list_jobs(
        state.store(),
        &JobFilter {
            state: p.state,
            kind: p.kind,
            parent: p.parent,
            before: p.cursor.as_deref().map(decode_cursor).transpose()?,
            limit,
        },
    )
    .await
    .map_err(store_err)?;
    let jobs: Vec<JobRow> = jobs.into_iter().map(|j| state.jobs().latest(j)).collect();
    let next_cursor = (jobs.len() as i64 == limit)
        .then(|| jobs.last().map(|j| encode_cursor(&j.id)))
        .flatten();
    Ok(Json(JobPage { jobs, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    #[schema(value_type = Object)]
    pub job: JobRow,
    /// Child jobs (one per file of an upload, one per phase of a rebuild), oldest first.
    #[schema(value_type = Vec<Object>)]
    pub children: Vec<JobRow>,
}

async fn detail(state: &AppState, id: &str) -> Result<JobDetail, ApiError> {
    let job = get_job(state.store(), id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("no job `{id}`")))?;
    let mut children = list_jobs(
        state.store(),
        &JobFilter {
            parent: Some(id.to_string()),
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .map_err(store_err)?;
    children.reverse();
    let jobs = state.jobs();
    Ok(JobDetail {
        job: jobs.latest(job),
        children: children.into_iter().map(|c| jobs.latest(c)).collect(),
    })
}

/// One job: state, progress (done/total), timings, error, result, and its children.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobDetail), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Json<JobDetail>, ApiError> {
    Ok(Json(detail(&state, &id).await?))
}

/// Cancel an upload or a rebuild. A queued one is cancelled at once, with its children; a running
/// one stops at its next safe point (an upload between files, keeping what it stored; a rebuild
/// between pages, the serving index left in place) and ends `cancelled`: follow it to see when.
/// Cancelling a rebuild needs an admin key, an upload a write key.
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path)),
    responses((status = 202, body = JobDetail, description = "cancelled, or stopping"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    PathParam(id): PathParam<String>,
) -> Result<(StatusCode, Json<JobDetail>), ApiError> {
    let caller = caller.map_or(Caller(None), |c| c.0);
    let job = get_job(state.store(), &id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("no job `{id}`")))?;
    if job.kind == "rebuild" {
        caller.require(Role::Admin, "cancelling a rebuild")?;
    }
    state.jobs().cancel_job(&id).await.map_err(|e| match e {
        CancelError::NotFound(_) => ApiError::not_found(e.to_string()),
        CancelError::Refused(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
        CancelError::Store(e) => store_err(e),
    })?;
    Ok((StatusCode::ACCEPTED, Json(detail(&state, &id).await?)))
}

/// Live progress as server-sent events: a `job` event with the job's row at once and on every change
/// (of the job or of a child), ending after the job finishes.
#[utoipa::path(get, path = "/jobs/{id}/events", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "events `job` carrying a job row"),
              (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn events(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading the current row, so no change falls between the two.
    let rx = state.jobs().subscribe();
    let first = detail(&state, &id).await?.job;
    let stop = state.shutting_down();
    let stream = futures_util::stream::unfold(
        (Some(first), rx, stop, state, id, false),
        |(pending, mut rx, mut stop, state, id, ended)| async move {
            if ended {
                return None;
            }
            if let Some(job) = pending {
                let ended = job.id == id && is_terminal(&job.state);
                return Some((Ok(job_event(&job)), (None, rx, stop, state, id, ended)));
            }
            loop {
                let next = tokio::select! {
                    r = rx.recv() => r,
                    _ = stop.wait_for(|s| *s) => return None,
                };
                match next {
                    Ok(job) if job.id == id || job.parent_id.as_deref() == Some(id.as_str()) => {
                        let ended = job.id == id && is_terminal(&job.state);
                        return Some((Ok(job_event(&job)), (None, rx, stop, state, id, ended)));
                    }
                    Ok(_) => continue,
                    // Fell behind: the job's current row says where it stands now.
                    Err(RecvError::Lagged(_)) => {
                        let job = get_job(state.store(), &id).await.ok().flatten()?;
                        let ended = is_terminal(&job.state);
                        return Some((Ok(job_event(&job)), (None, rx, stop, state, id, ended)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn job_event(job: &JobRow) -> Event {
    Event::default()
        .event("job")
        .json_data(job)
        .unwrap_or_else(|_| Event::default().event("job").data("{}"))
}
