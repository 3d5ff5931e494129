"""Markdown summary of tools/gpu_check.sh: the cosine check, then per batch size docvec's passages/s
against sentence-transformers' (same model, same GPU, same texts) and docvec's GFLOP/s as a share of
the GPU's dense peaks.

  python3 summary.py RESULTS.jsonl DEVICE

Peaks are NVIDIA's H200 SXM figures (dense): fp32 67 TFLOP/s, TF32 tensor 495, fp16 tensor 989;
GPU_PEAK_FP32 / GPU_PEAK_FP16 (TFLOP/s) override them for another GPU.
"""

import json
import os
import sys

results, device = sys.argv[1], sys.argv[2]
peak32 = float(os.environ.get("GPU_PEAK_FP32", 67)) * 1e3
peak16 = float(os.environ.get("GPU_PEAK_FP16", 989)) * 1e3
runtime, check, docvec, peer = None, None, {}, {}
for line in open(results):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    if "runtime" in r:
        runtime = r["runtime"]
    elif r.get("check") == "cosine":
        check = r
    elif r.get("engine") == "docvec":
        docvec[r["batch"]] = r
    elif r.get("engine") == "sentence-transformers":
        peer[r["batch"]] = r

print(f"## GPU check ({device})\n")
if runtime:
    print(f"ONNX Runtime {runtime['onnxruntime_version']}, providers: "
          f"{', '.join(runtime['execution_providers'])}\n")
if check:
    verdict = "pass" if check["below_min"] == 0 else "FAIL"
    print(f"Cosine to the CPU vectors over {check['passages']} passages: min {check['min']:.5f}, "
          f"mean {check['mean']:.6f}, {check['below_min']} below {check['min_required']:.3f} ({verdict})\n")
print("| batch | docvec passages/s | sentence-transformers passages/s | docvec / ST | docvec GFLOP/s "
      "| % fp32 peak | % fp16 peak |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for batch in sorted(set(docvec) | set(peer)):
    d, p = docvec.get(batch), peer.get(batch)
    ratio = f"{d['passages_per_s'] / p['passages_per_s']:.2f}x" if d and p else "-"
    cells = [
        str(batch),
        f"{d['passages_per_s']:.0f}" if d else "-",
        f"{p['passages_per_s']:.0f}" if p else "-",
        ratio,
        f"{d['gflops']:.0f}" if d else "-",
        f"{100 * d['gflops'] / peak32:.1f}" if d and device != "cpu" else "-",
        f"{100 * d['gflops'] / peak16:.2f}" if d and device != "cpu" else "-",
    ]
    print("| " + " | ".join(cells) + " |")
