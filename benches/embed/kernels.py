"""Where an int8 embedding's time goes, and what else was tried for issue 21's 2x ingest target.

    python3 benches/embed/kernels.py [ROUNDS]

Runs ONNX Runtime 1.31.1 (the runtime docvec bundles, from tools/.cache/pydeps-quant, which
`python3 tools/quantize_model.py --blockwise` installs) on the CPU with 2 intra-op threads, on
random wordpieces of chunk length (200, what the ingest's chunks average) and query length (16):

1. tokens/s of the fp32 model, the int8 default, a 4-bit build of the same quantizer (MatMulNBits,
   4 bits, blocks of 32, accuracy level 4), onnxruntime's dynamic int8 (per-batch activation scales)
   and the per-row int8 build (`tools/quantize_model.py --rows`), the last three made here into a temp
   dir, at several rows per call;
2. one session with 2 threads against two sessions with 1 thread each, run side by side;
3. ONNX Runtime's profiler: each operator's share of the int8 default's run at chunk length.

Best of ROUNDS (default 3) each; this VM's speed wanders from run to run, so compare within a run.
"""

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tools" / ".cache" / "pydeps-quant"), str(ROOT / "tools")]
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from ortbench import best_seconds, side_by_side  # noqa: E402

MODELS = ROOT / "models" / "all-MiniLM-L6-v2"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def session(path: Path, threads: int = 2, profile: bool = False) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.enable_profiling = profile
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def feed(rows: int, cols: int, seed: int = 0) -> dict[str, np.ndarray]:
    ids = np.random.default_rng(seed).integers(1000, 20000, (rows, cols)).astype(np.int64)
    ids[:, 0] = 101
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}


def tokens_per_second(sess: ort.InferenceSession, rows: int, cols: int) -> float:
    f = feed(rows, cols)
    calls = max(2, 4096 // (rows * cols))
    return calls * rows * cols / best_seconds(lambda: [sess.run(None, f) for _ in range(calls)], ROUNDS)


def four_bit(dest: Path) -> Path:
    from quantize_model import blockwise

    blockwise(MODELS / "model.onnx", dest, bits=4, block_size=32)
    return dest


def dynamic_int8(dest: Path) -> Path:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.WARNING)  # the quantizer logs a line per tensor it skips

    quantize_dynamic(str(MODELS / "model.onnx"), str(dest), per_channel=True, weight_type=QuantType.QInt8)
    return dest


def per_row_int8(dest: Path) -> Path:
    from quantize_model import drop_nan_guards
    from quantize_rows import per_row

    per_row(MODELS / "model.onnx", dest, drop_nan_guards, lambda _msg: None)
    return dest


def operator_shares(path: Path) -> list[tuple[str, float]]:
    sess = session(path, profile=True)
    f = feed(8, 200)
    for _ in range(ROUNDS + 1):
        sess.run(None, f)
    trace = Path(sess.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    times = Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            times[e["args"]["op_name"]] += e["dur"]
    total = sum(times.values())
    return [(op, t / total) for op, t in times.most_common(8)]


def main() -> None:
    print(f"onnxruntime {ort.__version__}, 2 threads, best of {ROUNDS}")
    with tempfile.TemporaryDirectory() as tmp:
        models = {"fp32": MODELS / "model.onnx", "int8 default": MODELS / "model-int8-block.onnx",
                  "4-bit, blocks of 32": four_bit(Path(tmp) / "model-4bit.onnx"),
                  "dynamic int8": dynamic_int8(Path(tmp) / "model-qint8.onnx"),
                  "int8 per row": per_row_int8(Path(tmp) / "model-int8-rows.onnx")}
        print("tokens/s            " + "".join(f"{s:>14}" for s in ("16x32", "200x1", "200x4", "200x16")))
        for name, path in models.items():
            sess = session(path)
            rates = [tokens_per_second(sess, r, c) for c, r in ((16, 32), (200, 1), (200, 4), (200, 16))]
            print(f"{name:20s}" + "".join(f"{x:14.0f}" for x in rates))
    calls = [feed(4, 200, seed=i) for i in range(8)]
    int8 = MODELS / "model-int8-block.onnx"
    one = session(int8)
    alone = best_seconds(lambda: [one.run(None, c) for c in calls], ROUNDS)
    pair = best_seconds(side_by_side([session(int8, threads=1) for _ in range(2)], calls), ROUNDS)
    print(f"int8, 8 calls of 4x200: one session of 2 threads {alone:.2f} s, two of 1 thread {pair:.2f} s")
    print("int8 default, 8 chunks of 200 wordpieces per call, share of operator time:")
    for op, share in operator_shares(int8):
        print(f"  {op:24s} {100 * share:5.1f}%")


if __name__ == "__main__":
    main()
