//! `docvec` for Python: the engine embedded in the Python process, no server. `python/docvec` wraps
//! this module's `Database` with the friendly signatures (`docvec.open`, numpy conversion); here
//! each method turns Python values into the engine's requests, runs the engine on this database's
//! own tokio runtime with the GIL released, and turns the answer back into Python values.

mod convert;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use docvec_engine::{Access, Config, Engine, IngestOptions, SearchMode, SearchRequest};

use convert::{Filters, engine_error, hits_to_py, report_to_py, to_py};

/// One open data directory. Methods may be called from several Python threads at once: searches
/// run side by side, and the engine orders writes itself.
#[pyclass(frozen, module = "docvec._docvec")]
struct Database {
    /// `None` once closed.
    engine: Mutex<Option<Arc<Engine>>>,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    fn engine(&self) -> PyResult<Arc<Engine>> {
        self.engine
            .lock()
            .map_err(|_| convert::DocvecError::new_err("the database's lock was poisoned"))?
            .clone()
            .ok_or_else(|| convert::DocvecError::new_err("the database is closed"))
    }

    /// Run `f`'s future on this database's runtime with the GIL released, so other Python threads
    /// (and the engine's own threads) run meanwhile.
    fn run<T: Send, F>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(Arc<Engine>) -> F + Send,
    ) -> PyResult<T>
    where
        F: std::future::Future<Output = Result<T, docvec_engine::EngineError>>,
    {
        let engine = self.engine()?;
        py.detach(|| self.runtime.block_on(f(engine)))
            .map_err(engine_error)
    }
}

#[pymethods]
impl Database {
    /// Open (or create) the data directory `path`. Settings come as for the `docvec` command:
    /// compiled defaults, then `config` (a docvec.toml; `./docvec.toml` when it exists), then the
    /// `DOCVEC_*` environment; `models_dir` says where `tools/setup_models.py` put the model.
    #[new]
    #[pyo3(signature = (path, *, read_only=false, config=None, models_dir=None, threads=None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        read_only: bool,
        config: Option<PathBuf>,
        models_dir: Option<PathBuf>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let mut cfg = Config::load(config.as_deref(), Some(&path)).map_err(engine_error)?;
        if let Some(dir) = models_dir {
            cfg.model.models_dir = Some(dir);
        }
        if let Some(n) = threads {
            cfg.model.threads = n;
        }
        let access = if read_only {
            Access::ReadOnly
        } else {
            Access::ReadWrite
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("docvec")
            .enable_all()
            .build()
            .map_err(|e| convert::DocvecError::new_err(format!("cannot start a runtime: {e}")))?;
        let engine = py
            .detach(|| runtime.block_on(Engine::open(cfg, access)))
            .map_err(engine_error)?;
        Ok(Database {
            engine: Mutex::new(Some(Arc::new(engine))),
            runtime,
        })
    }

