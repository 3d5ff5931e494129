"""Write the embedding inputs of an ingested data dir as JSON lines, in ingest order.

  python texts.py DATA_DIR N OUT.jsonl

Takes N chunks spread evenly over the whole store (every k-th chunk, so every document type keeps its
share and neighbouring chunks of one document are not all taken), exactly as docvec embeds them:
heading context, a blank line, the text.
"""

import json
import sqlite3
import sys

data, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
db = sqlite3.connect(f"file:{data}/docvec.db?mode=ro", uri=True)
rows = db.execute(
    "SELECT CASE WHEN context = '' THEN text ELSE context || char(10) || char(10) || text END "
    "FROM search_chunks ORDER BY id"
).fetchall()
step = max(1, len(rows) // n)
picked = rows[::step][:n]
with open(out, "w", encoding="utf-8") as f:
    for (text,) in picked:
        f.write(json.dumps({"text": text}) + "\n")
print(f"{len(picked)} of {len(rows)} chunks -> {out}", file=sys.stderr)
