-- docvec local store, schema 1: documents, their sections and chunks, chunk embeddings, and the log the
-- vector index replays to catch up. Table names follow the Supabase schema of the mirror
-- (documents, document_sections, search_chunks ...) where one exists.

CREATE TABLE documents (
    id            TEXT PRIMARY KEY,            -- stable id from the canonical path
    path          TEXT NOT NULL UNIQUE,
    content_hash  TEXT NOT NULL,               -- blake3 of the file's bytes
    format        TEXT NOT NULL,
    title         TEXT,
    size_bytes    INTEGER NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}',  -- JSON object (page count, producer ...)
    tags          TEXT NOT NULL DEFAULT '[]',  -- JSON array of tags given at ingest
    chunk_count   INTEGER NOT NULL,
    model_id      TEXT NOT NULL,               -- model that embedded its chunks
    created_at    INTEGER NOT NULL,            -- unix milliseconds
    updated_at    INTEGER NOT NULL
);

CREATE TABLE document_sections (
    id            INTEGER PRIMARY KEY,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    heading       TEXT,
    level         INTEGER NOT NULL,
    heading_path  TEXT NOT NULL,               -- "Guide > Install"
    page_start    INTEGER,
    page_end      INTEGER,
    UNIQUE (document_id, ordinal)
);

-- AUTOINCREMENT: a chunk id is the vector's label in the HNSW index and must never be reused, or a
-- stale index entry could point at a new chunk.
CREATE TABLE search_chunks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL,               -- stable id from document, position and content
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    section_id    INTEGER NOT NULL REFERENCES document_sections(id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    text          TEXT NOT NULL,
    context       TEXT NOT NULL,               -- heading context embedded with the text
    input_hash    TEXT NOT NULL,               -- blake3 of the embedding input, to reuse vectors
    page_start    INTEGER,
    page_end      INTEGER,
    token_count   INTEGER NOT NULL,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX search_chunks_key ON search_chunks (key);
CREATE INDEX search_chunks_section ON search_chunks (section_id);

CREATE TABLE chunk_embeddings (
    chunk_id      INTEGER PRIMARY KEY REFERENCES search_chunks(id) ON DELETE CASCADE,
    model_id      TEXT NOT NULL,
    dimension     INTEGER NOT NULL,
    vector        BLOB NOT NULL                -- little-endian f32 x dimension, unit length
);

-- Every change to the set of indexed chunks, in commit order, written in the same transaction as the
-- change itself. The vector index records the last seq it applied and replays the rest on start.
CREATE TABLE index_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    op            TEXT NOT NULL CHECK (op IN ('add', 'delete')),
    chunk_id      INTEGER NOT NULL
);

CREATE TABLE store_meta (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);
