//! Every error the API returns, as JSON `{"error": {"code", "message"}}` with a stable code. Engine
//! errors are mapped to HTTP status here and nowhere else.

use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use docvec_engine::EngineError;

/// An error as the API reports it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `payload_too_large`, `timeout`, `not_ready`, `remote_unavailable`, `conflict`, `read_only`,
    /// `disk_full`, `internal` ...
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn not_ready() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "docvec is still loading the model and the index; retry shortly",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// A file the server writes itself (an upload being saved) could not be written: a full disk is a
    /// 507 `disk_full` naming the cause, the request's fault-free failure to retry once there is
    /// space; anything else is internal.
    pub fn io(what: &str, e: &std::io::Error) -> Self {
        if is_disk_full(e) {
            tracing::warn!("{what}: no space left on device ({e})");
            Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "disk_full",
                format!("{what}: no space left on device ({e}); free space and retry"),
            )
        } else {
            Self::internal(format!("{what}: {e}"))
        }
    }

    /// The same error, its message saying which part of the request it concerns.
    pub fn prefixed(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

/// ENOSPC, whether or not the standard library names it (`StorageFull`); EDQUOT (a quota) too.
fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || e.raw_os_error() == Some(28)
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let mut message = e.to_string();
        let (status, code) = match &e {
            // A damaged file under the data directory: the server is up, the data is not servable
            // until it is restored (the database) or rebuilt (`docvec check` rebuilds the indexes).
            EngineError::Store(s) if s.damage().is_some() => {
                tracing::error!("request failed: {message}");
                if !matches!(s, docvec_engine::StoreError::WalDamaged { .. }) {
                    message = format!(
                        "the data directory's database file is damaged ({}); `docvec check` reports \
                         it and says what to do",
                        s.damage().unwrap_or_default()
                    );
                }
                (StatusCode::SERVICE_UNAVAILABLE, "damaged")
            }
            EngineError::Index(docvec_engine::IndexError::Unreadable { .. }) => {
                tracing::error!("request failed: {message}");
                (StatusCode::SERVICE_UNAVAILABLE, "damaged")
            }
            // A full disk (SQLite, either index, a file written): nothing is wrong with the request
            // or the data (writes roll back whole), it can be retried once there is space.
            e if e.is_disk_full() => {
                tracing::warn!("request failed: {message}");
                (StatusCode::INSUFFICIENT_STORAGE, "disk_full")
            }
            // The caller's request is wrong.
            EngineError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            // A configuration problem surfacing through a request (a mode the configured storage
            // does not serve, no Postgres configured) is answered as the request's, as it always was.
            EngineError::Config(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            EngineError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            EngineError::Conflict(_) | EngineError::Busy(_) => (StatusCode::CONFLICT, "conflict"),
            EngineError::ModelMismatch { .. } => (StatusCode::CONFLICT, "model_mismatch"),
            // Served read-only (`--read-only`): the request is understood and will not be done.
            EngineError::ReadOnly(_) => (StatusCode::FORBIDDEN, "read_only"),
            EngineError::Mirror(_) => (StatusCode::SERVICE_UNAVAILABLE, "remote_unavailable"),
            EngineError::Cancelled => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
            // Refused at open, so met only before the server listens: the directory needs a newer docvec.
            EngineError::FormatNewer { .. } => (StatusCode::SERVICE_UNAVAILABLE, "format_newer"),
            // The model could not be loaded (files, ONNX Runtime): searches that need no model
            // (keyword, by vector) still work, so the server is up but this request cannot be served.
            EngineError::Embed(docvec_engine::EmbedError::Setup(_)) => {
                tracing::error!("request failed: {message}");
                (StatusCode::SERVICE_UNAVAILABLE, "model_unavailable")
            }
            EngineError::Embed(docvec_engine::EmbedError::Inference(_))
            | EngineError::FullText(_)
            | EngineError::Store(_)
            | EngineError::Index(_)
            | EngineError::Io { .. }
            | EngineError::Internal(_) => {
                tracing::error!("request failed: {message}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        Self::new(status, code, message)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        // axum answers 422 for well-formed JSON of the wrong shape; to clients both are a bad request.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            // axum's words name no limit; these are the settings that set them.
            format!(
                "{}: the body is over [server] max_search_body_bytes (POST /search), \
                 max_batch_bytes (POST /search/batch) or max_body_bytes (other JSON requests)",
                r.body_text()
            )
        } else {
            r.body_text()
        };
        Self::new(status, code, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(r.body_text())
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> Self {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "bad_request"
        };
        Self::new(status, code, format!("upload: {}", e.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// Stable code for a status that reached the client without an `ApiError` (a layer's own answer).
pub(crate) fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::INSUFFICIENT_STORAGE => "disk_full",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// Rewrite error responses made by layers or axum itself (timeouts, body limits, unknown routes) into
/// the JSON error shape, so clients see one format.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string()
    } else {
        text
    };
    let mut out = ApiError::new(status, code_for_status(status), message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(e: EngineError) -> (StatusCode, &'static str, String) {
        let api = ApiError::from(e);
        (api.status, api.code, api.message)
    }

    #[test]
    fn an_invalid_request_is_a_400() {
        let (status, code, message) =
            mapped(EngineError::InvalidRequest("the query is empty".into()));
        assert_eq!((status, code), (StatusCode::BAD_REQUEST, "bad_request"));
        assert_eq!(message, "the query is empty");
    }

    #[test]
    fn a_missing_thing_is_a_404() {
        let (status, code, message) = mapped(EngineError::NotFound("no docvec store at /x".into()));
        assert_eq!((status, code), (StatusCode::NOT_FOUND, "not_found"));
        assert_eq!(message, "no docvec store at /x");
    }

    #[test]
    fn a_conflict_is_a_409() {
        let (status, code, message) = mapped(EngineError::Conflict(
            "a rebuild is already running; wait for it to finish".into(),
        ));
        assert_eq!((status, code), (StatusCode::CONFLICT, "conflict"));
        assert!(
            message.starts_with("a rebuild is already running"),
            "{message}"
        );
        let (status, code, _) = mapped(EngineError::Busy("/data".into()));
        assert_eq!((status, code), (StatusCode::CONFLICT, "conflict"));
    }

    #[test]
    fn a_read_only_refusal_is_a_403() {
        let (status, code, message) = mapped(EngineError::ReadOnly("deleting a document".into()));
        assert_eq!((status, code), (StatusCode::FORBIDDEN, "read_only"));
        assert_eq!(message, "read-only: deleting a document");
    }

    #[test]
    fn a_configuration_problem_keeps_its_400() {
        let (status, code, _) = mapped(EngineError::Config("no Postgres configured".into()));
        assert_eq!((status, code), (StatusCode::BAD_REQUEST, "bad_request"));
    }

    #[test]
    fn an_internal_fault_is_a_500() {
        let (status, code, message) = mapped(EngineError::Internal("index still shared".into()));
        assert_eq!(
            (status, code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert_eq!(message, "internal error: index still shared");
    }

    #[test]
    fn other_engine_errors_keep_their_codes() {
        let (status, code, _) = mapped(EngineError::Cancelled);
        assert_eq!(
            (status, code),
            (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
        );
        let (status, code, _) = mapped(EngineError::ModelMismatch {
            data_dir: "/data".into(),
            stored: "a".into(),
            stored_dim: 384,
            configured: "b".into(),
            configured_dim: 768,
        });
        assert_eq!((status, code), (StatusCode::CONFLICT, "model_mismatch"));
        let (status, code, message) = mapped(EngineError::FormatNewer {
            data_dir: "/data".into(),
            found: 9,
            current: 8,
        });
        assert_eq!(
            (status, code),
            (StatusCode::SERVICE_UNAVAILABLE, "format_newer")
        );
        assert!(
            message.contains("/data has format 9") && message.contains("up to format 8"),
            "{message}"
        );
        let io = EngineError::Io {
            path: "/data".into(),
            source: std::io::Error::other("disk on fire"),
        };
        assert_eq!(mapped(io).0, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_model_that_cannot_load_is_a_503_and_a_failed_inference_a_500() {
        use docvec_engine::EmbedError;
        let (status, code, message) = mapped(EngineError::Embed(EmbedError::Setup(
            "cannot load ONNX Runtime from /x/libonnxruntime.so".into(),
        )));
        assert_eq!(
            (status, code),
            (StatusCode::SERVICE_UNAVAILABLE, "model_unavailable")
        );
        assert!(message.contains("libonnxruntime.so"), "{message}");
        let (status, code, _) = mapped(EngineError::Embed(EmbedError::Inference(
            "shape mismatch".into(),
        )));
        assert_eq!(
            (status, code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
    }

    #[test]
    fn a_full_disk_is_a_507_naming_the_cause() {
        let store = docvec_engine::StoreError::DiskFull(sqlx::Error::Protocol(
            "database or disk is full".into(),
        ));
        let index = docvec_engine::IndexError::DiskFull {
            path: "/data/index/gen-2".into(),
            cause: "No space left on device (os error 28)".into(),
        };
        let io = EngineError::Io {
            path: "/data/uploads/a.html".into(),
            source: std::io::Error::from_raw_os_error(28),
        };
        for e in [EngineError::Store(store), EngineError::Index(index), io] {
            let (status, code, message) = mapped(e);
            assert_eq!(
                (status, code),
                (StatusCode::INSUFFICIENT_STORAGE, "disk_full")
            );
            assert!(
                message.to_lowercase().contains("no space left on device"),
                "{message}"
            );
        }
        // An upload that cannot be saved says which, and why.
        let api = ApiError::io(
            "cannot stage big.pdf",
            &std::io::Error::from_raw_os_error(28),
        );
        assert_eq!(
            (api.status, api.code),
            (StatusCode::INSUFFICIENT_STORAGE, "disk_full")
        );
        assert!(
            api.message
                .starts_with("cannot stage big.pdf: no space left on device"),
            "{}",
            api.message
        );
        let other = ApiError::io(
            "cannot stage big.pdf",
            &std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(
            (other.status, other.code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
    }

    #[test]
    fn a_damaged_full_text_index_is_a_500_naming_it() {
        let (status, code, message) =
            mapped(EngineError::FullText(docvec_engine::TextIndexError::Io {
                path: "/data/fulltext".into(),
                cause: "checksum mismatch".into(),
            }));
        assert_eq!(
            (status, code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert!(message.contains("/data/fulltext"), "{message}");
    }
}
