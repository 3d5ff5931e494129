-- Vectors of the next model while a rebuild switches models. The serving vectors in chunk_embeddings stay
-- untouched until every chunk has a staged vector; then one transaction moves them over and records the
-- new model in store_meta. Rows of deleted chunks go with them.
CREATE TABLE staged_embeddings (
    chunk_id      INTEGER PRIMARY KEY REFERENCES search_chunks(id) ON DELETE CASCADE,
    model_id      TEXT NOT NULL,
    vector        BLOB NOT NULL
);
