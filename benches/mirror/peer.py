"""The peer of docvec's mirror write path: psycopg 3 with the pgvector adapter, on the same database.

1. binary COPY into a table without an index (the fastest raw load);
2. executemany INSERT in batches of 500, one transaction per batch;
3. HNSW index build (vector_cosine_ops, m=16, ef_construction=64) with the default and a raised
   maintenance_work_mem.
Prints one JSON object.
"""
import json
import sys
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

url, data, dim = sys.argv[1], sys.argv[2], int(sys.argv[3])
vectors = np.fromfile(f"{data}/vectors.f32", dtype="<f4").reshape(-1, dim)
texts = open(f"{data}/texts.txt").read().splitlines()
n = len(vectors)
rows = [(f"doc{i // 100}", i % 100, f"key{i}", 0, texts[i], "", None, None, 256, "bench", vectors[i]) for i in range(n)]
cols = "document_id, ordinal, key, section, text, context, page_start, page_end, token_count, model_id, embedding"

with psycopg.connect(url, autocommit=True) as conn:
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(conn)
    conn.execute("DROP TABLE IF EXISTS peer_chunks")
    conn.execute(
        f"""CREATE TABLE peer_chunks (document_id text NOT NULL, ordinal integer NOT NULL, key text NOT NULL,
        section integer NOT NULL, text text NOT NULL, context text NOT NULL, page_start integer, page_end integer,
        token_count integer NOT NULL, model_id text NOT NULL, embedding vector({dim}) NOT NULL,
        meta jsonb NOT NULL DEFAULT '{{}}', created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (document_id, ordinal))"""
    )
    out = {"rows": n}

    t = time.perf_counter()
    with conn.transaction():
        with conn.cursor().copy(f"COPY peer_chunks ({cols}) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int4", "text", "int4", "text", "text", "int4", "int4", "int4", "text", "vector"])
            for r in rows:
                copy.write_row(r)
    out["copy_binary_rows_per_s"] = n / (time.perf_counter() - t)

    conn.execute("TRUNCATE peer_chunks")
    t = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(0, n, 500):
            with conn.transaction():
                cur.executemany(f"INSERT INTO peer_chunks ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows[i:i + 500])
    out["executemany_500_rows_per_s"] = n / (time.perf_counter() - t)

    for mem in ["64MB", "1GB"]:
        conn.execute("DROP INDEX IF EXISTS peer_chunks_hnsw")
        conn.execute(f"SET maintenance_work_mem = '{mem}'")
        t = time.perf_counter()
        conn.execute("CREATE INDEX peer_chunks_hnsw ON peer_chunks USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
        out[f"hnsw_build_s_{mem}"] = time.perf_counter() - t
    conn.execute("DROP TABLE peer_chunks")
print(json.dumps(out))
