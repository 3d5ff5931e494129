"""hnswlib and faiss HNSW on the same fvecs/ivecs set as crates/docvec-index/examples/ann_bench.rs, with the
same measurements: build time on every core, then per ef_search recall@10 and queries per second on one
thread and on all cores. Each library gets its fastest query path (a batch call that loops over the
queries one at a time in C++, no Python per query). One JSON object per line.

  python peer.py DIR [M] [EF_CONSTRUCTION]
"""

import json
import os
import sys
import time

import faiss
import hnswlib
import numpy as np

EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384]
K = 10
MIN_TIME = 0.5
ROUNDS = 3  # the best round counts, as in ann_bench.rs


def vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def rss_bytes():
    """Resident memory of this process (Linux), to charge each index what its build added."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def normalised(a):
    a = np.ascontiguousarray(a, dtype=np.float32)
    n = np.linalg.norm(a, axis=1, keepdims=True)
    n[n == 0] = 1
    return a / n


def recall(found, truth):
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))


def qps(search, queries, clock=time.perf_counter):
    """Queries per second of `clock`, best of ROUNDS rounds of MIN_TIME (wall clock) each. For one
    thread, pass time.thread_time: the library then runs in this thread, and its CPU clock stays steady on
    a shared VM whose wall clock also counts time the host gave to others."""
    best = 0.0
    for _ in range(ROUNDS):
        started, t0 = time.perf_counter(), clock()
        done = 0
        while time.perf_counter() - started < MIN_TIME:
            search(queries)
            done += len(queries)
        best = max(best, done / (clock() - t0))
    return best


def main():
    d = sys.argv[1]
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    efc = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    base = normalised(vecs(os.path.join(d, "base.fvecs"), np.float32))
    queries = normalised(vecs(os.path.join(d, "query.fvecs"), np.float32))
    truth = vecs(os.path.join(d, "groundtruth_cosine.ivecs"), np.int32)[:, :K]
    n, dim = base.shape
    cores = os.cpu_count()

    before = rss_bytes()
    h = hnswlib.Index(space="ip", dim=dim)
    h.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=100)
    h.set_num_threads(cores)
    started = time.perf_counter()
    h.add_items(base, np.arange(n))
    print(json.dumps({"engine": "hnswlib", "n": n, "dim": dim, "m": m, "ef_construction": efc,
                      "build_s": round(time.perf_counter() - started, 3),
                      "bytes_per_vector": round((rss_bytes() - before) / n), "threads": cores}), flush=True)
    for ef in EFS:
        h.set_ef(ef)
        h.set_num_threads(cores)
        labels, _ = h.knn_query(queries, k=K)
        r = recall(labels, truth)
        h.set_num_threads(1)
        one = qps(lambda q: h.knn_query(q, k=K), queries, time.thread_time)
        h.set_num_threads(cores)
        allc = qps(lambda q: h.knn_query(q, k=K), queries)
        print(json.dumps({"engine": "hnswlib", "ef": ef, "recall": round(r, 4), "qps_1": round(one),
                          "qps_all": round(allc)}), flush=True)

    faiss.omp_set_num_threads(cores)
    before = rss_bytes()
    f = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    f.hnsw.efConstruction = efc
    started = time.perf_counter()
    f.add(base)
    print(json.dumps({"engine": "faiss", "n": n, "dim": dim, "m": m, "ef_construction": efc,
                      "build_s": round(time.perf_counter() - started, 3),
                      "bytes_per_vector": round((rss_bytes() - before) / n), "threads": cores}), flush=True)
    for ef in EFS:
        f.hnsw.efSearch = ef
        faiss.omp_set_num_threads(cores)
        _, labels = f.search(queries, K)
        r = recall(labels, truth)
        faiss.omp_set_num_threads(1)
        one = qps(lambda q: f.search(q, K), queries, time.thread_time)
        faiss.omp_set_num_threads(cores)
        allc = qps(lambda q: f.search(q, K), queries)
        print(json.dumps({"engine": "faiss", "ef": ef, "recall": round(r, 4), "qps_1": round(one),
                          "qps_all": round(allc)}), flush=True)


if __name__ == "__main__":
    main()
