#!/usr/bin/env python3
"""Produce the reference-vector fixture the Rust embedder is tested against.

Run once (needs `pip install onnxruntime==1.31.1 tokenizers numpy`), output committed:
  python3 tools/make_reference_vectors.py > crates/docvec-embed/tests/fixtures/reference_vectors.json

The reference is the Python onnxruntime pipeline sentence-transformers uses for this model: WordPiece
tokens (truncated to 256), token_type_ids zero, mean pooling over the attention mask, L2 normalisation.
Each sentence is embedded alone (no padding) so the fixture does not depend on batching.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "all-MiniLM-L6-v2"

SENTENCES = [
    "How do I write a preprocessor for mdBook?",
    "A preprocessor transforms the book's content before it is rendered.",
    "The cat sat quietly on the warm windowsill.",
    "Vector databases index embeddings for similarity search.",
    "PostgreSQL with pgvector stores vectors next to relational data.",
    "The quarterly revenue grew by twelve percent.",
    "Error: connection refused while contacting the upstream server.",
    "HNSW builds a layered proximity graph for approximate nearest neighbours.",
    "She played the violin at the concert last night.",
    "Install the package with pip and import it in Python.",
    "Photosynthesis converts sunlight into chemical energy in plants.",
    "The API returns 404 when the resource does not exist.",
    "Rust guarantees memory safety without a garbage collector.",
    "Paris is the capital and most populous city of France.",
    "a",
    "Ünïcödé, emoji 🚀 and CJK 日本語 text are tokenized too.",
    "GET /v1/users/{id} returns one user by its identifier.",
    "2024-03-01 12:00:03 ERROR dfs.DataNode: Exception in receiveBlock for block blk_123",
    "The mitochondria is the powerhouse of the cell. " * 40,
    "Search engines rank documents by their relevance to a query.",
]


def main() -> None:
    tok = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(MODEL / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    out = []
    for text in SENTENCES:
        enc = tok.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = sess.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        vec = pooled[0] / np.linalg.norm(pooled[0])
        out.append({"text": text, "tokens": len(enc.ids), "vector": [round(float(x), 7) for x in vec]})
    json.dump({"model": "all-MiniLM-L6-v2", "dimension": 384, "sha256_model": "6b1952614e982879cbfe037acbc15fd57eb10ff6cc1b8f210fcd0bf7a83c2d90", "sentences": out}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
