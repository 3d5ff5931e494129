//! Python values to the engine's requests and back: filters, metadata, hits, reports, arrays, and the
//! engine's errors as Python exceptions.

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyPermissionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::{Deserialize, Serialize};

use docvec_engine::{ChunkFilter, EngineError, FileOutcome, IngestReport, Metadata, SearchHit};

create_exception!(
    _docvec,
    DocvecError,
    PyException,
    "A docvec operation failed for a reason other than the caller's arguments."
);

/// The engine's error as the Python exception a caller would catch: the caller's mistakes are
/// `ValueError`, a missing thing `FileNotFoundError`, writes to a read-only database
/// `PermissionError`, the rest `docvec.DocvecError`; the message is the engine's.
pub(crate) fn engine_error(e: EngineError) -> PyErr {
    let msg = e.to_string();
    match e {
        EngineError::InvalidRequest(_) | EngineError::Config(_) => PyValueError::new_err(msg),
        EngineError::NotFound(_) => PyFileNotFoundError::new_err(msg),
        EngineError::ReadOnly(_) => PyPermissionError::new_err(msg),
        _ => DocvecError::new_err(msg),
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{what}: {e}"))
}

/// A search's `filters`, with the keys and meaning of `filters` in the HTTP API's `POST /search`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Filters {
    format: Vec<String>,
    document: Option<String>,
    tags: Vec<String>,
    path_prefix: Option<String>,
    since: Option<String>,
    until: Option<String>,
    log_level: Option<String>,
    /// `{"year": {"gte": 2020}, "lang": "en", "team": ["a", "b"]}`: see `docvec_engine::parse_meta_filter`.
    meta: Option<serde_json::Value>,
}

impl Filters {
    pub(crate) fn from_py(obj: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        match obj {
            None => Ok(Filters::default()),
            Some(o) if o.is_none() => Ok(Filters::default()),
            Some(o) => pythonize::depythonize(&o).map_err(|e| bad("filters", e)),
        }
    }

    pub(crate) fn into_chunk_filter(self) -> PyResult<ChunkFilter> {
        let meta = match &self.meta {
            Some(v) => docvec_engine::parse_meta_filter(v).map_err(|e| bad("filters.meta", e))?,
            None => Vec::new(),
        };
        Ok(ChunkFilter {
            tags: self.tags,
            formats: self.format,
            document: self.document,
            path_prefix: self.path_prefix,
            log_level: self.log_level,
            since: self.since,
            until: self.until,
            meta,
        })
    }
}

/// A Python `UserWarning` carrying the engine's `warning`.
pub(crate) fn warn(py: Python<'_>, message: &str) -> PyResult<()> {
    let message = std::ffi::CString::new(message.replace('\0', " "))
        .map_err(|e| DocvecError::new_err(e.to_string()))?;
    let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
    // Level 2: the warning points at the caller of `docvec.Database.search`, not at the wrapper.
    PyErr::warn(py, category.as_any(), &message, 2)
}

/// An ingest's `meta` dict as the document metadata the engine stores (and checks).
pub(crate) fn metadata(obj: Option<Bound<'_, PyDict>>) -> PyResult<Metadata> {
    match obj {
        None => Ok(Metadata::new()),
        Some(d) => pythonize::depythonize(d.as_any()).map_err(|e| bad("meta", e)),
    }
}

/// Any serialisable answer as plain Python values (dicts, lists, str, int, float, None).
pub(crate) fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(|e| DocvecError::new_err(e.to_string()))
}

/// Hits as a list of dicts, the same fields as the HTTP API's hits.
pub(crate) fn hits_to_py<'py>(py: Python<'py>, hits: &[SearchHit]) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &hits)
}

/// One file of an ingest, flat: `{"path", "status", "document_id", "chunks", "cause"}`.
#[derive(Serialize)]
struct FileRow<'a> {
    path: String,
    #[serde(flatten)]
    outcome: &'a FileOutcome,
}

#[derive(Serialize)]
struct Report<'a> {
    files: Vec<FileRow<'a>>,
    added: usize,
    updated: usize,
    unchanged: usize,
    failed: usize,
    unsupported: Vec<String>,
    chunks_embedded: usize,
    elapsed_s: f64,
    warnings: &'a [String],
}

pub(crate) fn report_to_py<'py>(
    py: Python<'py>,
    report: &IngestReport,
) -> PyResult<Bound<'py, PyAny>> {
    let count = |f: fn(&FileOutcome) -> bool| report.count(f);
    let out = Report {
        files: report
            .files
            .iter()
            .map(|(p, o)| FileRow {
                path: p.display().to_string(),
                outcome: o,
            })
            .collect(),
        added: count(|o| matches!(o, FileOutcome::Added { .. })),
        updated: count(|o| matches!(o, FileOutcome::Updated { .. })),
        unchanged: count(|o| matches!(o, FileOutcome::Unchanged { .. })),
        failed: count(FileOutcome::is_failure),
        unsupported: report
            .unsupported
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        chunks_embedded: report.chunks_embedded,
        elapsed_s: report.elapsed.as_secs_f64(),
        warnings: &report.warnings,
    };
    to_py(py, &out)
}

/// `(scores, ids)`, as FAISS's `index.search` answers.
pub(crate) type ScoresAndIds<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray2<i64>>);

/// FAISS's answer shape: rows x k scores and ids, padded with -inf and -1.
pub(crate) fn padded_arrays<'py>(
    py: Python<'py>,
    rows: usize,
    k: usize,
    found: &[Vec<(i64, f32)>],
) -> PyResult<ScoresAndIds<'py>> {
    let mut scores = Array2::from_elem((rows, k), f32::NEG_INFINITY);
    let mut ids = Array2::from_elem((rows, k), -1i64);
    for (r, hits) in found.iter().enumerate() {
        for (c, &(id, score)) in hits.iter().take(k).enumerate() {
            scores[[r, c]] = score;
            ids[[r, c]] = id;
        }
    }
    Ok((scores.into_pyarray(py), ids.into_pyarray(py)))
}

/// `(ids, vectors)`: int64 (n,) and float32 (n x dimension).
pub(crate) type IdsAndVectors<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray2<f32>>);

pub(crate) fn ids_and_vectors(
    py: Python<'_>,
    ids: Vec<i64>,
    flat: Vec<f32>,
    dim: usize,
) -> PyResult<IdsAndVectors<'_>> {
    let n = ids.len();
    let vectors = Array2::from_shape_vec((n, dim), flat)
        .map_err(|e| DocvecError::new_err(e.to_string()))?
        .into_pyarray(py);
    Ok((ids.into_pyarray(py), vectors))
}

/// Vectors as one rows x dim float32 array.
pub(crate) fn matrix(
    py: Python<'_>,
    rows: Vec<Vec<f32>>,
    dim: usize,
) -> PyResult<Bound<'_, PyArray2<f32>>> {
    let n = rows.len();
    let flat: Vec<f32> = rows.into_iter().flatten().collect();
    Array2::from_shape_vec((n, dim), flat)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| DocvecError::new_err(e.to_string()))
}
