#!/usr/bin/env bash
# Padding by format (issue 21 item 3): a batch is padded to its longest input, so short table rows and
# log entries mixed with long prose could cost far more tokens than they hold. Ingests each part of the
# corpus alone into a fresh data dir, then the whole corpus (the mix), with the release build and the
# default model, and prints the ingest report's `tokens`: real tokens, tokens the model ran once
# padded, model calls, and padding as a share of real tokens.
#   bash benches/padding.sh [CORPUS]   (default ../shared/corpus; its top-level folders are the parts)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }
python3 tools/setup_models.py >/dev/null
cargo build --release --quiet -p docvec-cli
work=target/bench-padding
rm -rf "$work" && mkdir -p "$work"
parts=()
for d in "$corpus"/*/; do
    name=$(basename "$d")
    # Retrieval collections and raw vectors are benchmarks of their own, not documents a user ingests.
    case $name in ir | vectors) continue ;; esac
    parts+=("$name")
done
run() { # NAME PATH...
    local name=$1 status=0
    shift
    # Exit status 2 means some files were unreadable (the corpus has such files on purpose).
    DOCVEC_DATA_DIR=$work/data-$name target/release/docvec ingest "$@" --json \
        >"$work/report-$name.json" 2>"$work/stderr-$name.txt" || status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { cat "$work/stderr-$name.txt" >&2; exit "$status"; }
}
all=()
for p in "${parts[@]}"; do
    run "$p" "$corpus/$p"
    all+=("$corpus/$p")
done
run mix "${all[@]}"
python3 - "$work" "${parts[@]}" mix <<'PY'
import json, sys
work, names = sys.argv[1], sys.argv[2:]
print(f"{'part':<8} {'chunks':>7} {'real tokens':>12} {'padded':>10} {'calls':>6} {'padding':>8}")
for name in names:
    r = json.load(open(f"{work}/report-{name}.json"))
    t = r["tokens"]
    pad = (t["padded"] / t["real"] - 1) * 100 if t["real"] else 0.0
    print(f"{name:<8} {r['chunks_embedded']:>7} {t['real']:>12} {t['padded']:>10} {t['calls']:>6} {pad:>7.1f}%")
PY
