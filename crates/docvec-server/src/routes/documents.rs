//! Documents: multipart uploads that start an ingest job, listing with cursor pages, one document with
//! its structure, and deletes.

use std::collections::HashSet;
use std::path::Path;

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use docvec_engine::{DocumentFilter, DocumentRow};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, decode_cursor, encode_cursor, page_limit};
use crate::jobs::{Queued, Work};
use crate::routes::PathParam;
use crate::state::AppState;
use crate::store::JobRow;

/// Entries of a log returned with its document; the rest are paged through `GET /logs?document=`.
const DOCUMENT_LOG_ENTRIES: usize = 1000;

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAccepted {
    /// The parent job; follow it at `/jobs/{id}` or `/jobs/{id}/events`.
    pub job_id: String,
    #[schema(value_type = Object)]
    pub job: JobRow,
    /// One child job per file.
    pub files: Vec<UploadedFile>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedFile {
    pub name: String,
    pub bytes: u64,
    pub job_id: String,
}

/// A name an upload may be stored under: a plain file name, nothing that could leave the uploads folder.
fn check_name(raw: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("upload `{raw}`: {why}"));
    if raw.is_empty() {
        return Err(bad("the file has no name"));
    }
    if raw.contains(['/', '\\']) || raw == "." || raw == ".." {
        return Err(bad(
            "the name must be a plain file name, without folders (`/`, `\\`, `..`)",
        ));
    }
    if raw.starts_with('.') {
        return Err(bad("names starting with `.` are reserved"));
    }
    if raw.chars().any(char::is_control) {
        return Err(bad("the name holds control characters"));
    }
    if raw.len() > 255 {
        return Err(bad("the name is longer than 255 bytes"));
    }
    Ok(raw.to_string())
}

/// Upload one or more files (multipart fields named `file`; optional `tag` fields, `metadata` (a JSON
/// object stored with every document of the upload) and `force=true`). A file named `NAME.meta.json`
/// is the metadata sidecar of the file `NAME` (its keys win over `metadata`), not a document.
/// Answers 202 with the ingest job at once; the files are parsed, embedded and indexed in the background.
#[utoipa::path(post, path = "/documents", tag = "documents",
    request_body(content_type = "multipart/form-data", description = "fields `file` (repeatable), `tag` (repeatable), `metadata` (JSON object), `force`"),
    responses((status = 202, body = UploadAccepted), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 507, description = "no room to save the upload (`disk_full`)", body = ErrorBody)),
    security(("api_key" = [])))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    mut multipart: Multipart,
) -> Result<(StatusCode, HeaderMap, Json<UploadAccepted>), ApiError> {
    let engine = state.engine()?;
    let layout = engine.layout();
    std::fs::create_dir_all(layout.uploads())
        .map_err(|e| ApiError::io("cannot create the uploads folder", &e))?;
    let batch = format!("upload_{}", crate::auth::random_hex(8)?);
    let staging = layout.staging().join(&batch);
    let result = receive(&mut multipart, &staging).await;
    let Upload {
        files,
        tags,
        meta,
        force,
    } = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&staging).await;
            drain(&mut multipart).await;
            return Err(e);
        }
    };
    // Sidecars travel with their documents and are read with them; they are not documents.
    let (sidecars, files): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|(name, _)| name.ends_with(docvec_engine::SIDECAR_SUFFIX));
    if files.is_empty() {
        let _ = tokio::fs::remove_dir_all(&staging).await;
        return Err(ApiError::bad_request(
            "the upload holds only metadata sidecars (`*.meta.json`); send their files too",
        ));
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let jobs = state.jobs();
    let parent = jobs
        .create(
            "ingest",
            &format!("upload of {} file(s)", files.len()),
            serde_json::json!({ "files": names, "tags": tags, "metadata": meta, "force": force }),
            None,
            files.len() as i64,
        )
        .await?;
    let mut children = Vec::new();
    let mut uploaded = Vec::new();
    for (name, bytes) in &files {
        let child = jobs
            .create(
                "ingest_file",
                name,
                serde_json::json!({ "file": name, "bytes": bytes }),
                Some(&parent.id),
                1,
            )
            .await?;
        uploaded.push(UploadedFile {
            name: name.clone(),
            bytes: *bytes,
            job_id: child.id.clone(),
        });
        children.push((child.id, name.clone()));
    }
    jobs.enqueue(Queued {
        id: parent.id.clone(),
        work: Work::Ingest {
            staging,
            files: children,
            sidecars: sidecars.into_iter().map(|(name, _)| name).collect(),
            tags,
            meta,
            force,
        },
    })?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = format!("/jobs/{}", parent.id).parse() {
        headers.insert(header::LOCATION, v);
    }
    Ok((
        StatusCode::ACCEPTED,
        headers,
        Json(UploadAccepted {
            job_id: parent.id.clone(),
            job: parent,
            files: uploaded,
        }),
    ))
}

/// What an upload's fields said.
struct Upload {
    /// Name and size of each file staged.
    files: Vec<(String, u64)>,
    tags: Vec<String>,
    meta: docvec_engine::Metadata,
    force: bool,
}

