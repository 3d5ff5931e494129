#!/usr/bin/env bash
# docvec for aarch64 (Jetson Orin, Raspberry Pi 4/5, Graviton), cross-built here on x86_64 with
# Debian's Rust toolchain and tested under qemu-user. rustup cannot add targets on our machines;
# Debian's rustc-web/cargo-web 1.96 with the arm64 standard library can.
#
#   bash tools/cross.sh            # install what is missing, build, test under qemu, end-to-end check
#   bash tools/cross.sh install    # only the toolchain (apt, as root)
#   bash tools/cross.sh build      # target/cross/aarch64-unknown-linux-gnu/release/docvec (slim build)
#   bash tools/cross.sh test       # the index, parse, chunk, store and fulltext tests under qemu
#   bash tools/cross.sh e2e        # ingest + search of corpus files and a bundle, run under qemu
#
# What runs under qemu: every unit and integration test of the five crates (doc tests need a rustdoc
# for the target, which Debian's toolchain does not put first on PATH), built in release mode (under
# emulation optimised code runs the whole index suite in seconds; with docvec-testkit unifying the
# features, the tests reuse the binary's dependency builds); the index kernels and walks once more on
# a CPU without the dot-product extension. The end-to-end check (tools/cross_e2e.sh) ingests a few
# corpus files with the aarch64 ONNX Runtime library (onnxruntime 1.31.1, manylinux_2_28_aarch64
# wheel), searches them, and searches a bundle exported by the x86_64 build during an ingest,
# expecting the x86_64 build's hits.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
CROSS_TARGET_DIR=${DOCVEC_CROSS_TARGET_DIR:-target/cross}
BIN=$CROSS_TARGET_DIR/$TARGET/release/docvec
# The cross package's loader with the cross package's libc: left to itself it finds the arm64 multiarch
# libc.so.6 (another 2.36 build, pulled in by libstd-rust-web-dev:arm64), and any program that starts
# a thread then hangs under qemu, spinning.
export QEMU="qemu-aarch64 -L $SYSROOT -E LD_LIBRARY_PATH=$SYSROOT/lib"
PACKAGES=(rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++6-arm64-cross qemu-user file)

log() { echo "cross.sh: $*" >&2; }

install() {
    if dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1; then
        return
    fi
    log "installing the aarch64 toolchain from Debian: ${PACKAGES[*]}"
    dpkg --add-architecture arm64
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null
}

# DOCVEC_CROSS_QUICK=1 (what tools/test.sh sets) builds at opt-level 1 without line tables: CI's
# aarch64 builds take some 5 minutes less, and the emulated tests and end-to-end check still run in
# seconds. Left unset, the binary is the release build a device gets.
quick=()
if [ "${DOCVEC_CROSS_QUICK:-0}" = 1 ]; then
    quick=(CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false)
fi

# Debian's cargo would call rustup's rustc (first on PATH), which has no aarch64 standard library.
cross_cargo() {
    env "${quick[@]}" RUSTC=/usr/bin/rustc \
        CARGO_TARGET_DIR="$CROSS_TARGET_DIR" \
        CARGO_INCREMENTAL=0 \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
        AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$QEMU" \
        /usr/bin/cargo "$@"
}

build() {
    log "building the slim docvec for $TARGET ($(/usr/bin/rustc --version))"
    cross_cargo build --release --locked --target "$TARGET" -p docvec-cli --no-default-features
    file "$BIN" 2>/dev/null || true
}

# The same packages in every test run: another set resolves features differently and rebuilds.
TESTED=(-p docvec-index -p docvec-parse -p docvec-chunk -p docvec-store -p docvec-fulltext)

run_tests() {
    log "index, parse, chunk, store and fulltext tests under qemu"
    cross_cargo test --release --locked --target "$TARGET" --tests "${TESTED[@]}"
    # qemu's default CPU has the dot-product extension (the sdot walk); a Cortex-A53 has not (smlal).
    # The names are the index's kernel and walk tests; the other crates have none by them.
    log "index kernels and walks on a CPU without dotprod (QEMU_CPU=cortex-a53)"
    QEMU_CPU=cortex-a53 cross_cargo test --release --locked --target "$TARGET" --tests "${TESTED[@]}" \
        -- kernel quant:: the_byte_code_walk
}

e2e() {
    bash tools/cross_e2e.sh "$BIN"
}

case "${1:-all}" in
    install) install ;;
    build) install && build ;;
    test) install && run_tests ;;
    e2e) install && build && e2e ;;
    all) install && build && run_tests && e2e ;;
    *) echo "usage: bash tools/cross.sh [install|build|test|e2e]" >&2; exit 2 ;;
esac
