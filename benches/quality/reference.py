"""The plain Python reference issue 19 measures docvec against: BM25 (k1 0.9, b 0.4, Lucene's English
stop words and the Snowball English stemmer, title + text, as pyserini's defaults), dense retrieval with
the same all-MiniLM-L6-v2 ONNX model docvec runs (mean pooling, unit vectors, exact inner product), and
their fusion by RRF (k 60), min-max and z-score convex sums (weight 0.5), over the top 100 of each.

    tools/.venv-bench/bin/python benches/quality/reference.py ../shared/corpus/ir/cranfield [--per-query OUT.tsv]

Prints nDCG@10 per method (trec_eval's form: graded gains, log2 discount, ideal from the qrels); with
--per-query, writes `method<TAB>qid<TAB>ndcg@10` rows for benches/quality/compare.py to set beside
docvec's own per-query figures (`docvec eval --per-query`).
"""

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

# Lucene's EnglishAnalyzer stop set (what pyserini's BM25 defaults use).
STOP = set(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)
TOP = 100


def load(root: Path):
    """(docs {id: (title, text)}, queries {qid: text}, qrels {qid: {docid: grade}}): BEIR or TREC."""
    if (root / "corpus.jsonl").exists():
        docs = {}
        for line in open(root / "corpus.jsonl", encoding="utf-8"):
            d = json.loads(line)
            docs[d["_id"]] = (d.get("title") or "", d.get("text") or "")
        queries = {}
        for line in open(root / "queries.jsonl", encoding="utf-8"):
            q = json.loads(line)
            queries[q["_id"]] = q["text"]
        qrels = defaultdict(dict)
        for i, line in enumerate(open(root / "qrels" / "test.tsv", encoding="utf-8")):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].lstrip("-").isdigit():
                continue
            qrels[parts[0]][parts[1]] = int(parts[2])
        return docs, queries, qrels
    text = "".join(open(p, encoding="utf-8", errors="replace").read() for p in sorted((root / "corpus").iterdir()))
    docs = {
        m.group(1).strip(): ("", m.group(2).strip())
        for m in re.finditer(r"<DOCNO>(.*?)</DOCNO>(.*?)</DOC>", text, re.S)
    }
    topics = open(root / "query-text.trec", encoding="utf-8").read()
    queries = {
        m.group(1).strip(): " ".join(m.group(2).split())
        for m in re.finditer(r"<num>(.*?)</num>\s*<title>(.*?)</title>", topics, re.S)
    }
    qrels = defaultdict(dict)
    for line in open(root / "qrels", encoding="utf-8"):
        qid, _, docid, grade = line.split()
        qrels[qid][docid] = int(grade)
    return docs, queries, qrels


def analyzer():
    import snowballstemmer

    stem = snowballstemmer.stemmer("english").stemWord
    cache = {}

    def terms(text):
        out = []
        for w in re.findall(r"\w+", text.lower()):
            if w in STOP:
                continue
            if w not in cache:
                cache[w] = stem(w)
            out.append(cache[w])
        return out

    return terms


def bm25(docs, queries, k1=0.9, b=0.4):
    terms = analyzer()
    ids = list(docs)
    tfs = [Counter(terms(f"{t} {x}")) for t, x in (docs[i] for i in ids)]
    lengths = np.array([sum(tf.values()) for tf in tfs], dtype=np.float64)
    avg = lengths.mean()
    postings = defaultdict(list)
    for n, tf in enumerate(tfs):
        for term, c in tf.items():
            postings[term].append((n, c))
    runs = {}
    for qid, q in queries.items():
        scores = np.zeros(len(ids))
        for term in set(terms(q)):
            plist = postings.get(term)
            if not plist:
                continue
            idf = math.log(1 + (len(ids) - len(plist) + 0.5) / (len(plist) + 0.5))
            for n, c in plist:
                scores[n] += idf * c * (k1 + 1) / (c + k1 * (1 - b + b * lengths[n] / avg))
        runs[qid] = top(ids, scores)
    return runs


def embedder(model_dir: Path):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(256)
    tok.enable_padding()
    options = ort.SessionOptions()
    # REFERENCE_THREADS caps ONNX Runtime's threads (0: its default, every core).
    options.intra_op_num_threads = int(__import__("os").environ.get("REFERENCE_THREADS", "0"))
    session = ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def embed(texts, batch=64):
        out = []
        for s in range(0, len(texts), batch):
            enc = tok.encode_batch(texts[s : s + batch])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = session.run(None, feed)[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.vstack(out)

    return embed


def dense(docs, queries, model_dir):
    embed = embedder(model_dir)
    ids = list(docs)
    doc_vecs = embed([f"{t}. {x}" if t else x for t, x in (docs[i] for i in ids)])
    qids = list(queries)
    q_vecs = embed([queries[q] for q in qids])
    return {qid: top(ids, doc_vecs @ q_vecs[n]) for n, qid in enumerate(qids)}


def top(ids, scores):
    best = np.argsort(-scores, kind="stable")[:TOP]
    return [(ids[n], float(scores[n])) for n in best]


def rrf(a, b, k=60.0):
    fused = defaultdict(float)
    for run in (a, b):
        for rank, (d, _) in enumerate(run):
            fused[d] += 1.0 / (k + rank + 1)
    return sorted(fused.items(), key=lambda x: -x[1])


def convex(a, b, alpha, normalise):
    na, nb = normalise(a), normalise(b)
    fa, fb = min(na.values(), default=0.0), min(nb.values(), default=0.0)
    fused = {d: alpha * na.get(d, fa) + (1 - alpha) * nb.get(d, fb) for d in set(na) | set(nb)}
    return sorted(fused.items(), key=lambda x: -x[1])


def min_max(run):
    s = [x for _, x in run]
    lo, span = min(s), max(max(s) - min(s), 1e-9)
    return {d: (x - lo) / span for d, x in run}


def z_score(run):
    s = np.array([x for _, x in run])
    sd = max(s.std(), 1e-9)
    return {d: (x - s.mean()) / sd for d, x in run}


def ndcg10(run, rels):
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, (d, _) in enumerate(run[:10]))
    ideal = sorted(rels.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("collection", type=Path)
    ap.add_argument("--model", type=Path, default=Path("models/all-MiniLM-L6-v2"))
    ap.add_argument("--per-query", type=Path)
    args = ap.parse_args()
    docs, queries, qrels = load(args.collection)
    queries = {q: t for q, t in queries.items() if qrels.get(q)}
    sparse = bm25(docs, queries)
    vec = dense(docs, queries, args.model)
    methods = {
        "bm25": sparse,
        "dense": vec,
        "rrf": {q: rrf(vec[q], sparse[q]) for q in queries},
        "minmax": {q: convex(vec[q], sparse[q], 0.5, min_max) for q in queries},
        "zscore": {q: convex(vec[q], sparse[q], 0.5, z_score) for q in queries},
    }
    rows = []
    print(f"{args.collection.name}: {len(docs)} documents, {len(queries)} judged queries")
    for name, runs in methods.items():
        per = {q: ndcg10(runs[q], qrels[q]) for q in queries}
        rows += [(name, q, v) for q, v in per.items()]
        print(f"{name:<8} nDCG@10 {sum(per.values()) / len(per):.4f}")
    if args.per_query:
        with open(args.per_query, "w") as f:
            for name, q, v in rows:
                f.write(f"{name}\t{q}\t{v:.6f}\n")


if __name__ == "__main__":
    sys.exit(main())
