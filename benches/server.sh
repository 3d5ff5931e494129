#!/usr/bin/env bash
# Server load benchmark (issues 5 and 21): C concurrent clients searching a N-chunk index for S seconds
# while an ingest runs, docvec serve against a FastAPI + FAISS service of the PMOVES-DoX shape (exact
# inner-product index, the same model through Python onnxruntime, the same thread count), in one run.
#   bash benches/server.sh [N] [C] [S]      (default 100000 32 30)
# docvec runs four times, from copies of seeded data directories: with its defaults (the model's build
# for this CPU, concurrent queries embedded in micro-batches, the batches side by side on one
# single-thread session per core), the same on one session of all the threads
# (DOCVEC_EMBED_SESSIONS=1), with DOCVEC_QUERY_BATCH_SIZE=1 (the same build, each query embedded
# alone), and as before issue 21 (the fp32 model, each query embedded alone on one session). The query cache is off in all four
# (DOCVEC_QUERY_CACHE_SIZE=0; the 93 topics repeat, and with it on the bench measures the cache).
# Then, with RATES="r1 r2 ...", an open-loop client offers each rate for S seconds to the batched
# docvec (no ingest), for latency against offered load.
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
# The seeded directory is recorded as made by the default model's build for this CPU (int8 where it has
# int8 dot products, per-row int8 where it has AMX, as docvec_embed::int8_support decides; fp32
# elsewhere), which then embeds the queries; MODEL_ID=all-MiniLM-L6-v2, all-MiniLM-L6-v2-int8 or
# all-MiniLM-L6-v2-int8-rows measures one build.
default_id=all-MiniLM-L6-v2
grep -qwE 'avx512_vnni|avx_vnni|asimddp' /proc/cpuinfo && default_id=all-MiniLM-L6-v2-int8
grep -qw 'amx_int8' /proc/cpuinfo && default_id=all-MiniLM-L6-v2-int8-rows
model_id=${MODEL_ID:-$default_id}
echo "docvec's default runs embed with $model_id" >&2
target/release/examples/seed_bench "$work/dv" "$work/data/vectors.f32" "$work/data/texts.txt" "$dim" \
    "$model_id" >/dev/null
# docvec as it was before issue 21: the fp32 build, each query embedded alone.
target/release/examples/seed_bench "$work/dv-fp32" "$work/data/vectors.f32" "$work/data/texts.txt" "$dim" \
    all-MiniLM-L6-v2 >/dev/null
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

# docvec, once per configuration (NAME BATCH_SIZE SEEDED SESSIONS, 0 = the default), each on a fresh
# copy of a seeded data directory: opening it builds the HNSW index over the N stored vectors. Writes $work/NAME.{json,job,ready}.
files=(); while IFS= read -r f; do files+=(-F "file=@$f"); done <"$work/ingest-files.txt"
run_docvec() {
    local name=$1 batch=$2 seeded=$3 sessions=$4 url=http://127.0.0.1:7781
    rm -rf "$work/dv-run" && cp -r "$work/$seeded" "$work/dv-run"
    local t0; t0=$(date +%s.%N)
    DOCVEC_QUERY_CACHE_SIZE=0 DOCVEC_QUERY_BATCH_SIZE=$batch DOCVEC_EMBED_SESSIONS=$sessions \
        target/release/docvec --data-dir "$work/dv-run" \
        --config /dev/null serve --bind 127.0.0.1:7781 2>"$work/docvec-$name.log" &
    pids+=($!)
    wait_for $url/readyz
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)" >"$work/$name.ready"
    target/release/examples/load $url "$work/queries.txt" "$conc" 5 >/dev/null   # warm-up
    local job
    job=$(curl -s "${files[@]}" $url/documents | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
    target/release/examples/load $url "$work/queries.txt" "$conc" "$secs" >"$work/$name.json"
    curl -s "$url/jobs/$job" | python3 -c 'import json,sys; j=json.load(sys.stdin)["job"]; print(j["state"], j["done"], "/", j["total"])' >"$work/$name.job"
    curl -s $url/metrics | awk '/^docvec_query_batch(es|_queries)_total/ {print $1, $2}' >"$work/$name.batches"
    if [ "$name" = batched ] && [ -n "${RATES:-}" ]; then
        # The open-loop runs measure search alone: wait for the upload job to end first.
        until curl -s "$url/jobs/$job" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["job"]["state"] in ("queued", "running"))'; do
            sleep 1
        done
    fi
    for rate in ${RATES:-}; do
        [ "$name" = batched ] || break
        LOAD_RATE=$rate target/release/examples/load $url "$work/queries.txt" "$conc" "$secs" >>"$work/rates.json"
    done
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
}
run_docvec batched 32 dv 0
run_docvec one-session 32 dv 1
run_docvec alone 1 dv 0
run_docvec before 1 dv-fp32 1
ours=$(cat "$work/batched.json")
one=$(cat "$work/one-session.json")
alone=$(cat "$work/alone.json")
before=$(cat "$work/before.json")

"$venv/bin/python" benches/server/peer.py models/all-MiniLM-L6-v2 "$work/data/vectors.f32" "$work/data/texts.txt" "$dim" 7782 "$threads" &
pids+=($!)
wait_for http://127.0.0.1:7782/healthz
target/release/examples/load http://127.0.0.1:7782 "$work/queries.txt" "$conc" 5 >/dev/null   # warm-up
curl -s -H 'content-type: application/json' --data @"$work/ingest.json" http://127.0.0.1:7782/ingest >"$work/peer-ingest.json" &
ingest_pid=$!
peer=$(target/release/examples/load http://127.0.0.1:7782 "$work/queries.txt" "$conc" "$secs")
wait "$ingest_pid" || true

for name in batched one-session alone before; do
    echo "docvec $name: ready in $(cat "$work/$name.ready")s (HNSW over $n vectors); upload job during the load: $(cat "$work/$name.job"); $(tr '\n' ' ' <"$work/$name.batches")"
done
echo "peer ingest: $(cat "$work/peer-ingest.json")"
echo "docvec batched: $ours"
echo "docvec batched, one session: $one"
echo "docvec alone:   $alone"
echo "docvec before:  $before"
echo "peer:           $peer"
python3 - "$ours" "$one" "$alone" "$before" "$peer" <<'PY'
import json, sys
d, s, a, b, p = (json.loads(x) for x in sys.argv[1:6])
for name, o in (("peer", p), ("docvec batched on one session", s), ("docvec alone", a),
                ("docvec before issue 21 (fp32, alone)", b)):
    print(f"batched vs {name}: QPS {d['qps']:.0f} vs {o['qps']:.0f} = {d['qps'] / o['qps']:.2f}x; "
          f"p50 {d['p50_ms']:.1f} vs {o['p50_ms']:.1f} ms = {o['p50_ms'] / d['p50_ms']:.2f}x lower; "
          f"p99 {d['p99_ms']:.1f} vs {o['p99_ms']:.1f} ms = {o['p99_ms'] / d['p99_ms']:.2f}x lower; "
          f"errors {d['errors']} vs {o['errors']}")
PY
if [ -s "$work/rates.json" ]; then
    echo "open loop, batched docvec, no ingest (offered QPS: answered QPS, p50 / p90 / p99 ms, errors):"
    python3 - "$work/rates.json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"  {r['offered_qps']:>6.0f}: {r['qps']:7.1f}  {r['p50_ms']:7.1f} / {r['p90_ms']:7.1f} / "
          f"{r['p99_ms']:7.1f}  {r['errors']}")
PY
fi
