#!/usr/bin/env bash
# Embedding throughput (issue 7): docvec against a plain Python onnxruntime pipeline, same model file,
# same thread count, same texts (N real chunks of the corpus, mixed lengths), in one run:
#   python  HF tokenizers + onnxruntime, batches of 32 in input order (benches/embed/peer.py)
#   plain   docvec's embedder fed the same way (the engine alone, no batching of its own)
#   docvec  the engine's path: 256 chunks per call, sorted by length, batches cut by a token budget
#   int8    the same with the int8 default (model-int8-block.onnx, tools/quantize_model.py --blockwise)
#   dynamic the same with ONNX Runtime's dynamic int8 (model-qint8.onnx, tools/quantize_model.py)
# plus this CPU's fp32 FMA peak, the GFLOP/s each achieves, and what int8 costs: cosine of each int8
# vector to its fp32 one.
#   bash benches/embed.sh [DATA_DIR] [N] [THREADS] [ROUNDS]
# DATA_DIR: an ingested data dir to take chunks from (default: benches/ingest.sh's, made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-target/bench-ingest/data}
n=${2:-2000}
threads=${3:-$(nproc)}
rounds=${4:-3}
venv=tools/.venv-bench
python3 tools/setup_models.py >/dev/null
[ -f models/all-MiniLM-L6-v2/model-qint8.onnx ] || python3 tools/quantize_model.py
[ -f models/all-MiniLM-L6-v2/model-int8-block.onnx ] || python3 tools/quantize_model.py --blockwise
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# The peer runs the ONNX Runtime release docvec loads, so the engines are the same.
"$venv/bin/python" -c "import onnxruntime, tokenizers, numpy; assert onnxruntime.__version__ == '1.31.1'" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "onnxruntime==1.31.1" "tokenizers==0.22.*" "numpy==2.*"
[ -f "$data/docvec.db" ] || bash benches/ingest.sh
cargo build --release --quiet -p docvec-embed --example embed_bench
work=$(mktemp -d)
"$venv/bin/python" benches/embed/texts.py "$data" "$n" "$work/texts.jsonl"
bench=target/release/examples/embed_bench
fp32=models/all-MiniLM-L6-v2/model.onnx
int8=models/all-MiniLM-L6-v2/model-int8-block.onnx
dynamic=models/all-MiniLM-L6-v2/model-qint8.onnx
out=$work/results.jsonl
$bench x x models "$threads" peak 1 | tee "$out"
# Interleaved, so a slow spell of the machine does not fall on one contestant only.
for round in $(seq "$rounds"); do
    "$venv/bin/python" benches/embed/peer.py "$work/texts.jsonl" "$fp32" models/all-MiniLM-L6-v2/tokenizer.json \
        "$threads" 1 "$work/python.f32" | tee -a "$out"
    $bench "$work/texts.jsonl" "$fp32" models "$threads" plain 1 "$work/plain.f32" | tee -a "$out"
    $bench "$work/texts.jsonl" "$fp32" models "$threads" docvec 1 "$work/docvec.f32" | tee -a "$out"
    $bench "$work/texts.jsonl" "$int8" models "$threads" docvec 1 "$work/int8.f32" | sed 's/"docvec"/"int8"/' | tee -a "$out"
    $bench "$work/texts.jsonl" "$dynamic" models "$threads" docvec 1 "$work/dynamic.f32" | sed 's/"docvec"/"dynamic"/' | tee -a "$out"
done
echo
"$venv/bin/python" benches/embed/summary.py "$out" "$work"
echo "raw results: $out"
