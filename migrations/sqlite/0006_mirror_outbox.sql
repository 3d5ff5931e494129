-- docvec local store, schema 6: the outbox of the Supabase mirror. Every document write or delete made
-- while a mirror is configured adds a row here in the same transaction; the mirror replays rows in seq
-- order (reading the document's current local state, so a replay is idempotent) and removes each once
-- Postgres has committed it. A remote that is down leaves the rows here: writes are never lost.

CREATE TABLE mirror_outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    op           TEXT NOT NULL CHECK (op IN ('put', 'delete')),
    document_id  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,             -- unix milliseconds
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
