#!/usr/bin/env bash
# The Python package (crates/docvec-py): a wheel built with maturin from the same crates as the
# `docvec` command, installed in a virtual environment and tested there with pytest against the real
# model and the shared corpus.
#   bash tools/python.sh wheel     # target/wheels/docvec-<version>-cp3XX-...whl (release build)
#   bash tools/python.sh test      # the wheel, installed in target/python-venv, then pytest
#   pip install target/wheels/docvec-*.whl
# Set DOCVEC_PY_PROFILE=dev for a quicker unoptimised wheel while working on the bindings.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/python-venv
py=$venv/bin/python
# Build and test tools, pinned (PyPI is the one registry this project may reach).
tools=(maturin==1.16.0 numpy==2.4.6 pytest==9.2.0)

setup_venv() {
    [ -x "$py" ] || python3 -m venv "$venv"
    "$py" -m pip install -q --disable-pip-version-check "${tools[@]}"
}

build_wheel() {
    setup_venv
    local profile=${DOCVEC_PY_PROFILE:-release}
    rm -rf target/wheels/docvec-*.whl
    "$venv/bin/maturin" build --locked --profile "$profile" -i "$py" \
        -m crates/docvec-py/Cargo.toml -o target/wheels >&2
    ls target/wheels/docvec-*.whl
}

case "${1:-test}" in
wheel) build_wheel ;;
test)
    # The tests embed with the real model (fetched once, sha256-checked; quick when present).
    python3 tools/setup_models.py >&2
    wheel=$(build_wheel)
    "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
    # From the repository root, so the engine finds models/ as the `docvec` command does; the
    # package imported is the installed wheel (crates/docvec-py/python is not on the path).
    "$py" -m pytest -q -p no:cacheprovider crates/docvec-py/tests
    ;;
*)
    echo "usage: bash tools/python.sh [wheel|test]" >&2
    exit 2
    ;;
esac
