#!/usr/bin/env bash
# PDF text extraction (issue 7): docvec (lopdf, paragraphs rebuilt per page) against pypdf,
# pdfminer.six and PyMuPDF on the corpus PDFs that all of them and poppler's pdftotext read, in one
# run; token F1 of each engine's text against pdftotext's says whether speed was bought by dropping text.
#   bash benches/pdf.sh [ROUNDS]
# Needs pdftotext (Debian poppler-utils); peers go into tools/.venv-bench from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
venv=tools/.venv-bench
command -v pdftotext >/dev/null || { echo "needs pdftotext: apt-get install poppler-utils" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import pypdf, pdfminer, pymupdf" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "pypdf==6.*" "pdfminer.six==20250506" "pymupdf==1.26.*"
cargo build --release --quiet -p docvec-parse --example pdf_bench
work=$(mktemp -d)
mapfile -t files < <("$venv/bin/python" benches/pdf/peer.py probe ../shared/corpus/pdf/*.pdf)
out=$work/results.jsonl
"$venv/bin/python" benches/pdf/peer.py run "$work" "$rounds" "${files[@]}" | tee "$out"
target/release/examples/pdf_bench "$work/docvec" 1 "$rounds" "${files[@]}" | tee -a "$out"
target/release/examples/pdf_bench "$work/docvec" "$(nproc)" "$rounds" "${files[@]}" | tee -a "$out"
echo
"$venv/bin/python" benches/pdf/summary.py "$out" "$work"
echo "raw results: $out"
