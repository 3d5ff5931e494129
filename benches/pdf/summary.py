"""Markdown summary of benches/pdf.sh: pages/s per engine, token F1 against pdftotext over all tokens
and per file (mean, minimum and a per-file table for every engine), the issue's targets, and the
outline entries docvec made sections of.

  python summary.py RESULTS.jsonl OUT_DIR

Token F1: each text NFKC-normalised (a ligature counts as its letters: pdftotext keeps "ﬁ", docvec
indexes "fi"), lower-cased, split into \\w+ words, compared as multisets with pdftotext's words.
pdftotext is the reference, not the truth. The all-tokens figure weighs files by size, so one long
manual dominates it; the per-file mean and minimum weigh every file the same.
"""

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

results, out = sys.argv[1], Path(sys.argv[2])
rows = [json.loads(l) for l in open(results) if l.startswith("{")]
ref_dir = out / "pdftotext"
refs = sorted(p for p in ref_dir.glob("*.txt"))


def words(path):
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Counter()
    return Counter(re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower()))


REF = {p.stem: words(p) for p in refs}


def per_file(engine_dir):
    """{stem: (F1, common, found, wanted)} for every file pdftotext read words from."""
    scores = {}
    for stem, r in REF.items():
        if not r:
            continue
        c = words(engine_dir / f"{stem}.txt")
        common, found, wanted = sum((r & c).values()), sum(c.values()), sum(r.values())
        p, q = common / max(1, found), common / wanted
        scores[stem] = (0.0 if common == 0 else 2 * p * q / (p + q), common, found, wanted)
    return scores


def micro(scores):
    common = sum(s[1] for s in scores.values())
    p = common / max(1, sum(s[2] for s in scores.values()))
    q = common / max(1, sum(s[3] for s in scores.values()))
    return 0.0 if common == 0 else 2 * p * q / (p + q)


engines = []
for r in rows:
    if r["engine"] not in engines:
        engines.append(r["engine"])
scores = {e: per_file(out / e) for e in engines}
pages = next(r["pages"] for r in rows if r["engine"] == "pymupdf")
base = {r["engine"]: r for r in rows if r["threads"] == 1}
pypdf = pages / base["pypdf"]["seconds"]
mupdf = pages / base["pymupdf"]["seconds"]

print(f"{rows[0]['files']} PDFs, {pages} pages (PyMuPDF's count)\n")
print("| engine | threads | pages/s | vs pypdf | vs PyMuPDF | token F1: all tokens | per-file mean | per-file min |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    rate = pages / r["seconds"]
    s = scores[r["engine"]]
    f = [v[0] for v in s.values()]
    print(f"| {r['engine']} | {r['threads']} | {rate:,.0f} | {rate / pypdf:.2f}x | {rate / mupdf:.2f}x | "
          f"{micro(s):.4f} | {sum(f) / len(f):.3f} | {min(f):.3f} |")

print("\nToken F1 against pdftotext, per file:\n")
print("| file | pdftotext words | " + " | ".join(engines) + " |")
print("|---|---:|" + "---:|" * len(engines))
for stem, r in REF.items():
    if r:
        cells = " | ".join(f"{scores[e][stem][0]:.3f}" for e in engines)
        print(f"| {stem} | {sum(r.values()):,} | {cells} |")

if "docvec" in scores:
    d, m = scores["docvec"], scores["pymupdf"]
    mean = lambda s: sum(v[0] for v in s.values()) / len(s)
    low = [k for k in d if m[k][0] > 0.95 and d[k][0] < 0.9]
    speed = (pages / base["docvec"]["seconds"]) / mupdf
    print("\nTargets (issue 17):")
    print(f"- per-file mean F1 >= PyMuPDF's: {mean(d):.3f} vs {mean(m):.3f}: "
          f"{'holds' if mean(d) >= mean(m) else 'does not hold'}")
    print(f"- no file below 0.9 where PyMuPDF is above 0.95: "
          f"{'holds' if not low else 'does not hold: ' + ', '.join(low)}")
    print(f"- pages/s on one thread >= 1.0x PyMuPDF's: {speed:.2f}x: "
          f"{'holds' if speed >= 1.0 else 'does not hold'}")

meta = sorted((out / "docvec").glob("*.meta.json"))
outlined = [json.loads(p.read_text()) for p in meta]
outlined = [m for m in outlined if m.get("outline_entries")]
if outlined:
    total = sum(m["outline_entries"] for m in outlined)
    placed = sum(m["outline_entries_placed"] for m in outlined)
    titled = sum(m["titled_sections"] for m in outlined)
    print(f"\nOutlines: {len(outlined)} files, {total} entries, {placed} placed as section starts "
          f"({placed / total:.1%}), {titled} titled sections")
for r in rows:
    if r.get("failed"):
        print(f"{r['engine']} failed on: {r['failed']}")
