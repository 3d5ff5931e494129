#!/usr/bin/env bash
# The main job on the embedded default: fetch the model and ONNX Runtime (once), build, ingest the
# sample folder into ./docvec-data (local SQLite + HNSW), and answer a query.
#   bash tools/demo.sh ["your question"]
set -euo pipefail
cd "$(dirname "$0")/.."
query=${1:-how does approximate nearest neighbour search work}

python3 tools/setup_models.py
cargo build --release --locked -p docvec-cli
docvec=./target/release/docvec

echo "== docvec ingest samples/"
status=0
$docvec ingest samples || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || exit "$status"
echo "== docvec search \"$query\""
$docvec search "$query" -k 5
