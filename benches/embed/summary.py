"""Markdown summary of benches/embed.sh: best round per contestant, ratios to the Python pipeline,
GFLOP/s against the measured FMA peak, and how close the vectors are (cosine to the Python fp32 ones).

  python summary.py RESULTS.jsonl WORK_DIR
"""

import json
import sys
from pathlib import Path

import numpy as np

results, work = sys.argv[1], Path(sys.argv[2])
best, peak = {}, None
for line in open(results):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    if r["mode"] == "peak":
        peak = r["gflops"]
        continue
    if r["mode"] not in best or r["passages_per_s"] > best[r["mode"]]["passages_per_s"]:
        best[r["mode"]] = r


def vectors(name):
    v = np.fromfile(work / f"{name}.f32", dtype="<f4")
    return v.reshape(-1, 384)


base = vectors("python")
py = best["python"]["passages_per_s"]
print(f"{best['python']['passages']} chunks, {best['python']['threads']} threads, fp32 FMA peak {peak:.0f} GFLOP/s\n")
print("| pipeline | passages/s | vs Python | padded / real tokens | GFLOP/s (useful) | % of fp32 peak | cosine to Python fp32 (mean / min) |")
print("|---|---:|---:|---:|---:|---:|---:|")
ref = best.get("docvec") or best.get("plain")
for mode, label in [("python", "Python onnxruntime, batches of 32"), ("plain", "docvec embedder, batches of 32"),
                    ("docvec", "docvec (sorted, token budget)"), ("int8", "docvec, int8 default (blockwise)"),
                    ("dynamic", "docvec, dynamic int8")]:
    if mode not in best:
        continue
    r = best[mode]
    pad = ""
    gf = ""
    if mode != "python":
        pad = f"{r['padded_tokens'] / r['real_tokens']:.2f}"
        gf = f"{r['gflops']:.0f}"
    elif ref:
        # Same texts, same useful work: the Python run's GFLOP/s follows from its time.
        gf = f"{ref['gflops'] * ref['seconds'] / r['seconds']:.0f}"
        pad = f"{best['plain']['padded_tokens'] / best['plain']['real_tokens']:.2f}" if "plain" in best else ""
    pct = f"{100 * float(gf) / peak:.0f}%" if gf and peak else ""
    cos = np.sum(vectors(mode) * base, axis=1)
    print(f"| {label} | {r['passages_per_s']:.1f} | {r['passages_per_s'] / py:.2f}x | {pad} | {gf} | {pct} | {cos.mean():.4f} / {cos.min():.4f} |")
