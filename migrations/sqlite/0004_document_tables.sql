-- docvec local store, schema 4: tables found in documents (a CSV file, the sheets of a workbook), with
-- header, rows and column types as JSON, written in the same transaction as their document. Maps onto
-- the mirror's document_tables.

CREATE TABLE document_tables (
    id            INTEGER PRIMARY KEY,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal       INTEGER NOT NULL,
    name          TEXT,                        -- sheet name; NULL for a CSV file
    header        TEXT NOT NULL,               -- JSON array of column names
    column_types  TEXT NOT NULL,               -- JSON array: empty|integer|float|boolean|date|text
    rows          TEXT NOT NULL,               -- JSON array of arrays of cell text
    row_count     INTEGER NOT NULL,
    column_count  INTEGER NOT NULL,
    header_row    INTEGER NOT NULL,            -- 1-based record or sheet row of the header
    delimiter     TEXT,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX document_tables_document ON document_tables (document_id);
