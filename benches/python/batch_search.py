"""Batch vector search from Python: docvec's `search_vectors` against faiss on the same vectors.

Opens a docvec data directory, exports its vectors (`db.vectors()`), builds faiss indexes over exactly
those vectors, and searches the same queries (an fvecs file's, else seeded random unit vectors) in one
batch call each:
  - docvec `search_vectors(Q, k)`: its HNSW graph (m 16, ef_construction 200, the int8 walk with an
    exact f32 re-rank), the queries spread over rayon's threads with the GIL released;
  - faiss `IndexHNSWFlat` (M 16, efConstruction 200, inner product) `search(Q, k)`, OpenMP threads;
  - faiss `IndexFlatIP`: exact, the ground truth for recall@k.
Each timed call is repeated and the best kept (noise only slows a run down). Prints one JSON line per
engine and setting.

    python benches/python/batch_search.py DATA_DIR [QUERIES | QUERY.fvecs] [K]
"""

import json
import os
import sys
import time

import faiss
import numpy as np

import docvec


def best_of(fn, runs=3):
    best, out = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def recall(found, truth, k):
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)]))


def main():
    data = sys.argv[1]
    given = sys.argv[2] if len(sys.argv) > 2 else "1000"
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rng = np.random.default_rng(7)
    threads = int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0)))
    faiss.omp_set_num_threads(threads)

    results = []
    for ef in (64, 128):
        os.environ["DOCVEC_HNSW_EF_SEARCH"] = str(ef)
        with docvec.open(data, read_only=True) as db:
            ids, xb = db.vectors()
            if ef == 64:
                if given.endswith(".fvecs"):
                    raw = np.fromfile(given, dtype=np.int32)
                    q = raw.reshape(-1, raw[0] + 1)[:, 1:].copy().view(np.float32)
                else:
                    q = rng.standard_normal((int(given), xb.shape[1])).astype(np.float32)
                    q /= np.linalg.norm(q, axis=1, keepdims=True)
                nq = len(q)
                flat = faiss.IndexFlatIP(xb.shape[1])
                flat.add(xb)
                t_flat, (_, gt_rows) = best_of(lambda: flat.search(q, k))
                truth = ids[gt_rows]
                results.append({"engine": "faiss-flat", "n": len(ids), "queries": nq, "k": k,
                                "qps": nq / t_flat, "recall": 1.0})
                started = time.perf_counter()
                hnsw = faiss.IndexHNSWFlat(xb.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
                hnsw.hnsw.efConstruction = 200
                hnsw.add(xb)
                faiss_build = time.perf_counter() - started
            db.search_vectors(q[:10], k)  # warm: the index is loaded and caught up
            t_dv, (_, found) = best_of(lambda: db.search_vectors(q, k))
            results.append({"engine": "docvec", "ef_search": ef, "n": len(ids), "queries": nq,
                            "k": k, "qps": nq / t_dv, "recall": recall(found, truth, k)})
        hnsw.hnsw.efSearch = ef
        t_f, (_, rows) = best_of(lambda: hnsw.search(q, k))
        results.append({"engine": "faiss-hnsw", "ef_search": ef, "n": len(ids), "queries": nq,
                        "k": k, "qps": nq / t_f, "recall": recall(ids[rows], truth, k),
                        "build_s": faiss_build})
    for r in results:
        r["threads"] = threads
        print(json.dumps(r))


if __name__ == "__main__":
    main()
