-- docvec local store, schema 5: the source file behind each document (artifacts), tags of documents and
-- chunks, facts with their evidence, and where each table row stands in its source. Written in the same
-- transaction as their document. Maps onto the mirror's artifacts, tags, facts and evidence.

CREATE TABLE artifacts (
    id            INTEGER PRIMARY KEY,
    document_id   TEXT NOT NULL UNIQUE REFERENCES documents(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL DEFAULT 'source',
    uri           TEXT NOT NULL,               -- the file's canonical path
    content_hash  TEXT NOT NULL,               -- blake3 of the file's bytes
    size_bytes    INTEGER NOT NULL,
    media_type    TEXT NOT NULL,
    created_at    INTEGER NOT NULL             -- unix milliseconds
);

-- A tag of a document (chunk_ordinal NULL) or of one of its chunks. Names are lower case.
CREATE TABLE tags (
    id            INTEGER PRIMARY KEY,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    chunk_ordinal INTEGER,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('format', 'user', 'keyphrase')),
    score         REAL                         -- keyphrase relevance in (0, 1]
);
CREATE INDEX tags_name ON tags (name);
CREATE INDEX tags_document_name ON tags (document_id, name);

CREATE TABLE facts (
    id            INTEGER PRIMARY KEY,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('table_cell', 'label_value')),
    key           TEXT NOT NULL,               -- label or column header as written
    key_norm      TEXT NOT NULL,               -- lower case, single spaces: what --key matches
    value         TEXT NOT NULL,
    subject       TEXT,                        -- the row's label for a table cell
    number        REAL,
    unit          TEXT,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX facts_key ON facts (key_norm);

-- Where a fact stands: one row per fact, sharing the fact's id.
CREATE TABLE evidence (
    id            INTEGER PRIMARY KEY,
    fact_id       INTEGER NOT NULL UNIQUE REFERENCES facts(id) ON DELETE CASCADE,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    artifact_id   INTEGER REFERENCES artifacts(id) ON DELETE CASCADE,
    section       INTEGER,
    page          INTEGER,
    sheet         TEXT,
    table_ordinal INTEGER,
    row_number    INTEGER,
    column_number INTEGER,
    line          INTEGER,
    char_start    INTEGER,
    char_end      INTEGER,
    scope         TEXT CHECK (scope IN ('file', 'page', 'section')),
    snippet       TEXT NOT NULL
);
CREATE INDEX evidence_document ON evidence (document_id);

ALTER TABLE document_tables ADD COLUMN source_rows TEXT NOT NULL DEFAULT '[]';
