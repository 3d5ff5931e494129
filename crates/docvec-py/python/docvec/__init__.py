"""docvec, embedded: ingest documents and search them by meaning and by words, in this process.

    import docvec
    db = docvec.open("./docvec-data")
    db.ingest(["docs/"], tags=["handbook"], meta={"year": 2024})
    for hit in db.search("how do I rotate the keys?", k=5, filters={"meta": {"year": {"gte": 2020}}}):
        print(hit["score"], hit["document_path"], hit["span"])

    # FAISS-like: your own vectors, many at once, the GIL released while they run.
    scores, ids = db.search_vectors(np.random.rand(100, db.dimension).astype("float32"), k=10)

The data directory is the one the `docvec` command and server use; one process writes it at a time.
The model comes from `tools/setup_models.py` (`models_dir=`, or `DOCVEC_MODELS_DIR`).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from ._docvec import Database as _Database
from ._docvec import DocvecError, __version__

__all__ = ["open", "Database", "DocvecError", "__version__"]

PathLike = Union[str, "os.PathLike[str]"]


class Database:
    """One open data directory. Use as a context manager, or call `close()` to release its lock."""

    def __init__(self, path: PathLike, *, read_only: bool = False, config: PathLike | None = None,
                 models_dir: PathLike | None = None, threads: int | None = None):
        self._db = _Database(os.fspath(path), read_only=read_only,
                             config=None if config is None else os.fspath(config),
                             models_dir=None if models_dir is None else os.fspath(models_dir),
                             threads=threads)

    def ingest(self, paths: PathLike | Iterable[PathLike], *, tags: Sequence[str] = (),
               meta: Mapping[str, Any] | None = None, force: bool = False,
               include: Sequence[str] = (), exclude: Sequence[str] = ()) -> dict:
        """Ingest files and folders. Returns the report: `files` (path, status, document_id,
        chunks or cause), counts of `added`, `updated`, `unchanged`, `failed`, and more. A file that
        cannot be read is a `failed` entry naming the cause; the others are still stored."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        return self._db.ingest([os.fspath(p) for p in paths], tags=list(tags),
                               meta=None if meta is None else dict(meta), force=force,
                               include=list(include), exclude=list(exclude))

    def search(self, query: str | np.ndarray | Sequence[float], k: int = 10, *,
               mode: str = "hybrid", filters: Mapping[str, Any] | None = None,
               snippet_chars: int | None = None, max_per_document: int = 0) -> list[dict]:
        """The `k` best hits for a text, or for a vector of the index's dimension. `mode` is
        `hybrid` (default), `vector` or `keyword`; `filters` takes the HTTP API's keys: `format`,
        `tags`, `document`, `path_prefix`, `since`, `until`, `log_level`, `meta`. Each hit is a dict
        with `score`, `chunk_id`, `document_id`, `document_path`, `document_title`, `format`,
        `section`, `page`, `text`, `span`, `meta` and, with `snippet_chars`, `snippet`."""
        if not isinstance(query, str):
            query = np.ascontiguousarray(query, dtype=np.float32)
            if query.ndim != 1:
                raise ValueError(f"a query vector is 1-D; got shape {query.shape} "
                                 "(use search_vectors for many)")
        return self._db.search(query, k, mode, None if filters is None else dict(filters),
                               snippet_chars, max_per_document)

    def search_vectors(self, queries: np.ndarray, k: int = 10, *,
                       filters: Mapping[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's `index.search(xq, k)`: each row of `queries` (n x dimension) searched in the
        local vector index, in parallel with the GIL released. Returns `(scores, ids)`: n x k
        float32 cosine similarities and int64 chunk ids, padded with -inf and -1. `chunks(ids)`
        gives the stored chunks behind ids."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[np.newaxis, :]
        if queries.ndim != 2:
            raise ValueError(f"queries is a 2-D array (n x dimension); got shape {queries.shape}")
        return self._db.search_vectors(queries, k, None if filters is None else dict(filters))

    def chunks(self, ids: Iterable[int] | np.ndarray) -> list[dict]:
        """The stored chunks behind chunk ids, as hit dicts in the order given (-1 and unknown
        ids are left out)."""
        return self._db.chunks([int(i) for i in np.asarray(ids).ravel()])

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every vector of the local index: `(ids, vectors)`, int64 chunk ids (ascending) and an
        n x dimension float32 matrix, e.g. to build a FAISS index over the same vectors."""
        return self._db.vectors()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The model's vectors for `texts`: n x dimension float32."""
        if isinstance(texts, str):
            texts = [texts]
        return self._db.embed(list(texts))

    def delete(self, document: str) -> bool:
        """Delete a document by id or path; whether there was one."""
        return self._db.delete(document)

    def documents(self) -> list[dict]:
        """The stored documents, each with its tags and metadata."""
        return self._db.documents()

    def stats(self) -> dict:
        """Counts of documents, chunks and vectors."""
        return self._db.stats()

    @property
    def dimension(self) -> int:
        return self._db.dimension

    @property
    def model_id(self) -> str:
        return self._db.model_id

    @property
    def path(self) -> str:
        return os.fspath(self._db.path)

    def __len__(self) -> int:
        return len(self._db)

    def close(self) -> None:
        """Save and release the data directory. Closing twice is fine; other calls then raise."""
        self._db.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        try:
            return f"docvec.Database({self.path!r}, model={self.model_id!r}, vectors={len(self)})"
        except DocvecError:
            return "docvec.Database(closed)"


def open(path: PathLike = "docvec-data", **options: Any) -> Database:  # noqa: A001 - the package's verb
    """Open (or create) a docvec data directory: `docvec.open("./docvec-data")`. Options:
    `read_only`, `config` (a docvec.toml), `models_dir`, `threads` (ONNX Runtime's)."""
    return Database(path, **options)
