"""Whether two `docvec search --json` answers to one query are the same hits, as two machines' docvecs
give them (tools/cross_e2e.sh, tools/avx2_check.sh):

    python3 tools/same_hits.py A.json B.json WHAT TOLERANCE [NAME_A NAME_B]

Same chunk keys (content hashes, the same on every machine), scores within TOLERANCE, in the same order
but for near-ties: two hits whose scores lie within the tolerance may swap places, and the last place
may go to another chunk that ties with it. Exits non-zero, saying why, when they differ.
"""

import json
import sys


def main() -> None:
    a_file, b_file, what, tolerance = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    na, nb = sys.argv[5:7] if len(sys.argv) > 6 else ("A", "B")
    a, b = json.load(open(a_file)), json.load(open(b_file))
    ka, kb = [h["chunk_key"] for h in a], [h["chunk_key"] for h in b]
    both = f"{na} {ka}, {nb} {kb}"
    assert a and len(a) == len(b), f"{what}: {both}"
    sa, sb = {h["chunk_key"]: h["score"] for h in a}, {h["chunk_key"]: h["score"] for h in b}
    floor = min(a[-1]["score"], b[-1]["score"])
    for key, score in [(k, sa[k]) for k in ka if k not in sb] + [(k, sb[k]) for k in kb if k not in sa]:
        assert score - floor < tolerance, f"{what}: {key} ({score}) in one list only, above the cut-off: {both}"
    common = [k for k in ka if k in sb]
    worst = max(abs(sa[k] - sb[k]) for k in common)
    assert worst < tolerance, f"{what}: scores differ by {worst} (tolerance {tolerance})"
    order_b = [k for k in kb if k in sa]
    for i, x in enumerate(common):
        for y in common[i + 1:]:
            if order_b.index(x) > order_b.index(y):
                assert sa[x] - sa[y] < tolerance, f"{what}: {x} and {y} swapped, scores {sa[x]} and {sa[y]}: {both}"
    swapped = "" if ka == kb else f", near-ties reordered: {sum(k not in sb for k in ka)} at the cut-off"
    print(f"  {what}: {len(a)} hits agree (scores within {worst:.1e}{swapped})")


if __name__ == "__main__":
    main()
