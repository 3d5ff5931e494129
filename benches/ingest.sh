#!/usr/bin/env bash
# End-to-end ingest (issue 7): the whole corpus into a fresh data dir with the release build, the
# default embedded set-up (local SQLite + local indexes, all-MiniLM-L6-v2's int8 build), twice in one run:
# first without the pipeline (`[ingest] pipeline = false`: one file read, parsed, chunked, embedded and
# stored before the next is read), then with it (the default: files parsed on every core while earlier
# ones are embedded). Prints wall time, documents/s, chunks/s, peak RSS and where the time went, stage
# by stage (the ingest report's `stages`: reading stages summed over the parser threads, writing stages
# as wall time), and the pipelined run's speed-up.
#   bash benches/ingest.sh [CORPUS] [MODEL.onnx]   (default ../shared/corpus, the default model;
#                                                   models/all-MiniLM-L6-v2/model.onnx for fp32)
#   MODES=pipelined bash benches/ingest.sh         (one mode only)
#   DOCVEC_BIN=/path/to/docvec bash benches/ingest.sh  (another build, e.g. an older commit's, as a peer)
# chunks/s counts the chunks stored (every chunk of every ingested file), not only those the model
# embedded: an input some stored chunk already has takes its vector without a model call.
# Leaves the pipelined data dir in target/bench-ingest/data (benches/embed.sh takes its chunks from there).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }
python3 tools/setup_models.py >/dev/null
bin=${DOCVEC_BIN:-target/release/docvec}
[ -n "${DOCVEC_BIN:-}" ] || cargo build --release --quiet -p docvec-cli
work=target/bench-ingest
rm -rf "$work" && mkdir -p "$work"
[ -n "${2:-}" ] && export DOCVEC_MODEL_PATH=$2
modes=${MODES:-serial pipelined}
for mode in $modes; do
    case $mode in
        serial) export DOCVEC_INGEST_PIPELINE=false DOCVEC_DATA_DIR=$work/data-serial ;;
        pipelined) export DOCVEC_INGEST_PIPELINE=true DOCVEC_DATA_DIR=$work/data ;;
        *) echo "unknown mode $mode (serial, pipelined)" >&2; exit 1 ;;
    esac
    # Exit status 2 means some files were unreadable (the corpus has such files on purpose).
    status=0
    /usr/bin/time -v -o "$work/time-$mode.txt" "$bin" ingest "$corpus" --json \
        > "$work/report-$mode.json" 2> "$work/stderr-$mode.txt" || status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 2 ] || { cat "$work/stderr-$mode.txt" >&2; exit "$status"; }
done
python3 - "$work" $modes <<'PY'
import json, re, sys
work, modes = sys.argv[1], sys.argv[2:]
walls = {}
for mode in modes:
    r = json.load(open(f"{work}/report-{mode}.json"))
    t = open(f"{work}/time-{mode}.txt").read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    wall = walls[mode] = r["elapsed"]["secs"] + r["elapsed"]["nanos"] / 1e9
    ok = [f for f in r["files"] if f[1]["status"] in ("added", "updated")]
    failed = [f for f in r["files"] if f[1]["status"] == "failed"]
    s = r["stages"]
    chunks = sum(f[1]["chunks"] for f in ok)
    print(f"## {mode}: {len(ok)} documents ({len(failed)} failed), {chunks} chunks "
          f"({r['chunks_embedded']} embedded, {r['tokens']['real'] if 'tokens' in r else '?'} tokens) in "
          f"{wall:.1f} s: {len(ok) / wall:.2f} documents/s, {chunks / wall:.1f} chunks/s, "
          f"peak RSS {rss:.0f} MiB")
    print("| stage | seconds | share of wall |")
    print("|---|---:|---:|")
    for k in ["read_s", "parse_s", "chunk_s", "extract_s", "embed_s", "store_s", "index_s", "save_s"]:
        print(f"| {k[:-2]} | {s[k]:.2f} | {100 * s[k] / wall:.1f}% |")
    serial_sum = sum(s[k] for k in s if k != "mirror_s")
    print(f"sum of stages {serial_sum:.1f} s = {serial_sum / wall:.2f}x the wall")
    if mode == modes[-1]:
        for path, o in failed:
            print(f"failed (as expected of this corpus): {path}: {o['cause'][:100]}")
if "serial" in walls and "pipelined" in walls:
    print(f"pipelined: {walls['serial'] / walls['pipelined']:.2f}x the serial run's speed "
          f"({walls['serial']:.1f} s -> {walls['pipelined']:.1f} s)")
PY
