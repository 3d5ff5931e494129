"""Where the points go: docvec's per-query nDCG@10 (`docvec eval --per-query`) beside the Python
reference's (`benches/quality/reference.py --per-query`), on the same collection.

    python3 benches/quality/compare.py REFERENCE.tsv DOCVEC.tsv [--pair bm25=keyword] [--worst 10]

For each pair (reference method = docvec setting; by default bm25=keyword, dense=vector,
rrf="hybrid rrf k=60" or hybrid), prints both means, how many queries each side wins, and the queries
where docvec loses most, so a fix starts from real queries (tokenisation, stemming, titles, chunk to
document scoring, candidate depth).
"""

import argparse
import sys
from collections import defaultdict

DEFAULT_PAIRS = [("bm25", "keyword"), ("dense", "vector"), ("rrf", "hybrid rrf k=60"), ("rrf", "hybrid")]


def read(path):
    runs = defaultdict(dict)
    for line in open(path, encoding="utf-8"):
        name, qid, value = line.rstrip("\n").split("\t")
        runs[name][qid] = float(value)
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("docvec")
    ap.add_argument("--pair", action="append", default=[], help="REFERENCE_METHOD=DOCVEC_SETTING")
    ap.add_argument("--worst", type=int, default=8)
    args = ap.parse_args()
    ref, dv = read(args.reference), read(args.docvec)
    pairs = [tuple(p.split("=", 1)) for p in args.pair] or DEFAULT_PAIRS
    for r, d in pairs:
        if r not in ref or d not in dv:
            continue
        qids = sorted(set(ref[r]) & set(dv[d]))
        if not qids:
            continue
        mean_r = sum(ref[r][q] for q in qids) / len(qids)
        mean_d = sum(dv[d][q] for q in qids) / len(qids)
        wins = sum(dv[d][q] > ref[r][q] + 1e-9 for q in qids)
        losses = sum(dv[d][q] + 1e-9 < ref[r][q] for q in qids)
        print(f"{r} {mean_r:.4f} vs docvec {d} {mean_d:.4f} ({mean_d - mean_r:+.4f}); "
              f"docvec better on {wins}, worse on {losses} of {len(qids)} queries")
        worst = sorted(qids, key=lambda q: dv[d][q] - ref[r][q])[: args.worst]
        for q in worst:
            print(f"    query {q}: reference {ref[r][q]:.3f}, docvec {dv[d][q]:.3f}")


if __name__ == "__main__":
    sys.exit(main())
