#!/usr/bin/env bash
# Server load benchmark (issue 5): C concurrent clients searching a N-chunk index for S seconds while an
# ingest runs, docvec serve against a FastAPI + FAISS service of the PMOVES-DoX shape (exact
# inner-product index, the same model through Python onnxruntime, the same thread count), in one run.
#   bash benches/server.sh [N] [C] [S]      (default 100000 32 30)
# The N chunks carry seeded random unit vectors (both services serve the same ones; embedding 100k
# chunks first would take the bench longer than the load); queries are the 93 Vaswani topics, embedded
# by each service per request. The ingest is the 35 files of the mdbook guide (docvec: one upload job;
# the peer: their paragraphs through POST /ingest). Peers go into tools/.venv-bench from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
conc=${2:-32}
secs=${3:-30}
dim=384
corpus=../shared/corpus
[ -d "$corpus" ] || { echo "needs ../shared/corpus (queries and the ingest files)" >&2; exit 1; }
venv=tools/.venv-bench
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import fastapi, uvicorn, faiss, onnxruntime, tokenizers, numpy" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "numpy==2.*" "fastapi==0.115.*" "uvicorn==0.34.*" "faiss-cpu==1.*" \
        "onnxruntime==1.*" "tokenizers==0.22.*"
python3 tools/setup_models.py >/dev/null
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
threads=$(nproc)

cargo build --release --quiet -p docvec-cli
cargo build --release --quiet -p docvec-store --example seed_bench
cargo build --release --quiet -p docvec-server --example load
"$venv/bin/python" benches/mirror/gen_data.py "$n" "$dim" "$work/data"
target/release/examples/seed_bench "$work/dv" "$work/data/vectors.f32" "$work/data/texts.txt" "$dim" all-MiniLM-L6-v2 >/dev/null
python3 - "$corpus/ir/vaswani_npl/query-text.trec" "$work/queries.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
titles = [" ".join(t.split()) for t in re.findall(r"<title>(.*?)</title>", text, re.S)]
open(sys.argv[2], "w").write("\n".join(titles) + "\n")
PY
# Upload names must be unique: the guide repeats README.md in sub-folders, so the first of each name goes.
find "$corpus/docs/mdbook-guide" -name '*.md' | sort | awk -F/ '!seen[$NF]++' >"$work/ingest-files.txt"
python3 - "$work/ingest-files.txt" "$work/ingest.json" <<'PY'
import json, sys
paras = []
for p in open(sys.argv[1]).read().split():
    paras += [b.strip() for b in open(p, errors="replace").read().split("\n\n") if b.strip()]
json.dump({"texts": paras}, open(sys.argv[2], "w"))
PY

wait_for() {
    for _ in $(seq 1 1200); do
        curl -sf "$1" >/dev/null && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || { echo "the service exited; its log:" >&2; cat "$work"/*.log >&2; return 1; }
        sleep 0.5
    done
    echo "timed out: $1" >&2; return 1
}

# docvec: opening the data dir builds the HNSW index over the N stored vectors.
t0=$(date +%s.%N)
target/release/docvec --data-dir "$work/dv" --config /dev/null serve --bind 127.0.0.1:7781 2>"$work/docvec.log" &
pids+=($!)
wait_for http://127.0.0.1:7781/readyz
ready=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
target/release/examples/load http://127.0.0.1:7781 "$work/queries.txt" "$conc" 5 >/dev/null   # warm-up
files=(); while IFS= read -r f; do files+=(-F "file=@$f"); done <"$work/ingest-files.txt"
job=$(curl -s "${files[@]}" http://127.0.0.1:7781/documents | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
ours=$(target/release/examples/load http://127.0.0.1:7781 "$work/queries.txt" "$conc" "$secs")
job_state=$(curl -s "http://127.0.0.1:7781/jobs/$job" | python3 -c 'import json,sys; j=json.load(sys.stdin)["job"]; print(j["state"], j["done"], "/", j["total"])')
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

"$venv/bin/python" benches/server/peer.py models/all-MiniLM-L6-v2 "$work/data/vectors.f32" "$work/data/texts.txt" "$dim" 7782 "$threads" &
pids+=($!)
wait_for http://127.0.0.1:7782/healthz
target/release/examples/load http://127.0.0.1:7782 "$work/queries.txt" "$conc" 5 >/dev/null   # warm-up
curl -s -H 'content-type: application/json' --data @"$work/ingest.json" http://127.0.0.1:7782/ingest >"$work/peer-ingest.json" &
ingest_pid=$!
peer=$(target/release/examples/load http://127.0.0.1:7782 "$work/queries.txt" "$conc" "$secs")
wait "$ingest_pid" || true

echo "docvec ready in ${ready}s (HNSW over $n vectors); upload job during the load: $job_state"
echo "peer ingest: $(cat "$work/peer-ingest.json")"
echo "docvec: $ours"
echo "peer:   $peer"
python3 - "$ours" "$peer" <<'PY'
import json, sys
d, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"QPS {d['qps']:.0f} vs {p['qps']:.0f} = {d['qps'] / p['qps']:.2f}x; "
      f"p50 {d['p50_ms']:.1f} vs {p['p50_ms']:.1f} ms = {p['p50_ms'] / d['p50_ms']:.2f}x lower; "
      f"p99 {d['p99_ms']:.1f} vs {p['p99_ms']:.1f} ms = {p['p99_ms'] / d['p99_ms']:.2f}x lower; "
      f"errors {d['errors']} vs {p['errors']}")
PY
