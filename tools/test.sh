#!/usr/bin/env bash
# The whole test suite from a fresh clone: model set-up, formatting, lints, and every test.
#   bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python3 tools/setup_models.py
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
