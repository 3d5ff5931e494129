#!/usr/bin/env bash
# docvec's embed tests of the per-row int8 build on an x86-64 CPU without int8 dot products, emulated by
# qemu-user (`-cpu Haswell`: AVX2, no AVX-512, no VNNI, no AMX), whatever CPU runs this. There ONNX
# Runtime's uint8 x int8 kernel saturates (VPMADDUBSW), so docvec must load the build's unsigned twin
# (Builtin::file_on) and embed within the per-row build's fidelity to fp32, batch-independently.
# A data directory made with the per-row build on a CPU with AMX (the default there) meets such a CPU
# when it is copied; CI's own CPU checks only one side. Then end to end: a data directory and a bundle
# made here with the per-row build, searched and checked by the same docvec under emulation. Uses the
# workspace test build and the release build tools/test.sh has made (nothing is rebuilt); about 5 minutes.
#   bash tools/avx2_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "avx2_check.sh: $*" >&2; }
if ! command -v qemu-x86_64 >/dev/null; then
    log "installing qemu-user from Debian (7.2 or later emulates AVX2)"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-user >/dev/null
fi
python3 tools/setup_models.py >/dev/null
bin=$(cargo test --workspace --locked --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and t.get("name") == "embed" and t.get("kind") == ["test"] and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { log "no embed test binary found"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/tests.txt
tests=(the_per_row_int8_build_stays_close_to_fp32_and_does_not_depend_on_its_batch
       the_unsigned_twin_embeds_exactly_as_the_per_row_build)
log "running ${tests[*]} under qemu-x86_64 -cpu Haswell"
# qemu warns once per CPU feature its TCG lacks (pcid, x2apic, ...); they say nothing about the test.
qemu-x86_64 -cpu Haswell "$bin" --exact "${tests[@]}" --test-threads 1 --nocapture 2>&1 \
    | grep -v "TCG doesn't support requested feature" | tee "$out"
grep -q "test result: ok. 2 passed" "$out" || { log "FAILED"; exit 1; }
# The twin test skips only where docvec saw no int8 dot products: proof that the emulated CPU was
# taken for AVX2 alone, so the per-row test above ran the twin.
grep -q "SKIPPED: on this x86-64 CPU without int8 dot products" "$out" \
    || { log "FAILED: docvec did not see the emulated CPU as one without int8 dot products"; exit 1; }
log "ok: the embed tests pass on AVX2 alone, with the per-row build's unsigned twin"

cargo build --release --locked -q -p docvec-cli
docvec=$PWD/target/release/docvec
export DOCVEC_MODEL_ID=all-MiniLM-L6-v2-int8-rows
haswell() { qemu-x86_64 -cpu Haswell "$docvec" "$@" 2> >(grep -v "TCG doesn't support" >&2); }
log "a data directory and a bundle of samples/ made here with $DOCVEC_MODEL_ID"
"$docvec" --data-dir "$work/src" ingest samples >/dev/null
"$docvec" --data-dir "$work/src" export "$work/bundle" >/dev/null
# Both CPUs sum the same integers; only the fp32 operators between the integer GEMMs differ (AVX2
# against this CPU's kernels). The per-row file's own saturating kernel moved cosines by up to 0.006.
for q in "sourdough starter feeding" "how does approximate nearest neighbour search work"; do
    "$docvec" --data-dir "$work/bundle" search "$q" -k 5 --mode vector --json >"$work/here.json"
    haswell --data-dir "$work/bundle" search "$q" -k 5 --mode vector --json >"$work/avx2.json"
    python3 tools/same_hits.py "$work/avx2.json" "$work/here.json" "vector '$q'" 0.001 AVX2 here
done
# The model file is the twin there; its vectors are the per-row file's, so both check clean.
for d in src bundle; do
    haswell --data-dir "$work/$d" check >"$work/check.txt" || { cat "$work/check.txt"; exit 1; }
done
log "ok: the directory and the bundle search alike and check clean on AVX2 alone"
