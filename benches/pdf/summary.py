"""Markdown summary of benches/pdf.sh: pages/s per engine, ratios, and token F1 against pdftotext.

  python summary.py RESULTS.jsonl OUT_DIR

Token F1: the texts as multisets of lower-cased words (\\w+), precision and recall against pdftotext's
words; first over all tokens of all files, then per file (mean and minimum). pdftotext is the
reference, not the truth.
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

results, out = sys.argv[1], Path(sys.argv[2])
rows = [json.loads(l) for l in open(results) if l.startswith("{")]
ref_dir = out / "pdftotext"


def words(path):
    try:
        return Counter(re.findall(r"\w+", path.read_text(encoding="utf-8", errors="replace").lower()))
    except FileNotFoundError:
        return Counter()


def f1(engine_dir):
    """Token-weighted F1 over all files (the headline), then the per-file mean and minimum."""
    scores, common_all, found_all, ref_all = [], 0, 0, 0
    for ref in sorted(ref_dir.glob("*.txt")):
        r, c = words(ref), words(engine_dir / ref.name)
        common = sum((r & c).values())
        if not r:
            continue
        common_all, found_all, ref_all = common_all + common, found_all + sum(c.values()), ref_all + sum(r.values())
        p = common / max(1, sum(c.values()))
        q = common / sum(r.values())
        scores.append(0.0 if common == 0 else 2 * p * q / (p + q))
    p, q = common_all / max(1, found_all), common_all / max(1, ref_all)
    micro = 0.0 if common_all == 0 else 2 * p * q / (p + q)
    return micro, sum(scores) / max(1, len(scores)), min(scores, default=0.0)


pages = next(r["pages"] for r in rows if r["engine"] == "pymupdf")
base = {r["engine"]: r for r in rows if r["threads"] == 1}
pypdf = pages / base["pypdf"]["seconds"]
mupdf = pages / base["pymupdf"]["seconds"]
print(f"{rows[0]['files']} PDFs, {pages} pages (PyMuPDF's count)\n")
print("| engine | threads | pages/s | vs pypdf | vs PyMuPDF | token F1 vs pdftotext (all tokens / per-file mean / min) |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    rate = pages / r["seconds"]
    d = out / ("docvec" if r["engine"] == "docvec" else r["engine"])
    micro, mean, low = f1(d)
    print(f"| {r['engine']} | {r['threads']} | {rate:.0f} | {rate / pypdf:.2f}x | {rate / mupdf:.2f}x | {micro:.4f} / {mean:.3f} / {low:.3f} |")
for r in rows:
    if r.get("failed"):
        print(f"{r['engine']} failed on: {r['failed']}")
