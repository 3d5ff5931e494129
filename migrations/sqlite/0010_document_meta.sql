-- docvec local store, schema 10: each document's own metadata (`--meta`, an upload's `metadata`, a
-- `*.meta.json` sidecar): a flat JSON object searches filter by (json_each over each key's value).

ALTER TABLE documents ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
