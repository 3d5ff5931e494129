"""The Python package against the real model and real corpus files (../shared/corpus).

Run by tools/python.sh against the installed wheel. Outside CI a missing corpus skips loudly; under
CI (CI=true) it fails, as docvec-testkit's rule says for the Rust tests.
"""

import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

import docvec

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("DOCVEC_TEST_SHARED", REPO.parent / "shared"))
CORPUS = Path(os.environ.get("DOCVEC_CORPUS", SHARED / "corpus"))

GUIDE = CORPUS / "docs/mdbook-guide/guide"
FORMAT = CORPUS / "docs/mdbook-guide/format"
PDF = CORPUS / "pdf/pdfjs-tracemonkey.pdf"
LOG = CORPUS / "logs/Linux/Linux_2k.log"
CSV = CORPUS / "tables/datasets-sp500-constituents.csv"


def _require(what, found):
    """Skip loudly outside CI when a prerequisite is absent; fail under CI (CI=true)."""
    if found:
        return
    msg = f"docvec Python tests need {what}"
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    print(f"\nSKIPPING: {msg}")
    pytest.skip(msg)


def _require_corpus():
    missing = [p for p in (GUIDE, FORMAT, PDF, LOG, CSV) if not p.exists()]
    _require(f"the shared corpus; missing {missing[0]} (set DOCVEC_CORPUS)" if missing else "", not missing)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A data directory holding the mdBook guide (two folders with their own metadata), a PDF, a
    log and a CSV, ingested once for the module; tests that change it work on a copy."""
    _require_corpus()
    root = tmp_path_factory.mktemp("docvec")
    with docvec.open(root / "data") as db:
        r1 = db.ingest([GUIDE], tags=["guide"], meta={"year": 2019, "team": "docs"})
        r2 = db.ingest([FORMAT], tags=["format"], meta={"year": 2024, "team": "core"})
        r3 = db.ingest([PDF, LOG, CSV])
    return root / "data", (r1, r2, r3)


@pytest.fixture
def db(data):
    with docvec.open(data[0], read_only=True) as db:
        yield db


@pytest.fixture
def writable(data, tmp_path):
    """A copy of the module's data directory, for tests that change it."""
    copy = tmp_path / "copy"
    shutil.copytree(data[0], copy, ignore=shutil.ignore_patterns("*.lock"))
    with docvec.open(copy) as db:
        yield db


def test_ingest_reports_every_file(data):
    r1, r2, r3 = data[1]
    assert r1["added"] == len(list(GUIDE.rglob("*.md"))) and r1["failed"] == 0
    assert r2["added"] >= 5 and r2["failed"] == 0
    assert r3["added"] == 3 and r3["chunks_embedded"] > 0
    statuses = {Path(f["path"]).name: f for f in r3["files"]}
    assert statuses[PDF.name]["status"] == "added"
    assert statuses[PDF.name]["document_id"]
    assert statuses[PDF.name]["chunks"] > 0


