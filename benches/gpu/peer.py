"""The GPU check's peer: sentence-transformers with the same model on the same GPU, same texts.

  python3 peer.py TEXTS.jsonl HF_MODEL_DIR BATCHES ROUNDS [DEVICE]

HF_MODEL_DIR holds config.json, tokenizer.json and model.safetensors (all-MiniLM-L6-v2's own weights,
from which docvec's ONNX graph is rebuilt). The pipeline is all-MiniLM-L6-v2's: BERT, mean pooling,
normalisation, 256 tokens. encode() sorts the texts by length and batches them, as docvec does. fp32,
as docvec's model. Prints one JSON line per batch size (best of ROUNDS after a warm-up).
"""

import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer, models

texts_path, model_dir, batches, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
device = sys.argv[5] if len(sys.argv) > 5 else "cuda"
texts = [json.loads(line)["text"] for line in open(texts_path, encoding="utf-8")]
word = models.Transformer(model_dir, max_seq_length=256)
pool = models.Pooling(word.get_word_embedding_dimension(), "mean")
model = SentenceTransformer(modules=[word, pool, models.Normalize()], device=device)
model.eval()


def sync():
    if device.startswith("cuda"):
        torch.cuda.synchronize()


for batch in (int(b) for b in batches.split(",")):
    model.encode(texts, batch_size=batch, convert_to_numpy=True)
    sync()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        model.encode(texts, batch_size=batch, convert_to_numpy=True)
        sync()
        best = min(best, time.perf_counter() - started)
    print(json.dumps({"engine": "sentence-transformers", "device": device, "batch": batch,
                      "passages": len(texts), "seconds": round(best, 4),
                      "passages_per_s": round(len(texts) / best, 1),
                      "torch": torch.__version__}), flush=True)
