#!/usr/bin/env python3
"""Make the int8 build of the default model: dynamic per-channel quantization by onnxruntime's own
quantizer (int8 weights per output channel, uint8 activations quantized per batch at run time, so the
MatMuls run as integer dot products: AVX-512 VNNI / AVX2 on x86, dot-product instructions on ARM).

  python3 tools/quantize_model.py [--keep-qkv | --blockwise | --rows | --rows-unsigned] [SRC] [DEST]
      default: models/all-MiniLM-L6-v2/model.onnx -> models/all-MiniLM-L6-v2/model-qint8.onnx
      --keep-qkv: every weight MatMul but the attention's query, key and value projections (kept fp32,
      with the attention's own products), -> model-int8-qkv32.onnx; see BENCHMARKS.md (issue 21)
      --blockwise: int8 weights in blocks of 128 along the input dimension (MatMulNBits, 8 bits,
      symmetric) and activations quantized per row and block at run time (accuracy level 4), so a
      text's vector does not depend on the texts batched beside it, as it does with the dynamic
      model's per-batch activation scale; -> model-int8-block.onnx. ONNX Runtime 1.31.1 runs it;
      1.20.1 refuses it (its MatMulNBits takes only 4 bits); releases between are untested.
      --rows: int8 weights per output channel and activations quantized per token row at run time
      (opset 21 QuantizeLinear, one block per row) into MatMulInteger, with SmoothQuant scales that
      move the hidden states' outlier channels into the weights; batch-independent like --blockwise,
      but on ONNX Runtime's integer GEMM (AMX on Intel Xeon 4th gen and later); -> model-int8-rows.onnx.
      See quantize_rows.py; `--rows --calibrate` remakes its committed smoothing scales.
      --rows-unsigned: the per-row build with its weights stored as uint8 around 128, the same integers
      on a kernel that cannot saturate, for x86-64 CPUs without int8 dot products; SRC defaults to
      model-int8-rows.onnx; -> model-int8-rows-u8.onnx. See quantize_rows.unsigned_twin.

then use it as the model, or as a second model to switch to (docvec.toml):

  [models.int8]
  path = "models/all-MiniLM-L6-v2/model-qint8.onnx"

Run `python3 tools/setup_models.py` first. The quantizer (onnxruntime and onnx from PyPI, pinned) goes
into tools/.cache/pydeps-quant; nothing is installed system-wide. The result is written to a temp file,
fsynced and renamed, and checked against models/SHA256SUMS when a sum is pinned there.
"""

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from setup_models import SUMS, sha256  # noqa: E402  (the pinned sums, read once, as setup reads them)

ROOT = Path(__file__).resolve().parent.parent
DEPS = ROOT / "tools" / ".cache" / "pydeps-quant"
# onnx-ir: the MatMulNBits quantizer (--blockwise) builds its graph with it.
PINS = ["onnxruntime==1.31.1", "onnx==1.23.2", "numpy==2.4.6", "onnx-ir==1.1.0"]


def log(msg: str) -> None:
    print(f"[quantize_model] {msg}", flush=True)


def fp32_nodes(src: Path) -> list[str]:
    """The MatMuls --keep-qkv leaves in fp32: the three weight MatMuls of each layer that read the same
    hidden state (query, key, value), and every MatMul of two activations (attention's products)."""
    import onnx

    graph = onnx.load(str(src), load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    by_input: dict[str, list[str]] = {}
    keep = []
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        weight = [i for i in node.input if i in weights]
        if not weight:
            keep.append(node.name)
            continue
        activation = next(i for i in node.input if i not in weights)
        by_input.setdefault(activation, []).append(node.name)
    qkv = [n for names in by_input.values() if len(names) == 3 for n in names]
    if not qkv:
        raise SystemExit(f"{src}: no query/key/value projections found (three MatMuls of one input)")
    return keep + qkv


def drop_nan_guards(model) -> int:
    """Remove the exporter's `Where(IsNaN(softmax), 0, softmax)` after each attention softmax. It
    guards rows whose keys are all masked, which cannot occur here (every text keeps its first
    token), and costs 10-15% of a CPU run on the score tensor; the result is the same graph output."""
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    dropped, rename = [], {}
    for node in graph.node:
        isnan = producer.get(node.input[0]) if node.op_type == "Where" else None
        if isnan is not None and isnan.op_type == "IsNaN" and node.input[2] == isnan.input[0]:
            dropped += [isnan, node]
            rename[node.output[0]] = isnan.input[0]
    for node in dropped:
        graph.node.remove(node)
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = rename.get(name, name)
    return len(rename)


def blockwise(src: Path, dest: Path, bits: int = 8, block_size: int = 128) -> None:
    """The default's build (8 bits, blocks of 128); benches/embed/kernels.py also makes a 4-bit one."""
    import logging

    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    # The quantizer logs a line for every node it leaves alone.
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    model = onnx.load(str(src))
    log(f"removed {drop_nan_guards(model)} softmax NaN guards")
    quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=block_size, is_symmetric=True,
                                     accuracy_level=4)
    quantizer.process()
    quantizer.model.save_model_to_file(str(dest), use_external_data_format=False)


