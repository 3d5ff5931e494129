#!/usr/bin/env bash
# The aarch64 docvec end to end under qemu, beside the x86_64 one (run by `tools/cross.sh e2e`):
#  1. both ingest the same corpus files (the aarch64 one with the aarch64 ONNX Runtime 1.31.1 library)
#     and must answer three queries with the same chunks, scores close (int8; near-ties may swap,
#     see same_hits);
#  2. the x86_64 docvec exports a bundle while it ingests the corpus docs and two logs; the aarch64 docvec,
#     searching that bundle, must give the x86_64 docvec's hits on it; `docvec check` passes there.
#   bash tools/cross_e2e.sh target/cross/aarch64-unknown-linux-gnu/release/docvec
set -euo pipefail
cd "$(dirname "$0")/.."
ARM_BIN=${1:?usage: tools/cross_e2e.sh AARCH64_DOCVEC}
CORPUS=${DOCVEC_CORPUS:-../shared/corpus}
if [ ! -d "$CORPUS/docs/mdbook-guide" ]; then
    echo "cross_e2e.sh: no corpus at $CORPUS (set DOCVEC_CORPUS)" >&2
    exit 1
fi
log() { echo "cross_e2e.sh: $*" >&2; }

python3 tools/setup_models.py >/dev/null
python3 tools/setup_models.py --ort 1.31.1 --arch aarch64 >/dev/null
ARM_ORT=$PWD/models/onnxruntime-1.31.1-aarch64/libonnxruntime.so
# The x86_64 release docvec (tools/test.sh has built it already, with this same command).
log "building the x86_64 docvec for the comparison"
cargo build --release --locked -q -p docvec-cli
X86_BIN=target/release/docvec

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# tools/cross.sh says why the loader needs LD_LIBRARY_PATH.
QEMU=${QEMU:-qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib}
# qemu-user passes the host's /proc/cpuinfo through, and ONNX Runtime's cpuinfo library, finding no Arm
# processor in it, dereferences a null pointer while loading. On a device the file is the device's; here
# each aarch64 run gets, in a mount namespace of its own, the cpuinfo of a two-core Neoverse N1.
cpuinfo=$work/cpuinfo
for i in 0 1; do
    printf 'processor\t: %s\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' "$i"
done >"$cpuinfo"
# Both sides embed with the same build, named: docvec's default build depends on the CPU (int8 only
# with int8 dot products, so fp32 on an AVX2-only x86_64), and a runtime named by DOCVEC_ORT_LIBRARY
# is the user's own, for which the default is fp32. This one is the same release as the bundled
# x86_64 one, so both run int8.
model=${DOCVEC_MODEL_ID:-all-MiniLM-L6-v2-int8}
arm() {
    # shellcheck disable=SC2086 # QEMU is a command line
    DOCVEC_MODEL_ID=$model DOCVEC_ORT_LIBRARY=$ARM_ORT unshare --mount --propagation private \
        sh -c 'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$cpuinfo" $QEMU "$ARM_BIN" "$@"
}
x86() { DOCVEC_MODEL_ID=$model "$X86_BIN" "$@"; }

guide=$CORPUS/docs/mdbook-guide
files=("$guide/guide/installation.md" "$guide/guide/creating.md" "$guide/format/markdown.md" samples)
queries=("how do I install mdbook" "sourdough starter feeding" "how are code blocks highlighted")

# Same hits (tools/same_hits.py): chunk keys with scores within $4, in the same order but for
# near-ties. The int8 build's integer kernels differ between CPUs (AVX-512 VNNI,
# AVX2, NEON): cosines moved by up to 0.0024 (2026-12-02; with the fp32 model they agreed within
# 1e-6). So two hits whose scores lie within the tolerance may swap places, and the last place may
# go to another chunk that ties with it (on an AVX2-only x86_64 the fifth hit of one bundle query
# did; vector scores there differed by up to 0.0046). A hybrid score is a z-score fusion, each list's
# scores divided by their spread over the candidates, which magnifies the same difference (0.008 on
# one query): hence 0.01 for vector, 0.03 for hybrid, still far under what another model gives.
same_hits() { python3 tools/same_hits.py "$@" aarch64 x86_64; }
tolerance() { if [ "$1" = hybrid ]; then echo 0.03; else echo 0.01; fi; }

log "ingest ${#files[@]} inputs on aarch64 (qemu) and on x86_64"
started=$(date +%s)
arm --data-dir "$work/arm" ingest "${files[@]}" --json >"$work/arm-ingest.json"
log "aarch64 ingest took $(( $(date +%s) - started ))s under qemu"
x86 --data-dir "$work/x86" ingest "${files[@]}" --json >"$work/x86-ingest.json"
python3 - "$work/arm-ingest.json" "$work/x86-ingest.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for r in (a, b):
    failed = [f for f in r["files"] if f[1].get("status") == "failed"]
    assert not failed, failed
assert a["chunks_embedded"] == b["chunks_embedded"] > 0, (a["chunks_embedded"], b["chunks_embedded"])
print(f"  both stored {a['chunks_embedded']} chunks")
EOF
# Vector mode: the scores are the cosines of the two machines' embeddings, not ranks.
for q in "${queries[@]}"; do
    arm --data-dir "$work/arm" search "$q" -k 5 --mode vector --json >"$work/a.json"
    x86 --data-dir "$work/x86" search "$q" -k 5 --mode vector --json >"$work/b.json"
    same_hits "$work/a.json" "$work/b.json" "vector '$q'" "$(tolerance vector)"
done

log "export a bundle on x86_64 while it ingests the docs and two logs (1,276 chunks, several commits)"
x86 --data-dir "$work/src" ingest samples >/dev/null
x86 --data-dir "$work/src" ingest "$CORPUS/docs" "$CORPUS/logs/Apache/Apache_2k.log" \
    "$CORPUS/logs/OpenSSH/OpenSSH_2k.log" --events >"$work/events" 2>/dev/null &
ingest=$!
# The export starts once the ingest has committed a file, so the copy is taken mid-run.
until [ -s "$work/events" ] || ! kill -0 "$ingest" 2>/dev/null; do sleep 0.2; done
x86 --data-dir "$work/src" export "$work/bundle" --json >"$work/export.json"
wait "$ingest"
final=$(x86 --data-dir "$work/src" stats --json | python3 -c "import json,sys; print(json.load(sys.stdin)['documents'])")
python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['manifest']; print(f\"  bundle: {m['documents']} documents ({sys.argv[2]} once the ingest ended), {m['chunks']} chunks, log position {m['log_position']}\")" "$work/export.json" "$final"
for q in "${queries[@]}"; do
    for mode in vector hybrid; do
        arm --data-dir "$work/bundle" search "$q" -k 5 --mode $mode --json >"$work/a.json"
        x86 --data-dir "$work/bundle" search "$q" -k 5 --mode $mode --json >"$work/b.json"
        same_hits "$work/a.json" "$work/b.json" "bundle, $mode '$q'" "$(tolerance $mode)"
    done
done
arm --data-dir "$work/bundle" check >"$work/check.txt" || { cat "$work/check.txt"; exit 1; }
tail -2 "$work/check.txt"
log "aarch64 end-to-end check passed"
