#!/usr/bin/env bash
# The per-row int8 build (the default with AMX) on an x86-64 CPU without int8 dot products, emulated by
# qemu-user (`-cpu Haswell`: AVX2, no AVX-512, no VNNI), in one run:
#   fp32       the exact fp32 build, natively: the reference
#   rows       the per-row file natively (this CPU's kernel), and under qemu (VPMADDUBSW, saturating)
#   rows-u8    its unsigned twin under qemu (uint8 x uint8, exact), the file docvec loads there
# Prints each one's cosine to fp32 on N CISI queries and N CISI abstracts, each embedded alone.
#   bash benches/avx2.sh [N]
# Needs qemu-user (apt-get install qemu-user; 7.2 or later emulates AVX2). Emulation runs ~100x slower
# than the CPU: N=68 takes about 40 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-68}
cisi=${DOCVEC_CORPUS:-../shared/corpus}/ir/cisi
venv=tools/.venv-bench
python3 tools/setup_models.py >/dev/null
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import onnxruntime, tokenizers, numpy; assert onnxruntime.__version__ == '1.31.1'" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "onnxruntime==1.31.1" "tokenizers==0.22.*" "numpy==2.*"
py=$(readlink -f "$venv/bin/python")  # qemu-user runs the interpreter itself, not a venv's symlink to it
site=$("$venv/bin/python" -c 'import onnxruntime, os; print(os.path.dirname(os.path.dirname(onnxruntime.__file__)))')
haswell() { PYTHONPATH=$site qemu-x86_64 -cpu Haswell "$py" "$@" 2> >(grep -v "TCG doesn't support" >&2); }
m=models/all-MiniLM-L6-v2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" benches/embed/avx2.py tokenize "$cisi" "$n" "$work/ids.npz"
for f in model model-int8-rows model-int8-rows-u8; do
    "$venv/bin/python" benches/embed/avx2.py embed "$m/$f.onnx" "$work/ids.npz" "$work/$f.native.npy"
done
# The two emulated runs side by side, one core each.
for f in model-int8-rows model-int8-rows-u8; do
    haswell benches/embed/avx2.py embed "$m/$f.onnx" "$work/ids.npz" "$work/$f.haswell.npy" &
done
wait
"$venv/bin/python" benches/embed/avx2.py compare "$work/model.native.npy" "$work"/model-int8-rows*.npy
"$venv/bin/python" benches/embed/avx2.py compare "$work/model-int8-rows.native.npy" "$work/model-int8-rows-u8.haswell.npy"
