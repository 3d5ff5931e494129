#!/usr/bin/env bash
# The GPU check (issue 23): the same 1,000 corpus chunks embedded on CUDA and on the CPU through the
# `onnxruntime-gpu` build, every vector pair at cosine >= 0.999, then passages/s at batch sizes
# 32-512 against sentence-transformers with the same model on the same GPU, and GFLOP/s against the
# GPU's fp32 and fp16 peaks.
#
# It runs in two places. Here (a machine with cargo, pip and the ../shared corpus):
#   bash tools/gpu_check.sh prepare
# builds the check, picks the chunks and packs everything the GPU machine lacks (the check's binary,
# the texts, the tokenizer, the int8-weight graph and the safetensors weights the fp32 graph is rebuilt
# from, and ONNX Runtime's CUDA build) into .gpu/part-* files of at most 56 MiB: the device tool
# carries 64 MiB a call, so the parts travel one per call to a warm machine (carry .gpu/part-NN). Then,
# on the GPU machine, from the checkout's root, once every part is there:
#   bash tools/gpu_check.sh run
# unpacks, rebuilds and verifies the fp32 model (sha256 of models/SHA256SUMS), points the library path
# at the CUDA libraries of the machine's Python (its nvidia-* packages), runs the check and the peer,
# and writes results.jsonl and summary.md into $OUT (or target/gpu-check). Exit status 1 when a
# vector misses the cosine bar.
#   GPU_CHECK_DEVICE=cuda|tensorrt|cpu   what to check (cpu: a dry run of the whole flow without a GPU)
#   GPU_CHECK_BATCHES=32,64,128,256,512  GPU_CHECK_ROUNDS=3  GPU_CHECK_TEXTS=1000
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION=1.31.1
device=${GPU_CHECK_DEVICE:-cuda}
batches=${GPU_CHECK_BATCHES:-32,64,128,256,512}
rounds=${GPU_CHECK_ROUNDS:-3}
n=${GPU_CHECK_TEXTS:-1000}
parts=.gpu
stage=target/gpu-check/stage

prepare() {
    python3 tools/setup_models.py >/dev/null
    local st=tools/.cache/model.safetensors
    [ -f "$st" ] || { echo "missing $st: run python3 tools/setup_models.py from a clean models/" >&2; exit 1; }
    cargo build --release --quiet -p docvec-embed --example gpu_check
    # The chunks as docvec embeds them, spread over every format of the corpus.
    local data=target/gpu-check/data
    if [ ! -f "$data/docvec.db" ]; then
        local corpus=../shared/corpus status=0
        [ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }
        cargo build --release --quiet -p docvec-cli
        DOCVEC_DATA_DIR=$data target/release/docvec ingest "$corpus"/{docs,logs,tables,api,pdf} \
            >/dev/null || status=$?
        # Exit status 2: some files were unreadable (the corpus has such files on purpose).
        [ "$status" -eq 0 ] || [ "$status" -eq 2 ] || exit "$status"
    fi
    rm -rf "$stage" && mkdir -p "$stage/models/all-MiniLM-L6-v2" "$stage/ort" "$stage/hf"
    python3 benches/embed/texts.py "$data" "$n" "$stage/texts.jsonl"
    cp target/release/examples/gpu_check "$stage/"
    local m=models/all-MiniLM-L6-v2
    cp "$m/tokenizer.json" "$m/config.json" "$m/model-int8w.onnx" "$stage/models/all-MiniLM-L6-v2/"
    cp "$st" "$stage/hf/model.safetensors"
    # ONNX Runtime's CUDA build, from its PyPI wheel (its CPU part serves the CPU side of the check).
    local wheels=tools/.cache/wheels
    local whl
    whl=$(ls "$wheels"/onnxruntime_gpu-"$ORT_VERSION"-*.whl 2>/dev/null | head -1 || true)
    if [ -z "$whl" ]; then
        python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
            --platform manylinux_2_28_x86_64 "onnxruntime-gpu==$ORT_VERSION" -d "$wheels"
        whl=$(ls "$wheels"/onnxruntime_gpu-"$ORT_VERSION"-*.whl | head -1)
    fi
    unzip -q -j -o "$whl" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" \
        'onnxruntime/capi/libonnxruntime_providers_*.so' -d "$stage/ort"
    rm -f "$stage/ort/libonnxruntime_providers_tensorrt.so"
    rm -rf "$parts" && mkdir -p "$parts"
    tar -C "$stage" -cf - . | xz -T0 -6 | split -b 56M -d - "$parts/part-"
    ls -l "$parts"
    echo "send each .gpu/part-NN in its own device call (carry it), then: bash tools/gpu_check.sh run"
}

