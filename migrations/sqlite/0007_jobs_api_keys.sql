-- docvec local store, schema 7: what the server needs to survive a restart. API keys (only a hash of
-- each key is kept; the key itself is shown once when made), jobs (uploads, rebuilds) with their
-- progress, and which log entries each chunk of a log holds, so searches can filter by level and time.

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,            -- public handle, shown in listings and used to revoke
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    key_hash      TEXT NOT NULL UNIQUE,        -- blake3 of the whole key, hex
    created_at    INTEGER NOT NULL,            -- unix milliseconds
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,               -- ingest, ingest_file, rebuild
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    parent_id     TEXT REFERENCES jobs(id) ON DELETE CASCADE,
    label         TEXT NOT NULL DEFAULT '',    -- file name, or what the job does
    done          INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL DEFAULT 0,
    params        TEXT NOT NULL DEFAULT '{}',  -- JSON: what was asked
    result        TEXT,                        -- JSON: what came of it
    error         TEXT,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER
);
CREATE INDEX jobs_parent ON jobs (parent_id);
CREATE INDEX jobs_created ON jobs (created_at);

-- Ordinals (in log_entries) of the first and last entry a chunk of a log holds; NULL for other formats.
ALTER TABLE search_chunks ADD COLUMN log_first INTEGER;
ALTER TABLE search_chunks ADD COLUMN log_last INTEGER;
CREATE INDEX log_entries_document_ordinal ON log_entries (document_id, ordinal);
