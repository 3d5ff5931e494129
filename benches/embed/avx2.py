"""The per-row int8 build on an x86-64 CPU without int8 dot products, emulated (benches/avx2.sh).

    python avx2.py tokenize CORPUS_IR_DIR N OUT.npz      N queries and N abstracts, as docvec tokenizes them
    python avx2.py embed MODEL.onnx IDS.npz OUT.npy       each text alone, mean pooling, unit length
    python avx2.py compare REF.npy X.npy...              cosine of each X's vectors to REF's, min / median

`embed` is the step run under `qemu-x86_64 -cpu Haswell`: qemu reports AVX2 without VNNI or AVX-512, so
ONNX Runtime's MLAS picks the kernels such a CPU gets (its uint8 x int8 GEMM on VPMADDUBSW, whose 16-bit
pair sums saturate). It needs only onnxruntime and numpy, so the emulated part stays small.
"""

import json
import sys
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # docvec's [model] max_tokens


def tokenize(ir_dir: str, n: int, out: str) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(__file__).resolve().parents[2] / "models/all-MiniLM-L6-v2/tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()  # tokenizer.json pads to 128; docvec pads a batch to its longest text only
    d = Path(ir_dir)
    queries = [json.loads(line)["text"] for line in (d / "queries.jsonl").open()][:n]
    docs = [json.loads(line) for line in (d / "corpus.jsonl").open()][:n]
    texts = queries + [(doc.get("title", "") + " " + doc["text"]).strip() for doc in docs]
    ids = [np.array(tok.encode(t).ids, np.int64) for t in texts]
    np.savez(out, *ids)
    print(f"{len(ids)} texts, {sum(map(len, ids))} wordpieces -> {out}")


def embed(model: str, ids_file: str, out: str) -> None:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    z = np.load(ids_file)
    vectors = []
    for key in sorted(z.files, key=lambda f: int(f.split("_")[1])):
        ids = z[key][None, :]
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        v = sess.run(None, feed)[0][0].mean(0)
        vectors.append(v / np.linalg.norm(v))
    np.save(out, np.array(vectors))


def compare(ref: str, others: list[str]) -> None:
    r = np.load(ref)
    for f in others:
        c = (r * np.load(f)).sum(1)
        print(f"{Path(f).stem} vs {Path(ref).stem}: cosine min {c.min():.5f} median {np.median(c):.5f} "
              f"below 0.995: {(c < 0.995).sum()} of {len(c)}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "tokenize":
        tokenize(args[0], int(args[1]), args[2])
    elif cmd == "embed":
        embed(*args)
    elif cmd == "compare":
        compare(args[0], args[1:])
    else:
        sys.exit(f"unknown command {cmd}")