# The lib folders of the CUDA libraries that the machine's Python packages carry (nvidia-cublas,
# nvidia-cudnn-cu13, nvidia-cuda-runtime, nvidia-curand ...).
cuda_library_path() {
    python3 - <<'PY'
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
dirs = set()
for root in roots:
    for lib in glob.glob(os.path.join(root, "nvidia", "**", "lib*.so*"), recursive=True):
        dirs.add(os.path.dirname(lib))
print(":".join(sorted(dirs)))
PY
}

run() {
    local out=${OUT:-target/gpu-check}
    local work=/tmp/docvec-gpu-check
    mkdir -p "$out"
    rm -rf "$work" && mkdir -p "$work"
    if compgen -G "$parts/part-*" >/dev/null; then
        cat "$parts"/part-* | xz -d | tar -C "$work" -xf -
    elif [ -d "$stage" ]; then
        cp -r "$stage"/. "$work"/ # prepared on this machine: a dry run
    else
        echo "no $parts/part-* here: run 'bash tools/gpu_check.sh prepare' first" >&2
        exit 1
    fi
    local m=$work/models/all-MiniLM-L6-v2
    # onnx, safetensors and numpy: the GPU machine's Python has them; here setup_models.py put them in
    # tools/.cache/pydeps.
    PYTHONPATH=tools/.cache/pydeps${PYTHONPATH:+:$PYTHONPATH} \
        python3 tools/rebuild_fp32_onnx.py "$m/model-int8w.onnx" "$work/hf/model.safetensors" "$m/model.onnx"
    local want
    want=$(awk '$2 == "all-MiniLM-L6-v2/model.onnx" {print $1}' models/SHA256SUMS)
    echo "$want  $m/model.onnx" | sha256sum -c --quiet -
    # The peer's copy of the model: the same weights, config and tokenizer.
    cp "$m/config.json" "$m/tokenizer.json" "$work/hf/"
    echo '{"do_lower_case": true, "model_max_length": 512, "tokenizer_class": "BertTokenizer"}' \
        >"$work/hf/tokenizer_config.json"
    local library=$work/ort/libonnxruntime.so.$ORT_VERSION peer_device=cuda
    if [ "$device" = cpu ]; then
        library=$(readlink -f models/onnxruntime/libonnxruntime.so)
        peer_device=cpu
    else
        export LD_LIBRARY_PATH="$work/ort:$(cuda_library_path)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
    fi
    local results=$out/results.jsonl status=0
    "$work/gpu_check" "$work/texts.jsonl" "$work/models" "$library" "$device" "$batches" "$rounds" \
        | tee "$results" || status=$?
    if python3 -c "import sentence_transformers" 2>/dev/null; then
        python3 benches/gpu/peer.py "$work/texts.jsonl" "$work/hf" "$batches" "$rounds" "$peer_device" \
            | tee -a "$results"
    else
        echo "sentence-transformers is not installed here: no peer figures" >&2
    fi
    python3 benches/gpu/summary.py "$results" "$device" | tee "$out/summary.md"
    return "$status"
}

case ${1:-} in
prepare) prepare ;;
run) run ;;
*)
    echo "usage: bash tools/gpu_check.sh prepare|run" >&2
    exit 2
    ;;
esac
