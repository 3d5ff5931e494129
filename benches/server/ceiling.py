"""How fast the model alone embeds the server bench's queries: the ceiling under benches/server.sh.

    tools/.venv-bench/bin/python benches/server/ceiling.py [MODELS_DIR] [ROUNDS]

The 93 Vaswani topics, four times over in a fixed random order (arrivals, as a server sees them),
embedded by ONNX Runtime on the CPU with 2 intra-op threads: no HTTP, no graph search, no load
client. It prints queries/s for the fp32 and the int8 default model one query per call (docvec
before issue 21 embedded each query alone), and for the int8 model on arrivals grouped by 32, each
group sorted by length and run in calls of 32, 16, 8 and 4 (docvec's batcher cuts a group where
padding would cost more than another call), each also shared between two single-thread sessions
side by side. Best of ROUNDS each. Ratios against fp32 alone bound
what any server around this model can gain on this CPU.
"""

import re
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benches" / "embed"))
from ortbench import best_seconds, side_by_side  # noqa: E402

MODELS = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "all-MiniLM-L6-v2"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 6
TOPICS = ROOT.parent / "shared" / "corpus" / "ir" / "vaswani_npl" / "query-text.trec"


def topics() -> list[list[int]]:
    tok = Tokenizer.from_file(str(MODELS / "tokenizer.json"))
    # The shipped tokenizer.json pads to 128; docvec pads per call itself.
    tok.no_padding()
    tok.no_truncation()
    titles = re.findall(r"<title>(.*?)</title>", TOPICS.read_text(), re.S)
    return [e.ids for e in tok.encode_batch([" ".join(t.split()) for t in titles])]


def session(name: str, threads: int = 2) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(MODELS / name), opts, providers=["CPUExecutionProvider"])


def feed(group: list[list[int]]) -> dict[str, np.ndarray]:
    cols = max(len(e) for e in group)
    ids = np.zeros((len(group), cols), np.int64)
    mask = np.zeros_like(ids)
    for r, e in enumerate(group):
        ids[r, : len(e)] = e
        mask[r, : len(e)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def rate(sess: ort.InferenceSession, calls: list[dict[str, np.ndarray]], queries: int) -> float:
    return queries / best_seconds(lambda: [sess.run(None, c) for c in calls], ROUNDS)


def pair_rate(calls: list[dict[str, np.ndarray]], queries: int) -> float:
    """The calls shared between two single-thread sessions running side by side."""
    pair = [session("model-int8-block.onnx", threads=1) for _ in range(2)]
    return queries / best_seconds(side_by_side(pair, calls), ROUNDS)


def main() -> None:
    encs = topics()
    order = np.random.default_rng(0).permutation(len(encs))
    arrivals = [encs[i] for i in order] * 4
    print(f"{len(encs)} topics, {np.mean([len(e) for e in encs]):.1f} wordpieces on average "
          f"({min(map(len, encs))}-{max(map(len, encs))}); {len(arrivals)} queries per round")
    alone = [feed([e]) for e in arrivals]
    fp32 = rate(session("model.onnx"), alone, len(arrivals))
    int8 = session("model-int8-block.onnx")
    print(f"fp32, one per call:  {fp32:6.0f} queries/s  1.00x")
    q = rate(int8, alone, len(arrivals))
    print(f"int8, one per call:  {q:6.0f} queries/s  {q / fp32:.2f}x")
    for size in (32, 16, 8, 4):
        calls = []
        for k in range(0, len(arrivals), 32):
            group = sorted(arrivals[k : k + 32], key=len)
            calls += [feed(group[j : j + size]) for j in range(0, len(group), size)]
        q = rate(int8, calls, len(arrivals))
        print(f"int8, groups of 32 in calls of {size:2d}: {q:6.0f} queries/s  {q / fp32:.2f}x")
        q = pair_rate(calls, len(arrivals))
        print(f"  the same calls on two 1-thread sessions side by side: {q:6.0f} queries/s  {q / fp32:.2f}x")


if __name__ == "__main__":
    main()
