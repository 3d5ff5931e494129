"""Bench data for the mirror write benchmark: N unit vectors (seeded) and chunk-sized texts.

Writes DIR/vectors.f32 (little-endian float32, N x DIM) and DIR/texts.txt (one text per line), read by
both the Python peer and docvec's Rust bench so they write the same rows.
"""
import os
import sys

import numpy as np

n, dim, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
v = rng.standard_normal((n, dim), dtype=np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
v.astype("<f4").tofile(os.path.join(out, "vectors.f32"))
words = "index vector search query chunk document section table log endpoint page token model embed".split()
with open(os.path.join(out, "texts.txt"), "w") as f:
    for i in range(n):
        # About 100 words, the size of a 256-token chunk.
        f.write(" ".join(words[j] for j in rng.integers(0, len(words), 100)) + f" row {i}\n")
