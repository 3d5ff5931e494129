"""hnswlib and faiss HNSW beside crates/docvec-index/examples/cold_start.rs: build and save an index,
or, in a fresh process, open a saved one and answer one query, reporting the milliseconds from before
the open to after the answer and the process's memory then (VmRSS, VmHWM; this Python process's own
baseline, measured before the open, is reported too so the index's share can be told apart).

  python peer.py build DIR OUT [M] [EF_CONSTRUCTION]      (OUT/hnswlib.bin and OUT/faiss.index)
  python peer.py open ENGINE OUT QUERIES.fvecs             (ENGINE: hnswlib, faiss, faiss-mmap)
"""

import json
import os
import sys
import time

import numpy as np


def vecs(path, limit=None):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    a = raw.reshape(-1, d + 1)[:, 1:].copy().view(np.float32)
    a = a[:limit] if limit else a
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-30)


def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def build(d, out, m, efc):
    import faiss
    import hnswlib

    x = vecs(os.path.join(d, "base.fvecs"))
    os.makedirs(out, exist_ok=True)
    t = time.perf_counter()
    h = hnswlib.Index(space="ip", dim=x.shape[1])
    h.init_index(max_elements=len(x), M=m, ef_construction=efc)
    h.add_items(x, np.arange(len(x)))
    h.save_index(os.path.join(out, "hnswlib.bin"))
    print(f"hnswlib: built and saved {len(x)} vectors in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    t = time.perf_counter()
    f = faiss.IndexHNSWFlat(x.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    f.hnsw.efConstruction = efc
    f.add(x)
    faiss.write_index(f, os.path.join(out, "faiss.index"))
    print(f"faiss: built and saved {len(x)} vectors in {time.perf_counter() - t:.1f}s", file=sys.stderr)


def open_one(engine, out, queries):
    import faiss
    import hnswlib

    q = vecs(queries, 1)
    base_rss = status_mb("VmRSS:")
    t = time.perf_counter()
    if engine == "hnswlib":
        h = hnswlib.Index(space="ip", dim=q.shape[1])
        h.load_index(os.path.join(out, "hnswlib.bin"))
        h.set_ef(64)
        s = time.perf_counter()
        labels, _ = h.knn_query(q, k=10)
        n = h.get_current_count()
    else:
        flags = faiss.IO_FLAG_MMAP if engine == "faiss-mmap" else 0
        f = faiss.read_index(os.path.join(out, "faiss.index"), flags)
        f.hnsw.efSearch = 64
        s = time.perf_counter()
        _, labels = f.search(q, 10)
        n = f.ntotal
    done = time.perf_counter()
    assert len(labels[0]) == 10
    print(json.dumps({
        "engine": engine,
        "vectors": int(n),
        "open_to_first_answer_ms": round((done - t) * 1e3, 1),
        "first_query_ms": round((done - s) * 1e3, 2),
        "rss_mb": round(status_mb("VmRSS:"), 1),
        "peak_rss_mb": round(status_mb("VmHWM:"), 1),
        "python_baseline_rss_mb": round(base_rss, 1),
    }))


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 16,
              int(sys.argv[5]) if len(sys.argv) > 5 else 200)
    else:
        open_one(sys.argv[2], sys.argv[3], sys.argv[4])
