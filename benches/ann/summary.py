"""Markdown summary of benches/ann.sh's JSON lines: build times, and each engine's QPS at recall@10 = 0.95
exactly (interpolated between the two ef_search values around it, log-linear in QPS), as ratios of
docvec to each peer: equal recall, whatever ef each needs for it."""

import json
import math
import sys

TARGET = 0.95
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
engines = []
builds = {}
points = {}
for r in rows:
    e = r["engine"]
    if e not in engines:
        engines.append(e)
    if "build_s" in r:
        builds.setdefault(e, []).append(r)
    else:
        points.setdefault((e, r["ef"]), []).append(r)

# Several runs (benches/ann.sh takes turns): per engine and ef, the mean recall (each run builds its
# own graph) and the best QPS; the fastest build and the median memory.
runs = max(len(b) for b in builds.values())
build = {}
for e, bs in builds.items():
    b = dict(min(bs, key=lambda x: x["build_s"]))
    mem = sorted(x.get("bytes_per_vector", 0) for x in bs)
    b["bytes_per_vector"] = mem[len(mem) // 2]
    build[e] = b
sweep = {}
for (e, ef), ps in points.items():
    sweep.setdefault(e, []).append({
        "ef": ef,
        "recall": sum(p["recall"] for p in ps) / len(ps),
        "qps_1": max(p["qps_1"] for p in ps),
        "qps_all": max(p["qps_all"] for p in ps),
    })
for e in sweep:
    sweep[e].sort(key=lambda p: p["ef"])

first = build[engines[0]]
print(f"{first['n']} vectors, {first['dim']}-d, M={first['m']}, ef_construction={first['ef_construction']}, "
      f"{first['threads']} threads for building and for the all-core column; best of {runs} run(s) taken in turns\n")
def at_recall(points, key):
    """QPS at recall TARGET, interpolated between the sweep points around it."""
    for lo, hi in zip(points, points[1:]):
        if lo["recall"] < TARGET <= hi["recall"]:
            t = (TARGET - lo["recall"]) / (hi["recall"] - lo["recall"])
            return math.exp(math.log(lo[key]) + t * (math.log(hi[key]) - math.log(lo[key])))
    if points[0]["recall"] >= TARGET:
        return points[0][key]
    return float("nan")


print("| engine | build (s) | index bytes per vector (RSS) | QPS at recall@10 0.95, 1 thread | QPS at recall@10 0.95, all cores |")
print("|---|---|---|---|---|")
at = {}
for e in engines:
    at[e] = (at_recall(sweep[e], "qps_1"), at_recall(sweep[e], "qps_all"))
    print(f"| {e} | {build[e]['build_s']:.2f} | {build[e].get('bytes_per_vector', 0):,} | {at[e][0]:,.0f} | {at[e][1]:,.0f} |")
d = at["docvec"]
print()
for e in engines[1:]:
    p = at[e]
    print(f"- docvec / {e}: QPS {d[0] / p[0]:.2f}x on one thread, {d[1] / p[1]:.2f}x on all cores; "
          f"build time {build['docvec']['build_s'] / build[e]['build_s']:.2f}x (lower is better)")
print("\n| ef | " + " | ".join(f"{e} recall / QPS 1t" for e in engines) + " |")
print("|---|" + "---|" * len(engines))
for i, r in enumerate(sweep["docvec"]):
    cells = []
    for e in engines:
        s = sweep[e][i]
        cells.append(f"{s['recall']:.4f} / {s['qps_1']:,.0f}")
    print(f"| {r['ef']} | " + " | ".join(cells) + " |")
