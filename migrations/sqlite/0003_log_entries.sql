-- docvec local store, schema 3: entries of log files, one row per entry (multi-line entries whole),
-- written in the same transaction as their document. Maps onto the mirror's log_entries.

CREATE TABLE log_entries (
    id           INTEGER PRIMARY KEY,
    document_id  TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    line         INTEGER NOT NULL,              -- 1-based first line in the file
    end_line     INTEGER NOT NULL,
    ts           TEXT,                          -- ISO 8601, NULL when the format has no full date
    level        TEXT,                          -- canonical: TRACE DEBUG INFO NOTICE WARN ERROR FATAL
    component    TEXT,
    host         TEXT,
    pid          TEXT,
    message      TEXT NOT NULL,
    raw          TEXT NOT NULL,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX log_entries_level_component_ts ON log_entries (level, component, ts);
CREATE INDEX log_entries_ts ON log_entries (ts);
CREATE INDEX log_entries_document ON log_entries (document_id);
