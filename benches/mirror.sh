#!/usr/bin/env bash
# Mirror write benchmark (issue 4): rows/s into pgvector for N 384-d vectors with their chunk text,
# docvec's mirror path against psycopg 3 on the same database in the same run, and HNSW build times.
#   bash benches/mirror.sh [N]      (default 100000)
# Installs the peers into tools/.venv-bench from PyPI, runs a private PostgreSQL 18 + pgvector 0.8
# (tools/pg.sh), prints each figure and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
dim=384
venv=tools/.venv-bench
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "psycopg[binary]==3.2.*" "pgvector==0.4.*" "numpy==2.*"
fi
work=$(mktemp -d)
export DOCVEC_PG_STATE=$work/pg-state
trap 'bash tools/pg.sh stop; rm -rf "$work"' EXIT
eval "$(bash tools/pg.sh start)"
"$venv/bin/python" benches/mirror/gen_data.py "$n" "$dim" "$work/data"
cargo build --release --quiet -p docvec-mirror --example write_bench
peer=$("$venv/bin/python" benches/mirror/peer.py "$DATABASE_URL" "$work/data" "$dim")
ours=$(target/release/examples/write_bench "$DATABASE_URL" "$work/data" "$dim")
echo "peer:   $peer"
echo "docvec: $ours"
python3 - "$peer" "$ours" <<'PY'
import json, sys
p, d = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"rows: {d['rows']}")
for k in ["docvec_put_rows_per_s", "docvec_replace_rows_per_s"]:
    print(f"{k}: {d[k]:,.0f}  = {d[k] / p['copy_binary_rows_per_s']:.2f}x psycopg binary COPY "
          f"({p['copy_binary_rows_per_s']:,.0f}), {d[k] / p['executemany_500_rows_per_s']:.2f}x executemany/500 "
          f"({p['executemany_500_rows_per_s']:,.0f})")
print(f"HNSW build: {p['hnsw_build_s_64MB']:.1f}s at 64MB, {p['hnsw_build_s_1GB']:.1f}s at 1GB (psycopg); "
      f"docvec backfill build {d['docvec_hnsw_build_s_1GB']:.1f}s at 1GB")
PY
