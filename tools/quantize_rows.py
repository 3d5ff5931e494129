"""The per-row int8 build (`python3 tools/quantize_model.py --rows`): every weight MatMul of the
encoder becomes an integer GEMM whose activations are quantized per token row at run time.

Why a third int8 build (BENCHMARKS.md, issue 21, "Per-row int8 on ONNX Runtime's integer GEMM"):
- The default int8 build's MatMulNBits quantizes activations per row and block, so a text's vector does
  not depend on its batch, but on a CPU with AMX its kernel is no faster than fp32 on short queries.
- onnxruntime's dynamic build (DynamicQuantizeMatMul) runs on the integer GEMM (AMX, VNNI) at twice
  fp32's speed, but scales activations per call, so a vector depends on the texts batched beside it.
- Here each token row gets its own scale (QuantizeLinear, opset 21, one block per row): as
  batch-independent as MatMulNBits, on the integer GEMM (MatMulInteger, uint8 x int8).

Per-row scales alone cost fidelity (cosine to fp32 down to 0.9957 on CISI texts): a few hidden-state
channels run 10-20x the median, and a row's one scale must cover them. SmoothQuant (Xiao et al., 2023)
moves that range into the weights: X W = (X / d)(d W), d_k = sqrt(max|X_k| / max|W_k|), with max|X_k|
from calibration. Calibration runs the fp32 graph on seeded random wordpieces, not on any text: the
outlier channels are the model's own (real text and random wordpieces gave the same fidelity), and
nothing is fitted to a development set.

The build is pinned by sha256 like a download, so it must come out byte for byte the same on every
machine, but the calibration's fp32 sums differ in their last bits between CPUs' kernels. So d is
rounded to a quarter of an octave and the exponents are committed (quantize_rows_smoothing.json,
remade by `python3 tools/quantize_model.py --rows --calibrate`); the build itself uses only exact
arithmetic on them.
"""

import json
from pathlib import Path

SMOOTHING = Path(__file__).resolve().with_name("quantize_rows_smoothing.json")
# 2^(i/4) for i = 0..3, written out so no libm's pow decides a last bit
QUARTER_OCTAVES = (1.0, 1.189207115002721, 1.4142135623730951, 1.681792830507429)

CALIBRATION_ROWS = 48
CALIBRATION_TOKENS = 128
ALPHA = 0.5  # SmoothQuant's migration strength: half of the activations' range moves to the weights
QMAX_WEIGHT = 127.0
STEPS = 4  # d is rounded to a quarter of an octave
ACTIVATION_ZERO_POINT = 128  # symmetric int8 activations carried as uint8 (MatMulInteger's fast type)


def weight_matmuls(graph) -> list:
    weights = {t.name for t in graph.initializer}
    return [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]


