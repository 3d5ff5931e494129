#!/usr/bin/env bash
# Fuzz the parsers: tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]   (default 60 s, every target)
#
# Builds the cargo-fuzz targets in fuzz/ (RUSTC_BOOTSTRAP=1 lets the stable toolchain use the
# sanitizer flags), seeds each target's corpus with real files of its format from ../shared/corpus
# (copied into the ignored fuzz/corpus/, never committed) and samples/, then runs each target for the
# given time. Crashing inputs land in fuzz/artifacts/TARGET/; keep each one as a regression input under
# crates/docvec-parse/tests/fuzz-regressions/TARGET/ once fixed. `tools/fuzz.sh build` only builds;
# `build-check` builds quickly without sanitizers (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1

all=(parse_text parse_markdown parse_html parse_pdf parse_openapi parse_postman parse_log parse_csv parse_spreadsheet query)
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi
if [ "${1:-}" = build ]; then
    exec cargo fuzz build -O
fi
if [ "${1:-}" = build-check ]; then
    exec cargo fuzz build --dev --sanitizer none
fi
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

seeds_for() {
    case "$1" in
        parse_text) echo "txt" ;;
        parse_markdown) echo "md" ;;
        parse_html) echo "html htm" ;;
        parse_pdf) echo "pdf" ;;
        parse_openapi) echo "yaml yml json" ;;
        parse_postman) echo "json" ;;
        parse_log) echo "log jsonl xml" ;;
        parse_csv) echo "csv tsv" ;;
        parse_spreadsheet) echo "xlsx xls ods" ;;
        query) echo "query" ;;
    esac
}

for t in "${targets[@]}"; do
    dir="fuzz/corpus/$t"
    mkdir -p "$dir"
    for ext in $(seeds_for "$t"); do
        for src in ../shared/corpus samples fuzz/seeds/"$t" crates/docvec-parse/tests/fuzz-regressions/"$t"; do
            [ -d "$src" ] || continue
            find "$src" -type f -name "*.$ext" -size -2M -exec cp -n {} "$dir/" \;
        done
    done
    echo "== $t: $(ls "$dir" | wc -l) seeds, ${secs}s"
    cargo fuzz run "$t" -O "$dir" -- -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=1048576
done