MODES = {"--keep-qkv": "model-int8-qkv32.onnx", "--blockwise": "model-int8-block.onnx",
         "--rows": "model-int8-rows.onnx", "--rows-unsigned": "model-int8-rows-u8.onnx"}
FP32 = ROOT / "models/all-MiniLM-L6-v2/model.onnx"
# what each pinned build is made from; any other source makes an unpinned file
PINNED_FROM = {"--rows-unsigned": FP32.with_name("model-int8-rows.onnx")}


def main() -> int:
    calibrate = "--calibrate" in sys.argv[1:]
    modes = [a for a in sys.argv[1:] if a in MODES]
    args = [a for a in sys.argv[1:] if a not in MODES and a != "--calibrate"]
    if len(modes) > 1:
        log("ERROR: --keep-qkv, --blockwise, --rows and --rows-unsigned are different models; choose one")
        return 2
    mode = modes[0] if modes else None
    pinned_src = PINNED_FROM.get(mode, FP32)
    src = Path(args[0]) if args else pinned_src
    default_name = MODES.get(mode, "model-qint8.onnx")
    dest = Path(args[1]) if len(args) > 1 else src.with_name(default_name)
    if not src.exists():
        log(f"ERROR: {src} not found (run `python3 tools/setup_models.py` first)")
        return 1
    if not (DEPS / "onnxruntime").exists() or not (DEPS / "onnx_ir").exists():
        log("installing the quantizer (onnxruntime, onnx, onnx-ir) into tools/.cache/pydeps-quant")
        subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "install", "-q",
                        "--target", str(DEPS), *PINS], check=True,
                       env=dict(os.environ, PIP_ROOT_USER_ACTION="ignore"))
    sys.path.insert(0, str(DEPS))
    from onnxruntime.quantization import QuantType, quantize_dynamic

    part = dest.with_name(dest.name + ".part")
    if mode == "--blockwise":
        blockwise(src, part)
    elif mode == "--rows":
        from quantize_rows import calibrate_table, per_row

        if calibrate:
            calibrate_table(src, drop_nan_guards, log)
        per_row(src, part, drop_nan_guards, log)
    elif mode == "--rows-unsigned":
        from quantize_rows import unsigned_twin

        unsigned_twin(src, part, log)
    else:
        exclude = fp32_nodes(src) if mode == "--keep-qkv" else []
        quantize_dynamic(str(src), str(part), per_channel=True, weight_type=QuantType.QInt8,
                         nodes_to_exclude=exclude)
    with part.open("rb+") as f:
        os.fsync(f.fileno())
    part.replace(dest)
    log(f"wrote {dest} ({dest.stat().st_size / 1e6:.1f} MB)")
    rel = dest.resolve().relative_to(ROOT / "models") if dest.resolve().is_relative_to(ROOT / "models") else None
    if rel is not None and str(rel) in SUMS and src.resolve() == pinned_src.resolve():
        got = sha256(dest)
        if got != SUMS[str(rel)]:
            log(f"ERROR: {rel} has sha256 {got}, not the pinned {SUMS[str(rel)]}")
            return 1
        log(f"{rel}: matches its pinned sha256")
    return 0


if __name__ == "__main__":
    sys.exit(main())
