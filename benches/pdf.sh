#!/usr/bin/env bash
# PDF text extraction (issues 7 and 17): docvec (its own content-stream interpreter over lopdf) against
# pypdf, pdfminer.six and PyMuPDF on the corpus PDFs that all of them and poppler's pdftotext read, in
# one run; token F1 of each engine's text against pdftotext's, over all tokens and per file, says
# whether speed was bought by dropping or gluing words. Then the password path: the corpus's
# encrypted files through DOCVEC_PDF_PASSWORD.
#   bash benches/pdf.sh [ROUNDS]
# Needs pdftotext (Debian poppler-utils); peers go into tools/.venv-bench from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
venv=tools/.venv-bench
corpus=../shared/corpus/pdf
command -v pdftotext >/dev/null || { echo "needs pdftotext: apt-get install poppler-utils" >&2; exit 1; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import pypdf, pdfminer, pymupdf" 2>/dev/null \
    || "$venv/bin/pip" install --quiet "pypdf==6.*" "pdfminer.six==20250506" "pymupdf==1.26.*"
cargo build --release --quiet -p docvec-parse --example pdf_bench
bench=${CARGO_TARGET_DIR:-target}/release/examples/pdf_bench
work=$(mktemp -d)
mapfile -t files < <("$venv/bin/python" benches/pdf/peer.py probe "$corpus"/*.pdf)
out=$work/results.jsonl
"$venv/bin/python" benches/pdf/peer.py run "$work" "$rounds" "${files[@]}" | tee "$out"
"$bench" "$work/docvec" 1 "$rounds" "${files[@]}" | tee -a "$out"
"$bench" "$work/docvec" "$(nproc)" "$rounds" "${files[@]}" | tee -a "$out"
echo
"$venv/bin/python" benches/pdf/summary.py "$out" "$work"

echo
echo "Password path (DOCVEC_PDF_PASSWORD):"
while read -r file password; do
    for pw in "" "not-it" "$password"; do
        if [ -n "$pw" ]; then export DOCVEC_PDF_PASSWORD=$pw; else unset DOCVEC_PDF_PASSWORD; fi
        result=$("$bench" "$work/password" 1 1 "$corpus/$file" \
            | "$venv/bin/python" -c 'import json, sys; r = json.load(sys.stdin)
print("read, %d pages" % r["pages"] if not r["failed"] else r["failed"][0]["error"])')
        echo "- $file, password ${pw:-(none)}: $result"
    done
    unset DOCVEC_PDF_PASSWORD
done <<'EOF'
pypdf-libreoffice-writer-password.pdf openpassword
qpdf-enc-R3-V2-RC4-user_view-owner_master.pdf view
EOF
echo "raw results: $out"
