#!/usr/bin/env bash
# ANN recall and speed (issue 6): docvec's HNSW graph against hnswlib and faiss HNSW on the same
# vectors with exact ground truth, in one run. For each ef_search: recall@10 and queries per second, one
# query at a time on one thread and on every core; plus build time on every core. Prints a Markdown
# summary (QPS at recall@10 = 0.95, as ratios) and keeps the raw JSON lines. docvec runs twice: as
# configured by default (the int8 walk with an exact re-rank) and with the f32 walk (docvec-f32).
#   [RUNS=3] bash benches/ann.sh [DIR] [M] [EF_CONSTRUCTION]   (default ../shared/corpus/vectors/glove-6b-50d-20k 16 200)
# Peers go into tools/.venv-bench from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-../shared/corpus/vectors/glove-6b-50d-20k}
m=${2:-16}
efc=${3:-200}
[ -f "$dir/base.fvecs" ] || { echo "needs $dir/{base,query}.fvecs and groundtruth_cosine.ivecs" >&2; exit 1; }
venv=tools/.venv-bench
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import hnswlib, faiss, numpy" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "numpy==2.*" "hnswlib==0.8.*" "faiss-cpu==1.*"
cargo build --release --quiet -p docvec-index --example ann_bench
out=$(mktemp)
# The engines take turns, RUNS times: a slow spell of the (shared) machine then hits each of them
# alike, and the summary keeps each engine's best QPS per ef_search (noise only ever slows a run down).
for run in $(seq "${RUNS:-3}"); do
    echo "run $run of ${RUNS:-3}" >&2
    target/release/examples/ann_bench "$dir" "$m" "$efc" | tee -a "$out"
    DOCVEC_HNSW_QUANTIZATION=none target/release/examples/ann_bench "$dir" "$m" "$efc" | tee -a "$out"
    "$venv/bin/python" benches/ann/peer.py "$dir" "$m" "$efc" | tee -a "$out"
done
echo
python3 benches/ann/summary.py "$out"
echo "raw results: $out"
