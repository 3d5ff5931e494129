-- docvec local store, schema 2: operations of API descriptions (OpenAPI, Swagger, Postman), one row per
-- operation, written in the same transaction as their document. Maps onto the mirror's api_endpoints.

CREATE TABLE api_endpoints (
    id             INTEGER PRIMARY KEY,
    document_id    TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal        INTEGER NOT NULL,
    method         TEXT NOT NULL,              -- upper case
    path           TEXT NOT NULL,              -- path template, webhook name, or request path
    kind           TEXT NOT NULL CHECK (kind IN ('operation', 'webhook', 'request')),
    operation_id   TEXT,
    summary        TEXT,
    description    TEXT,
    parameters     TEXT NOT NULL DEFAULT '[]', -- JSON array of {name, location, required, schema}
    request_schema TEXT,
    responses      TEXT NOT NULL DEFAULT '[]', -- JSON array of [status, schema or null]
    tags           TEXT NOT NULL DEFAULT '[]', -- JSON array
    UNIQUE (document_id, ordinal)
);
CREATE INDEX api_endpoints_method_path ON api_endpoints (method, path);
CREATE INDEX api_endpoints_document ON api_endpoints (document_id);