def test_ingest_again_is_unchanged_and_a_bad_file_does_not_stop_the_batch(writable, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nthis is not a PDF at all\n")
    report = writable.ingest([PDF, bad])
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert by_name[PDF.name]["status"] == "unchanged"
    assert by_name["broken.pdf"]["status"] == "failed"
    assert "pdf" in by_name["broken.pdf"]["cause"].lower(), by_name["broken.pdf"]["cause"]
    assert report["failed"] == 1 and report["unchanged"] == 1


def test_text_search_finds_the_document_that_answers(db):
    hits = db.search("trace-based just-in-time compilation of dynamic languages", k=5)
    assert hits, "no hits"
    assert hits[0]["document_path"].endswith(PDF.name)
    top = hits[0]
    for field in ("score", "chunk_id", "document_id", "format", "text", "span"):
        assert field in top, field
    assert top["format"] == "pdf" and top["page"] >= 1
    assert all(a["score"] >= b["score"] for a, b in zip(hits, hits[1:]))


def test_modes_and_snippets(db):
    q = "kernel authentication failure for user root"
    for mode in ("vector", "keyword", "hybrid"):
        hits = db.search(q, k=3, mode=mode, snippet_chars=120)
        assert hits and hits[0]["document_path"].endswith(LOG.name), mode
        assert hits[0]["snippet"]["highlights"], mode
    with pytest.raises(ValueError, match="unknown search mode"):
        db.search(q, mode="semantic")


def test_filters_apply_before_the_top_k(db):
    q = "configuring the book"
    only_2024 = db.search(q, k=10, filters={"meta": {"year": {"gte": 2020}}})
    assert len(only_2024) == 10
    assert {h["meta"]["year"] for h in only_2024} == {2024}
    team = db.search(q, k=10, filters={"meta": {"team": ["docs"]}, "tags": ["guide"]})
    assert team and all(h["meta"]["team"] == "docs" for h in team)
    csv = db.search(q, k=5, filters={"format": ["csv"]})
    assert csv and all(h["format"] == "csv" for h in csv)
    assert db.search(q, k=5, filters={"meta": {"year": {"gt": 3000}}}) == []
    with pytest.raises(ValueError, match="filters"):
        db.search(q, filters={"colour": "red"})


def test_a_vector_query_equals_the_text_query(db):
    q = "how are links between chapters written in markdown"
    vec = db.embed([q])
    assert vec.shape == (1, db.dimension) and vec.dtype == np.float32
    assert abs(float(np.linalg.norm(vec[0])) - 1.0) < 1e-4
    by_text = [h["chunk_id"] for h in db.search(q, k=8, mode="vector")]
    by_vec = [h["chunk_id"] for h in db.search(vec[0], k=8, mode="vector")]
    assert by_text == by_vec
    with pytest.raises(ValueError, match="dimensions"):
        db.search(np.ones(7, dtype=np.float32), mode="vector")


def test_search_vectors_is_the_batch_of_single_searches(db):
    queries = ["stock ticker of a company", "kernel log", "summary file chapters",
               "JavaScript tracing JIT", "theme and fonts of the book"]
    xq = db.embed(queries)
    scores, ids = db.search_vectors(xq, k=6)
    assert scores.shape == ids.shape == (len(queries), 6)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    for row, vec in enumerate(xq):
        single = db.search(vec, k=6, mode="vector")
        assert list(ids[row]) == [h["chunk_id"] for h in single]
        assert np.allclose(scores[row], [h["score"] for h in single], atol=1e-5)
    # float64 and lists are converted, as FAISS's wrapper does.
    _, ids64 = db.search_vectors(xq.astype(np.float64).tolist(), k=6)
    assert (ids64 == ids).all()
    chunks = db.chunks(ids[0])
    assert [c["chunk_id"] for c in chunks] == list(ids[0])


def test_vectors_export_the_index(db):
    ids, vectors = db.vectors()
    assert ids.dtype == np.int64 and vectors.dtype == np.float32
    assert vectors.shape == (len(db), db.dimension) and len(ids) == len(db)
    assert (np.diff(ids) > 0).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # Searching with a stored vector finds its own chunk first, with cosine 1.
    row = len(ids) // 2
    scores, found = db.search_vectors(vectors[row], k=1)
    assert found[0, 0] == ids[row] and abs(scores[0, 0] - 1.0) < 1e-4


def test_search_vectors_pads_when_a_filter_leaves_fewer_than_k(db):
    xq = db.embed(["a pdf"])
    scores, ids = db.search_vectors(xq, k=1000, filters={"format": ["pdf"]})
    found = int((ids[0] >= 0).sum())
    pdf_chunks = {h["chunk_id"] for h in db.search("trace", k=1000, mode="keyword",
                                                   filters={"format": ["pdf"]})}
    assert 0 < found < 1000 and pdf_chunks <= set(ids[0][:found])
    assert (ids[0][found:] == -1).all() and np.isneginf(scores[0][found:]).all()
    with pytest.raises(ValueError, match="row 1"):
        bad = np.vstack([xq[0], np.full(db.dimension, np.nan, dtype=np.float32)])
        db.search_vectors(bad)


def test_search_vectors_checks_shapes_and_filters(db):
    dim = db.dimension
    with pytest.raises(ValueError, match="dimensions"):
        db.search_vectors(np.ones((1, 2 * dim), dtype=np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        db.search_vectors(np.ones((2, dim // 2), dtype=np.float32))
    with pytest.raises(ValueError, match="since"):
        db.search_vectors(np.ones((1, dim), dtype=np.float32), filters={"since": "yesterday"})
    scores, ids = db.search_vectors(np.empty((0, dim), dtype=np.float32), k=4)
    assert scores.shape == ids.shape == (0, 4)
    # A Fortran-ordered matrix is read by rows all the same (the module itself, below the wrapper).
    xq = db.embed(["markdown links", "kernel log", "stock ticker"])
    expected = db.search_vectors(xq, k=5)[1]
    _, fortran = db._db.search_vectors(np.asfortranarray(xq), 5, None)
    assert (fortran == expected).all()


def test_search_vectors_releases_the_gil(db):
    """A Python thread keeps counting while a large batch runs in Rust: it could not if the call held
    the GIL (the count is read just before and just after the call, both under the GIL)."""
    xq = np.tile(db.embed(["markdown", "kernel", "companies", "compilers"]), (4000, 1))
    counted, stop = [0], threading.Event()

    def count():
        while not stop.is_set():
            counted[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        before = counted[0]
        db.search_vectors(xq, k=10)
        during = counted[0] - before
    finally:
        stop.set()
        t.join()
    assert during > 0


def test_searches_from_many_threads_agree(db):
    xq = db.embed(["markdown", "kernel", "companies", "compilers"])
    expected = db.search_vectors(xq, k=5)[1]
    results, errors = [], []

    def work():
        try:
            results.append(db.search_vectors(xq, k=5)[1])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 8
    assert all((r == expected).all() for r in results)


def test_delete_removes_a_document_from_search_and_listing(writable):
    pdf = next(d for d in writable.documents() if d["path"].endswith(PDF.name))
    assert writable.delete(pdf["id"]) is True
    assert writable.delete(pdf["id"]) is False
    assert all(not d["path"].endswith(PDF.name) for d in writable.documents())
    hits = writable.search("trace-based just-in-time compilation", k=20)
    assert all(not h["document_path"].endswith(PDF.name) for h in hits)


def test_documents_carry_their_metadata_and_stats_count(db):
    docs = db.documents()
    assert {d["meta"].get("year") for d in docs} >= {2019, 2024}
    stats = db.stats()
    assert len(db) > 0 and stats["documents"] == len(docs)


def test_read_only_refuses_writes_and_a_closed_database_says_so(data):
    db = docvec.open(data[0], read_only=True)
    with pytest.raises(PermissionError, match="read-only"):
        db.ingest([PDF])
    with pytest.raises(PermissionError):
        db.delete("anything")
    db.close()
    db.close()
    with pytest.raises(docvec.DocvecError, match="closed"):
        db.search("x")
    assert "closed" in repr(db)


def test_bad_arguments_are_value_errors(db, tmp_path):
    with pytest.raises(ValueError, match="empty"):
        db.search("   ")
    with docvec.open(tmp_path / "other") as other:
        with pytest.raises(ValueError, match="nested"):
            other.ingest([PDF], meta={"nested": {"no": 1}})
        assert other.documents() == []


def test_metadata_reaches_the_postgres_mirror_and_filters_there(tmp_path, monkeypatch):
    """Supabase mode: the documents and their metadata go to Postgres (pgvector), and a search with a
    metadata filter is answered there."""
    _require_corpus()
    server = os.environ.get("DOCVEC_TEST_DATABASE_URL")
    psql = REPO / "tools/.cache/pg/pgserver/pginstall/bin/psql"
    _require("Postgres (DOCVEC_TEST_DATABASE_URL, from `bash tools/pg.sh start`)",
             server and psql.exists())
    name = f"docvec_py_{uuid.uuid4().hex[:12]}"
    subprocess.run([psql, server, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = server.rsplit("/", 1)[0] + "/" + name
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DOCVEC_STORAGE_MODE", "supabase")
    with docvec.open(tmp_path / "remote") as db:
        guide = db.ingest([GUIDE], meta={"year": 2019})
        fmt = db.ingest([FORMAT], meta={"year": 2024, "team": "core"})
        assert guide["failed"] == fmt["failed"] == 0
        hits = db.search("configuring the book", k=10, mode="vector",
                         filters={"meta": {"year": {"gte": 2020}}})
        assert len(hits) == 10 and {h["meta"]["year"] for h in hits} == {2024}
        assert db.search("configuring the book", k=5, mode="vector",
                         filters={"meta": {"team": "nobody"}}) == []
        # Hybrid where no full-text index is kept: vector results, and a warning that says so.
        with pytest.warns(UserWarning, match="no local full-text index"):
            assert db.search("configuring the book", k=3)
    try:
        rows = subprocess.run(
            [psql, url, "-tAc",
             "SELECT meta->>'year', count(*) FROM docvec.documents GROUP BY 1 ORDER BY 1"],
            check=True, capture_output=True, text=True).stdout.split()
        assert rows == [f"2019|{guide['added']}", f"2024|{fmt['added']}"], rows
    finally:
        subprocess.run([psql, server, "-qc", f"DROP DATABASE {name}"], check=True)
