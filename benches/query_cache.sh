#!/usr/bin/env bash
# Query-embedding cache (issue 21): QPS of C clients cycling through the 93 Vaswani topics (every query
# repeats after 93 requests) against `docvec serve` over the repository's samples, with the cache at its
# default size and with it off (DOCVEC_QUERY_CACHE_SIZE=0), alternating R rounds of S seconds each.
#   bash benches/query_cache.sh [C] [S] [R]      (default 4 15 2; PROFILE=debug uses target/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
conc=${1:-4}
secs=${2:-15}
rounds=${3:-2}
profile=${PROFILE:-release}
corpus=../shared/corpus
[ -d "$corpus" ] || { echo "needs ../shared/corpus (the queries)" >&2; exit 1; }
python3 tools/setup_models.py >/dev/null
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag --quiet -p docvec-cli
cargo build $flag --quiet -p docvec-server --example load
bin=target/$profile
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
python3 - "$corpus/ir/vaswani_npl/query-text.trec" "$work/queries.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
titles = [" ".join(t.split()) for t in re.findall(r"<title>(.*?)</title>", text, re.S)]
open(sys.argv[2], "w").write("\n".join(titles) + "\n")
PY
"$bin/docvec" --data-dir "$work/dv" ingest samples >/dev/null
port=7791
for round in $(seq 1 "$rounds"); do
    for size in 0 1024; do
        DOCVEC_QUERY_CACHE_SIZE=$size DOCVEC_BIND=127.0.0.1:$port \
            "$bin/docvec" --data-dir "$work/dv" serve >"$work/serve.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 600); do
            curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
            kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
            sleep 0.2
        done
        printf 'round %s cache %-5s ' "$round" "$size"
        "$bin/examples/load" "http://127.0.0.1:$port" "$work/queries.txt" "$conc" "$secs"
        curl -s "http://127.0.0.1:$port/metrics" | grep -E '^docvec_query_cache_(hits|misses)_total' | tr '\n' ' '
        echo
        kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    done
done
