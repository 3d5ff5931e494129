#!/usr/bin/env bash
# End-to-end ingest (issue 7): the whole corpus into a fresh data dir with the release build, the
# default embedded set-up (local SQLite + local indexes, all-MiniLM-L6-v2 fp32). Prints wall time,
# documents/s, chunks/s, peak RSS and where the time went, stage by stage (the ingest report's
# `stages`: reading stages summed over the parser threads, writing stages as wall time).
#   bash benches/ingest.sh [CORPUS] [MODEL.onnx]   (default ../shared/corpus, the fp32 model)
# Leaves the data dir in target/bench-ingest/data (benches/embed.sh takes its chunks from there).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }
python3 tools/setup_models.py >/dev/null
cargo build --release --quiet -p docvec-cli
work=target/bench-ingest
rm -rf "$work" && mkdir -p "$work"
export DOCVEC_DATA_DIR=$work/data
[ -n "${2:-}" ] && export DOCVEC_MODEL_PATH=$2
# Exit status 2 means some files were unreadable (the corpus has such files on purpose).
status=0
/usr/bin/time -v -o "$work/time.txt" target/release/docvec ingest "$corpus" --json \
    > "$work/report.json" 2> "$work/stderr.txt" || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { cat "$work/stderr.txt" >&2; exit "$status"; }
python3 - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
r = json.load(open(f"{work}/report.json"))
t = open(f"{work}/time.txt").read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
wall = r["elapsed"]["secs"] + r["elapsed"]["nanos"] / 1e9
ok = [f for f in r["files"] if f[1]["status"] in ("added", "updated")]
failed = [f for f in r["files"] if f[1]["status"] == "failed"]
s = r["stages"]
print(f"{len(ok)} documents ({len(failed)} failed), {r['chunks_embedded']} chunks in {wall:.1f} s: "
      f"{len(ok) / wall:.2f} documents/s, {r['chunks_embedded'] / wall:.1f} chunks/s, peak RSS {rss:.0f} MiB")
print("| stage | seconds | share of wall |")
print("|---|---:|---:|")
for k in ["read_s", "parse_s", "chunk_s", "extract_s", "embed_s", "store_s", "index_s", "save_s"]:
    print(f"| {k[:-2]} | {s[k]:.2f} | {100 * s[k] / wall:.1f}% |")
for path, o in failed:
    print(f"failed (as expected of this corpus): {path}: {o['cause'][:100]}")
PY