    /// Ingest files and folders; one bad file never stops the others (see the report's `failed`).
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments, one per ingest option.
    #[pyo3(signature = (paths, *, tags=Vec::new(), meta=None, force=false, include=Vec::new(), exclude=Vec::new()))]
    fn ingest<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        tags: Vec<String>,
        meta: Option<Bound<'py, PyDict>>,
        force: bool,
        include: Vec<String>,
        exclude: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let meta = convert::metadata(meta)?;
        let opts = IngestOptions {
            include,
            exclude,
            tags,
            meta,
            force,
            cancel: None,
        };
        let report = self.run(
            py,
            |e| async move { e.ingest(&paths, &opts, &|_| {}).await },
        )?;
        report_to_py(py, &report)
    }

    /// The `k` best hits for a text or a vector (1-D numpy array of the index's dimension).
    #[pyo3(signature = (query, k=10, mode="hybrid", filters=None, snippet_chars=None, max_per_document=0))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        query: Bound<'py, PyAny>,
        k: usize,
        mode: &str,
        filters: Option<Bound<'py, PyAny>>,
        snippet_chars: Option<usize>,
        max_per_document: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mode: SearchMode = mode
            .parse()
            .map_err(pyo3::exceptions::PyValueError::new_err)?;
        let mut request = match query.extract::<String>() {
            Ok(text) => SearchRequest::text(text, k),
            Err(_) => {
                let v: PyReadonlyArray1<f32> = query.extract().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(
                        "query must be a str or a 1-D float32 numpy array",
                    )
                })?;
                SearchRequest::vector(v.as_array().to_vec(), k)
            }
        };
        request.mode = mode;
        request.filter = Filters::from_py(filters)?.into_chunk_filter()?;
        request.snippet_chars = snippet_chars;
        request.max_per_document = max_per_document;
        let response = self.run(py, |e| async move { e.search(&request).await })?;
        // A degraded answer (Postgres failed and the local index answered, or hybrid ran as vector
        // where no full-text index is kept) is still an answer: a warning says so, as the HTTP API's
        // `warning` field does.
        if let Some(w) = &response.warning {
            convert::warn(py, w)?;
        }
        hits_to_py(py, &response.hits)
    }

    /// FAISS's `index.search(xq, k)`: each row of `queries` (float32, rows x dimension) searched in
    /// the local vector index, all on the engine's threads with the GIL released. Returns
    /// `(scores, ids)`, two rows x k arrays (float32 cosine similarities and int64 chunk ids), padded
    /// with -inf and -1 where fewer than k chunks match.
    #[pyo3(signature = (queries, k=10, filters=None))]
    fn search_vectors<'py>(
        &self,
        py: Python<'py>,
        queries: PyReadonlyArray2<'py, f32>,
        k: usize,
        filters: Option<Bound<'py, PyAny>>,
    ) -> PyResult<convert::ScoresAndIds<'py>> {
        let (rows, dim) = (queries.shape()[0], queries.shape()[1]);
        // Row-major whatever the array's memory order (a Fortran-ordered slice would be columns).
        let flat: Vec<f32> = match queries.as_slice() {
            Ok(s) if queries.is_c_contiguous() => s.to_vec(),
            _ => queries.as_array().iter().copied().collect(),
        };
        let filter = Filters::from_py(filters)?.into_chunk_filter()?;
        let found = self.run(py, |e| async move {
            e.search_vectors(flat, (rows, dim), k, &filter).await
        })?;
        convert::padded_arrays(py, rows, k, &found)
    }

    /// The stored chunks behind chunk ids (what `search_vectors` returns), as hit dicts.
    fn chunks<'py>(&self, py: Python<'py>, ids: Vec<i64>) -> PyResult<Bound<'py, PyAny>> {
        let ids: Vec<i64> = ids.into_iter().filter(|&id| id >= 0).collect();
        let hits = self.run(py, |e| async move { e.chunks(&ids).await })?;
        hits_to_py(py, &hits)
    }

    /// Delete a document by id or path; whether one was deleted.
    fn delete(&self, py: Python<'_>, document: String) -> PyResult<bool> {
        let gone = self.run(py, |e| async move { e.delete(&document).await })?;
        Ok(gone.is_some())
    }

    /// The stored documents, newest first, each with its tags and metadata.
    fn documents<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let docs = self.run(py, |e| async move { e.documents().await })?;
        to_py(py, &docs)
    }

    /// Counts of documents, chunks and vectors.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stats = self.run(py, |e| async move { e.stats().await })?;
        to_py(py, &stats)
    }

    /// The model's vectors for `texts` (rows x dimension, float32, unit length): to search with
    /// `search_vectors`, or to compare with another library on the same vectors.
    fn embed<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let dim = self.engine()?.dimension();
        let rows = self.run(py, |e| async move { e.embed_texts(texts).await })?;
        convert::matrix(py, rows, dim)
    }

    /// Every vector of the local index and its chunk id: `(ids, vectors)`, int64 (n,) and float32
    /// (n x dimension), ids ascending. To build another library's index over the same vectors.
    fn vectors<'py>(&self, py: Python<'py>) -> PyResult<convert::IdsAndVectors<'py>> {
        let dim = self.engine()?.dimension();
        let (ids, flat) = self.run(py, |e| async move { e.vectors().await })?;
        convert::ids_and_vectors(py, ids, flat, dim)
    }

    #[getter]
    fn dimension(&self) -> PyResult<usize> {
        Ok(self.engine()?.dimension())
    }

    #[getter]
    fn model_id(&self) -> PyResult<String> {
        Ok(self.engine()?.model_id())
    }

    #[getter]
    fn path(&self) -> PyResult<PathBuf> {
        Ok(self.engine()?.data_dir().to_path_buf())
    }

    /// Vectors in the local index.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        // The index's read lock waits while an ingest writes; other Python threads run meanwhile.
        let engine = self.engine()?;
        Ok(py.detach(|| engine.index_len()))
    }

    /// Save and release the data directory (its lock too). Later calls raise; closing twice is fine.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(mut shared) = self.engine.lock().ok().and_then(|mut e| e.take()) else {
            return Ok(());
        };
        // Calls that other Python threads started still hold the engine: wait (GIL released, so
        // they can finish) until this is the last reference, then close it.
        let engine = loop {
            match Arc::try_unwrap(shared) {
                Ok(engine) => break engine,
                Err(still_shared) => {
                    shared = still_shared;
                    py.detach(|| std::thread::sleep(std::time::Duration::from_millis(2)));
                }
            }
        };
        py.detach(|| self.runtime.block_on(engine.close()))
            .map_err(engine_error)
    }
}

#[pymodule]
fn _docvec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Database>()?;
    m.add("DocvecError", m.py().get_type::<convert::DocvecError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
