-- docvec local store, schema 9: where each chunk came from. A chunk's span (JSON: byte offsets and
-- lines of the stored text, pages, table rows, API operation) and each document's stored text, the
-- text those offsets point into (the file itself for formats read as text, the parser's rendering of
-- PDFs, HTML and workbooks). Chunks stored before this have no span until their file is ingested again.

ALTER TABLE search_chunks ADD COLUMN span TEXT;

CREATE TABLE document_text (
    document_id   TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    text          TEXT NOT NULL
);
