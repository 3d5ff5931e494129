#!/usr/bin/env bash
# Bounded query cost (issue 24): do C normal clients keep their latency while H clients send the
# costliest query docvec accepts? Three loads of S seconds each against one `docvec serve` over an
# N-chunk index, no ingest running:
#   1. C clients alone (`POST /search`, mode vector, the 93 Vaswani topics, as benches/server.sh);
#   2. the same C clients plus H clients sending a maximal query, at both `[search]` limits
#      (max_query_bytes of text holding max_query_terms distinct terms, every one of the corpus's
#      words among them so each matches most chunks), in hybrid mode with highlights;
#   3. the same C clients plus H clients sending the issue's 1 MB query (200,000 words), refused.
#   bash benches/server_heavy.sh [N] [C] [H] [S]      (default 50000 64 4 20)
# Prints the three runs' JSON and the normal clients' p50/p99 in runs 2 and 3 against run 1.
# The N chunks are seeded with random unit vectors and ~100-word texts over a 15-word vocabulary,
# (benches/server.sh's data, written here with the Python standard library alone).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
conc=${2:-64}
heavy=${3:-4}
secs=${4:-20}
dim=384
corpus=../shared/corpus
[ -d "$corpus" ] || { echo "needs ../shared/corpus (the queries)" >&2; exit 1; }
python3 tools/setup_models.py >/dev/null
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet -p docvec-cli
cargo build --release --quiet -p docvec-store --example seed_bench
cargo build --release --quiet -p docvec-server --example load
python3 - "$n" "$dim" "$work" <<'PY'
import array, math, random, sys
n, dim, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(7)
vectors = array.array("f")
for _ in range(n):
    v = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in v))
    vectors.extend(x / norm for x in v)
if sys.byteorder != "little":
    vectors.byteswap()
with open(f"{out}/vectors.f32", "wb") as f:
    vectors.tofile(f)
words = "index vector search query chunk document section table log endpoint page token model embed".split()
with open(f"{out}/texts.txt", "w") as f:
    for i in range(n):
        f.write(" ".join(rng.choice(words) for _ in range(100)) + f" row {i}\n")
PY
target/release/examples/seed_bench "$work/dv" "$work/vectors.f32" "$work/texts.txt" "$dim" all-MiniLM-L6-v2 >/dev/null
python3 - "$corpus/ir/vaswani_npl/query-text.trec" "$work/queries.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
titles = [" ".join(t.split()) for t in re.findall(r"<title>(.*?)</title>", text, re.S)]
open(sys.argv[2], "w").write("\n".join(titles) + "\n")
PY
# The maximal query: the corpus's 15 words and "row" (each in most chunks), then row numbers (one chunk
# each) up to max_query_terms distinct terms, repeated to exactly max_query_bytes (the defaults).
python3 - "$work" <<'PY'
import sys
out = sys.argv[1]
max_bytes, max_terms = 4096, 256
vocab = "index vector search query chunk document section table log endpoint page token model embed row".split()
vocab += [str(i) for i in range(max_terms - len(vocab))]
q = ""
i = 0
while len(q) + 1 + len(vocab[i % len(vocab)]) <= max_bytes:
    q = (q + " " if q else "") + vocab[i % len(vocab)]
    i += 1
q = q.replace(" ", " " * (1 + max_bytes - len(q)), 1)
assert len(q) == max_bytes, len(q)
open(f"{out}/maximal.txt", "w").write(q)
open(f"{out}/huge.txt", "w").write("word " * 200_000)
PY

target/release/docvec --data-dir "$work/dv" --config /dev/null serve --bind 127.0.0.1:7783 2>"$work/docvec.log" &
pid=$!
for _ in $(seq 1 1200); do
    curl -sf http://127.0.0.1:7783/readyz >/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "docvec exited:" >&2; cat "$work/docvec.log" >&2; exit 1; }
    sleep 0.5
done
# The maximal query must be answered (200), or run 2 measures refusals.
code=$(python3 -c 'import json,sys; print(json.dumps({"query": open(sys.argv[1]).read(), "k": 10, "highlight": True}))' "$work/maximal.txt" \
    | curl -s -o "$work/max.json" -w '%{http_code}' -H 'content-type: application/json' --data @- http://127.0.0.1:7783/search)
[ "$code" = 200 ] || { echo "the maximal query got $code: $(cat "$work/max.json")" >&2; exit 1; }
load=target/release/examples/load
url=http://127.0.0.1:7783
"$load" "$url" "$work/queries.txt" "$conc" 5 >/dev/null   # warm-up
# The server's CPU seconds so far (user + system), to tell its work from the load generator's: both
# share this machine's cores.
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{printf "%.1f", ($14 + $15) / t}' "/proc/$pid/stat"; }
c0=$(cpu)
alone=$("$load" "$url" "$work/queries.txt" "$conc" "$secs")
c1=$(cpu)
maximal=$("$load" "$url" "$work/queries.txt" "$conc" "$secs" 10 "$heavy" "$work/maximal.txt")
c2=$(cpu)
huge=$("$load" "$url" "$work/queries.txt" "$conc" "$secs" 10 "$heavy" "$work/huge.txt")
c3=$(cpu)
echo "N=$n, $conc normal clients, $heavy heavy clients, ${secs}s each, $(nproc) cores"
echo "server CPU seconds: alone $(echo "$c1 - $c0" | bc), with maximal $(echo "$c2 - $c1" | bc), with 1 MB $(echo "$c3 - $c2" | bc) (of $((secs * $(nproc))) core-seconds per run)"
echo "alone:            $alone"
echo "+ maximal (4 KB): $maximal"
echo "+ 1 MB (refused): $huge"
python3 - "$alone" "$maximal" "$huge" <<'PY'
import json, sys
a, m, h = (json.loads(s) for s in sys.argv[1:])
for name, r in (("maximal", m), ("1 MB", h)):
    hv = r["heavy"]
    heavy_p50 = f"p50 {hv['p50_ms']:.0f} ms" if hv["p50_ms"] is not None else "none"
    print(f"with {name}: normal p50 {r['p50_ms']:.1f} vs {a['p50_ms']:.1f} ms ({r['p50_ms'] / a['p50_ms']:.2f}x), "
          f"p99 {r['p99_ms']:.1f} vs {a['p99_ms']:.1f} ms ({r['p99_ms'] / a['p99_ms']:.2f}x), "
          f"QPS {r['qps']:.0f} vs {a['qps']:.0f}, errors {r['errors']}; heavy: {hv['requests']} answered "
          f"({heavy_p50}), {hv['refused']} refused")
PY
