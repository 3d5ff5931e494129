#!/usr/bin/env bash
# Cold start and memory (issue 16): open a saved HNSW index in a fresh process and answer one query,
# for docvec (int8 walk and f32 walk), hnswlib (load_index) and faiss (read_index, plain and with
# IO_FLAG_MMAP), on the same vectors in the same run. Each open runs RUNS times, engines taking turns;
# the best time counts. The page cache is warm (the files were just written or read): this measures
# what a process does with the bytes, not the disk.
#   [RUNS=3] bash benches/coldstart.sh [N] [M] [EF_CONSTRUCTION]     (default 100000 16 200)
# N 384-d clustered unit vectors are made by benches/ann/make_clustered.py into tools/.cache/coldstart-N.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
m=${2:-16}
efc=${3:-200}
venv=tools/.venv-bench
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import hnswlib, faiss, numpy" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "numpy==2.*" "hnswlib==0.8.*" "faiss-cpu==1.*"
data=tools/.cache/coldstart-$n
[ -f "$data/base.fvecs" ] || "$venv/bin/python" benches/ann/make_clustered.py "$data" "$n" >/dev/null
cargo build --release --quiet -p docvec-index --example cold_start
bin=${CARGO_TARGET_DIR:-target}/release/examples/cold_start
[ -f "$data/docvec/MANIFEST.json" ] || "$bin" build "$data" "$data/docvec" "$m" "$efc"
# The f32 walk saved as such (opening the int8 file with the f32 walk would convert it at load).
[ -f "$data/docvec-f32/MANIFEST.json" ] \
    || DOCVEC_HNSW_QUANTIZATION=none "$bin" build "$data" "$data/docvec-f32" "$m" "$efc"
[ -f "$data/peers/faiss.index" ] || "$venv/bin/python" benches/coldstart/peer.py build "$data" "$data/peers" "$m" "$efc"
du -sh "$data/docvec" "$data/docvec-f32" "$data/peers/hnswlib.bin" "$data/peers/faiss.index" >&2
out=$(mktemp)
for run in $(seq "${RUNS:-3}"); do
    "$bin" open "$data/docvec" "$data/query.fvecs" | tee -a "$out"
    DOCVEC_HNSW_QUANTIZATION=none "$bin" open "$data/docvec-f32" "$data/query.fvecs" | tee -a "$out"
    for engine in hnswlib faiss faiss-mmap; do
        "$venv/bin/python" benches/coldstart/peer.py open "$engine" "$data/peers" "$data/query.fvecs" | tee -a "$out"
    done
done
python3 - "$out" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["engine"] not in best or r["open_to_first_answer_ms"] < best[r["engine"]]["open_to_first_answer_ms"]:
        best[r["engine"]] = r
ref = best["hnswlib"]["open_to_first_answer_ms"]
print("\n| engine | vectors | open to first answer (ms) | vs hnswlib | RSS after (MB) | peak RSS (MB) |")
print("|---|---|---|---|---|---|")
for e, r in best.items():
    base = r.get("python_baseline_rss_mb", 0)
    note = f" (Python {base:.0f} of it)" if base else ""
    print(f"| {e} | {r['vectors']} | {r['open_to_first_answer_ms']:.1f} | {r['open_to_first_answer_ms'] / ref:.2f}x | "
          f"{r['rss_mb']:.0f}{note} | {r['peak_rss_mb']:.0f} |")
PY
echo "raw results: $out"