/// Read and discard what is left of a refused upload's body (bounded by the upload size limit and
/// timeout), so the client, still sending, reads the answer: a server that answers mid-body and
/// closes the connection leaves most clients with a broken pipe instead of the reason.
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// Stream the parts to `staging`, never holding a whole file in memory.
async fn receive(multipart: &mut Multipart, staging: &Path) -> Result<Upload, ApiError> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    let mut tags = Vec::new();
    let mut meta = docvec_engine::Metadata::new();
    let mut force = false;
    while let Some(mut field) = multipart.next_field().await? {
        match field.name().unwrap_or("") {
            "file" | "files" | "files[]" => {
                let name = check_name(field.file_name().unwrap_or(""))?;
                if !seen.insert(name.clone()) {
                    return Err(ApiError::bad_request(format!(
                        "upload `{name}`: the same name appears twice in one upload"
                    )));
                }
                tokio::fs::create_dir_all(staging)
                    .await
                    .map_err(|e| ApiError::io("cannot stage the upload", &e))?;
                let path = staging.join(&name);
                let mut out = tokio::fs::File::create(&path)
                    .await
                    .map_err(|e| ApiError::io(&format!("cannot stage {name}"), &e))?;
                let mut bytes = 0u64;
                while let Some(chunk) = field.chunk().await? {
                    bytes += chunk.len() as u64;
                    out.write_all(&chunk)
                        .await
                        .map_err(|e| ApiError::io(&format!("cannot stage {name}"), &e))?;
                }
                out.flush()
                    .await
                    .map_err(|e| ApiError::io(&format!("cannot stage {name}"), &e))?;
                files.push((name, bytes));
            }
            "tag" | "tags" => tags.push(field.text().await?),
            "metadata" => {
                meta = serde_json::from_str(&field.text().await?).map_err(|e| {
                    ApiError::bad_request(format!("metadata: not a JSON object: {e}"))
                })?;
                docvec_engine::check_metadata(&meta).map_err(ApiError::bad_request)?;
            }
            "force" => force = matches!(field.text().await?.trim(), "true" | "1" | "yes"),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown upload field `{other}` (expected `file`, `tag`, `metadata` or `force`)"
                )));
            }
        }
    }
    if files.is_empty() {
        return Err(ApiError::bad_request(
            "no file in the upload: send multipart fields named `file`",
        ));
    }
    Ok(Upload {
        files,
        tags,
        meta,
        force,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DocumentParams {
    pub format: Option<String>,
    pub tag: Option<String>,
    pub path_prefix: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 1000, default 100.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentPage {
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<DocumentRow>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List documents in path order, a page at a time.
#[utoipa::path(get, path = "/documents", tag = "documents", params(DocumentParams),
    responses((status = 200, body = DocumentPage)), security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<DocumentParams>,
) -> Result<Json<DocumentPage>, ApiError> {
    let engine = state.engine()?;
    let limit = page_limit(p.limit)?;
    let filter = DocumentFilter {
        format: p.format,
        tag: p.tag,
        path_prefix: p.path_prefix,
        after: p.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    };
    let documents = engine
        .store()
        .documents_page(&filter)
        .await
        .map_err(|e| ApiError::from(docvec_engine::EngineError::from(e)))?;
    let next_cursor = (documents.len() as i64 == limit)
        .then(|| documents.last().map(|d| encode_cursor(&d.path)))
        .flatten();
    Ok(Json(DocumentPage {
        documents,
        next_cursor,
    }))
}

/// One document with its sections, tables, API endpoints, tags, facts and (the first 1000) log entries.
#[utoipa::path(get, path = "/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "document id or path")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let engine = state.engine()?;
    let store = engine.store();
    let internal = |e| ApiError::from(docvec_engine::EngineError::from(e));
    let row = store
        .document(&id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(format!("no document `{id}`")))?;
    let export = store
        .export_document(&row.id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(format!("no document `{id}`")))?;
    let mut entries = export.log_entries;
    let total_entries = entries.as_array().map_or(0, Vec::len);
    if let Some(list) = entries.as_array_mut() {
        list.truncate(DOCUMENT_LOG_ENTRIES);
    }
    Ok(Json(serde_json::json!({
        "document": row,
        "metadata": export.document.get("metadata").cloned().unwrap_or_default(),
        "sections": export.sections,
        "tables": export.tables,
        "endpoints": export.endpoints,
        "log_entries": entries,
        "log_entries_total": total_entries,
        "tags": export.tags,
        "facts": export.facts,
        "chunks": export.chunks.len(),
    })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: String,
    pub path: String,
    pub chunks: u64,
}

/// Delete a document, its chunks and vectors (and its uploaded file, when it came by upload).
#[utoipa::path(delete, path = "/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "document id or path")),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> Result<Json<Deleted>, ApiError> {
    let engine = state.engine()?;
    let Some((path, chunks)) = engine.delete(&id).await? else {
        return Err(ApiError::not_found(format!("no document `{id}`")));
    };
    let uploads = engine.layout().uploads();
    if let (Ok(file), Ok(root)) = (
        std::fs::canonicalize(&path),
        std::fs::canonicalize(&uploads),
    ) && file.starts_with(&root)
    {
        let _ = std::fs::remove_file(&file);
    }
    Ok(Json(Deleted {
        deleted: id,
        path,
        chunks,
    }))
}
