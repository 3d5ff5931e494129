-- docvec local store, schema 11: chunks by embedding-input hash, so an ingest looks up whether an input
-- was already embedded in any document (repeated table rows, boilerplate across files) and reuses its
-- stored vector instead of running the model on it again.

CREATE INDEX search_chunks_input_hash ON search_chunks (input_hash);