def calibrate(model, activations: list[str]) -> dict:
    """The largest magnitude of each channel of each activation over the calibration rows."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    probe = type(model)()
    probe.CopyFrom(model)
    for name in activations:
        probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    peak: dict = {}
    for seed in range(CALIBRATION_ROWS):
        ids = np.random.default_rng(seed).integers(1000, 29000, (1, CALIBRATION_TOKENS)).astype(np.int64)
        ids[0, 0], ids[0, -1] = 101, 102  # [CLS] ... [SEP], as every real input
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        for name, out in zip(names, session.run(None, feed)):
            if name in activations:
                m = np.abs(out).reshape(-1, out.shape[-1]).max(axis=0)
                peak[name] = np.maximum(peak.get(name, m), m)
    return peak


def exponents(graph, peak: dict) -> dict:
    """log2(d) in quarter octaves per activation (see the module's doc), from its peaks and every
    weight that reads it."""
    import numpy as np
    from onnx import numpy_helper

    inits = {t.name: t for t in graph.initializer}
    wmax: dict = {}
    for node in weight_matmuls(graph):
        w = np.abs(numpy_helper.to_array(inits[node.input[1]])).max(axis=1)
        wmax[node.input[0]] = np.maximum(wmax.get(node.input[0], w), w)
    out = {}
    for x, wm in wmax.items():
        raw = np.maximum(peak[x], 1e-5) ** ALPHA / np.maximum(wm, 1e-5) ** (1 - ALPHA)
        out[x] = [int(k) for k in np.round(np.log2(raw) * STEPS)]
    return out


def calibrate_table(src: Path, drop_nan_guards, log) -> None:
    """Remake the committed smoothing exponents from the fp32 model (`--rows --calibrate`)."""
    import onnx

    model = onnx.load(str(src))
    drop_nan_guards(model)
    peak = calibrate(model, sorted({n.input[0] for n in weight_matmuls(model.graph)}))
    table = {"alpha": ALPHA, "steps_per_octave": STEPS, "calibration": f"{CALIBRATION_ROWS} rows of "
             f"{CALIBRATION_TOKENS} seeded random wordpieces", "exponents": exponents(model.graph, peak)}
    part = SMOOTHING.with_name(SMOOTHING.name + ".part")
    # one line per activation, so a remade table diffs by activation
    rows = [f"  {json.dumps(x)}: {json.dumps(ks, separators=(',', ':'))}" for x, ks in sorted(table.pop("exponents").items())]
    head = json.dumps(table, sort_keys=True)[:-1]
    part.write_text(head + ', "exponents": {\n' + ",\n".join(rows) + "\n}}\n")
    part.replace(SMOOTHING)
    log(f"wrote {SMOOTHING} ({len(rows)} activations)")


def smoothing(graph) -> dict:
    """d per activation, from the committed exponents, exactly: a power of two times a quarter octave."""
    import math

    import numpy as np

    if not SMOOTHING.exists():
        raise SystemExit(f"{SMOOTHING} is missing: run `python3 tools/quantize_model.py --rows --calibrate`")
    table = json.loads(SMOOTHING.read_text())["exponents"]
    wanted = {n.input[0] for n in weight_matmuls(graph)}
    if set(table) != wanted:
        raise SystemExit(f"{SMOOTHING} is for another graph (its activations differ from this model's); "
                         "run `python3 tools/quantize_model.py --rows --calibrate`")
    return {x: np.array([math.ldexp(QUARTER_OCTAVES[k % STEPS], k // STEPS) for k in ks], np.float32)
            for x, ks in table.items()}


def per_row(src: Path, dest: Path, drop_nan_guards, log) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    log(f"removed {drop_nan_guards(model)} softmax NaN guards")
    graph = model.graph
    matmuls = weight_matmuls(graph)
    d = smoothing(graph)
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx"):
            op.version = 21  # QuantizeLinear's block_size; none of the graph's other ops changed since 17
    inits = {t.name: t for t in graph.initializer}
    consts = {
        "rows_eps": np.array(1e-8, np.float32),
        "rows_inv_qmax": np.array(1 / 127.0, np.float32),
        "rows_zero": np.array(0.0, np.float32),
        "rows_zp_f": np.array(float(ACTIVATION_ZERO_POINT), np.float32),
        "rows_zp": np.array(ACTIVATION_ZERO_POINT, np.uint8),
        "rows_last_axis": np.array([-1], np.int64),
    }
    new_inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    quantized: dict = {}  # activation -> (its uint8 rows, their scales), shared by Q, K and V
    nodes = []
    targets = {id(n) for n in matmuls}
    for node in graph.node:
        if id(node) not in targets:
            nodes.append(node)
            continue
        x = node.input[0]
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32) * d[x][:, None]
        ws = np.maximum(np.abs(w).max(axis=0), 1e-12) / QMAX_WEIGHT
        wq = np.clip(np.round(w / ws), -QMAX_WEIGHT, QMAX_WEIGHT).astype(np.int8)
        if x not in quantized:
            p = f"rows_a{len(quantized)}_"
            new_inits.append(numpy_helper.from_array((1.0 / d[x]).astype(np.float32), p + "inv_d"))
            nodes += [
                helper.make_node("Mul", [x, p + "inv_d"], [p + "x"]),
                helper.make_node("Abs", [p + "x"], [p + "abs"]),
                helper.make_node("ReduceMax", [p + "abs", "rows_last_axis"], [p + "peak"], keepdims=1),
                helper.make_node("Max", [p + "peak", "rows_eps"], [p + "peak1"]),
                helper.make_node("Mul", [p + "peak1", "rows_inv_qmax"], [p + "scale"]),
                # a zero point of 128 per row, shaped like the scales as blocked QuantizeLinear asks
                helper.make_node("Mul", [p + "scale", "rows_zero"], [p + "z0"]),
                helper.make_node("Add", [p + "z0", "rows_zp_f"], [p + "z1"]),
                helper.make_node("Cast", [p + "z1"], [p + "zp"], to=TensorProto.UINT8),
                helper.make_node("QuantizeLinear", [p + "x", p + "scale", p + "zp"], [p + "q"],
                                 axis=-1, block_size=w.shape[0]),
            ]
            quantized[x] = (p + "q", p + "scale")
        q, scale = quantized[x]
        p = f"rows_m{len(new_inits)}_"
        new_inits += [numpy_helper.from_array(wq, p + "wq"), numpy_helper.from_array(ws.astype(np.float32), p + "ws")]
        nodes += [
            helper.make_node("MatMulInteger", [q, p + "wq", "rows_zp"], [p + "acc"]),
            helper.make_node("Cast", [p + "acc"], [p + "accf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [p + "accf", scale], [p + "y"]),
            helper.make_node("Mul", [p + "y", p + "ws"], [node.output[0]]),
        ]
        graph.initializer.remove(inits.pop(node.input[1]))
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_inits)
    onnx.checker.check_model(model)
    log(f"{len(matmuls)} weight MatMuls on int8 rows, {len(quantized)} activations quantized")
    onnx.save(model, str(dest))


WEIGHT_ZERO_POINT = 128  # the unsigned twin's int8 weights, carried as uint8 around 128


def unsigned_twin(src: Path, dest: Path, log) -> None:
    """The per-row build with its int8 weights carried as uint8 around 128 (`--rows-unsigned`), for
    x86-64 CPUs without int8 dot products (AVX2, AVX-512 without VNNI). There ONNX Runtime's uint8 x
    int8 kernel multiplies with VPMADDUBSW, which adds each pair of products in 16 bits and saturates:
    run on AVX2 (qemu -cpu Haswell; benches/avx2.sh) the per-row build's vectors fell to cosine 0.9923
    of fp32 (median 0.9958, against 0.9979 / 0.9989 on this build's own kernels) and search scores
    moved by 0.02. Its uint8 x uint8 kernel widens to 16 bits first and sums pairs in 32 (VPMADDWD),
    so it is exact; (a - 128)(w + 128 - 128) is the same integer as (a - 128) w, so the twin gives the
    same vectors as the per-row build wherever neither saturates (bit for bit on the same CPU), and a
    data directory made on a CPU with AMX searches the same on one without. Made from the per-row
    file, not from fp32, so it can only differ in how it stores w."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    graph.initializer.append(numpy_helper.from_array(np.array(WEIGHT_ZERO_POINT, np.uint8), "rows_wzp"))
    twins = 0
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        if len(node.input) != 3 or inits[node.input[1]].data_type != onnx.TensorProto.INT8:
            raise ValueError(f"{src}: {node.name or node.output[0]} is not a per-row MatMulInteger")
        w = numpy_helper.to_array(inits[node.input[1]])
        shifted = (w.astype(np.int16) + WEIGHT_ZERO_POINT).astype(np.uint8)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(shifted, node.input[1]))
        node.input.append("rows_wzp")
        twins += 1
    if twins == 0:
        raise ValueError(f"{src} has no MatMulInteger: not the per-row build")
    onnx.checker.check_model(model)
    log(f"{twins} MatMulInteger weights carried as uint8 around {WEIGHT_ZERO_POINT}")
    onnx.save(model, str(dest))
