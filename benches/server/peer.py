"""The peer of the server load benchmark: a FastAPI + FAISS search service of the PMOVES-DoX shape.

One uvicorn process; an exact inner-product index (faiss.IndexFlatIP) over the same vectors docvec
serves; queries embedded by the same all-MiniLM-L6-v2 ONNX file through Python onnxruntime (mean
pooling, L2 normalised), with the same intra-op thread count. POST /search {query, k} answers hits with
score and text; POST /ingest {texts} embeds and adds, as an ingest running beside the searches.

    python peer.py MODEL_DIR VECTORS.f32 TEXTS.txt DIM PORT THREADS
"""
import sys
import threading

import faiss
import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from tokenizers import Tokenizer

model_dir, vectors_path, texts_path, dim, port, threads = sys.argv[1:7]
dim, port, threads = int(dim), int(port), int(threads)

opts = ort.SessionOptions()
opts.intra_op_num_threads = threads
opts.inter_op_num_threads = 1
session = ort.InferenceSession(f"{model_dir}/model.onnx", opts, providers=["CPUExecutionProvider"])
input_names = {i.name for i in session.get_inputs()}
tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
tokenizer.enable_truncation(256)
tokenizer.enable_padding()

vectors = np.fromfile(vectors_path, dtype="<f4").reshape(-1, dim)
texts = open(texts_path).read().splitlines()[: len(vectors)]
index = faiss.IndexFlatIP(dim)
index.add(vectors)
lock = threading.Lock()


def embed(batch):
    enc = tokenizer.encode_batch(batch)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in input_names:
        feed["token_type_ids"] = np.zeros_like(ids)
    out = session.run(None, feed)[0]
    m = mask[:, :, None].astype(np.float32)
    pooled = (out * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


app = FastAPI()


class SearchRequest(BaseModel):
    query: str
    k: int = 10


class IngestRequest(BaseModel):
    texts: list[str]


@app.post("/search")
def search(req: SearchRequest):
    q = embed([req.query]).astype(np.float32)
    with lock:
        scores, ids = index.search(q, req.k)
    return {
        "hits": [
            {"score": float(s), "chunk_id": int(i), "text": texts[i]}
            for s, i in zip(scores[0], ids[0])
            if i >= 0
        ]
    }


@app.post("/ingest")
def ingest(req: IngestRequest):
    added = 0
    for start in range(0, len(req.texts), 32):
        batch = req.texts[start : start + 32]
        v = embed(batch).astype(np.float32)
        with lock:
            index.add(v)
            texts.extend(batch)
        added += len(batch)
    return {"added": added}


@app.get("/healthz")
def healthz():
    return {"status": "ok", "vectors": index.ntotal}


uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
