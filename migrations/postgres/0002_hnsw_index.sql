-- docvec mirror schema 2: the HNSW index for cosine search. Built after bulk loads when possible (a
-- backfill drops and rebuilds it with a raised maintenance_work_mem, which is several times faster).
CREATE INDEX IF NOT EXISTS search_chunks_embedding_hnsw
    ON docvec.search_chunks USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
