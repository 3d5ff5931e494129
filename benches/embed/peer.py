"""The Python peer for the embedding bench: the plain pipeline of a FAISS-script or PMOVES-DoX service.

HF `tokenizers` and onnxruntime (the same ONNX file and thread count as docvec), batches of 32 texts in
input order padded to the longest, mean pooling over the attention mask, L2 normalisation.

  python peer.py TEXTS.jsonl MODEL.onnx TOKENIZER.json THREADS ROUNDS [VECTORS_OUT]

Prints one JSON object with the best round's passages/s.
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

BATCH = 32


def main() -> None:
    texts_path, model, tokenizer_path, threads, rounds = sys.argv[1:6]
    out = sys.argv[6] if len(sys.argv) > 6 else None
    texts = [json.loads(line)["text"] for line in open(texts_path, encoding="utf-8")]
    tok = Tokenizer.from_file(tokenizer_path)
    tok.no_padding()
    tok.enable_truncation(256)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}

    def embed(batch):
        enc = tok.encode_batch(batch)
        width = max(len(e.ids) for e in enc)
        ids = np.zeros((len(enc), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, e in enumerate(enc):
            ids[r, : len(e.ids)] = e.ids
            mask[r, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = sess.run(None, feed)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    embed(texts[:BATCH])  # warm-up, as docvec's load does with its probe
    best = float("inf")
    vectors = None
    for _ in range(int(rounds)):
        started = time.perf_counter()
        vectors = np.concatenate([embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
        best = min(best, time.perf_counter() - started)
    if out:
        vectors.astype("<f4").tofile(out)
    print(json.dumps({"mode": "python", "threads": int(threads), "passages": len(texts),
                      "seconds": round(best, 3), "passages_per_s": round(len(texts) / best, 1),
                      "onnxruntime": ort.__version__}))


if __name__ == "__main__":
    main()
