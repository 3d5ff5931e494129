-- docvec mirror schema 1, for Supabase (Postgres + pgvector). Table names match the local SQLite store.
-- `{{DIM}}` is replaced by the model's dimension when the migration runs; every statement is idempotent.
--
-- The tables live in a schema of their own, `docvec`, not in `public`:
--   * Supabase's API (PostgREST) serves the schemas listed under "Exposed schemas" (`public` by default),
--     and Supabase's default privileges give `anon` and `authenticated` every privilege on each table
--     made in `public`. `docvec` is not exposed and grants them nothing, so the mirror stays private even
--     before row-level security (migration 3) adds a second lock. Apps search it through the functions of
--     migration 4 once the opt-in template migrations/supabase/read_only_search.sql grants them.
--   * `documents`, `tags`, `facts`, `jobs` are common names: in `public` they collide with an app's own
--     tables (LangChain's Supabase recipe makes `public.documents`), and `CREATE TABLE IF NOT EXISTS` would
--     keep the app's table and fail on it, or write into it.
--   * What docvec owns is in one place, to grant, back up or drop (`DROP SCHEMA docvec CASCADE`).
-- docvec qualifies every name (`docvec.documents`), so no search_path setting is needed, which
-- transaction poolers would not carry anyway.

CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS docvec;

-- Deployments made before the schema existed hold these tables in `public` (`public.docvec_meta` marks
-- them). They move, with their rows, indexes, constraints and owner; `docvec migrate` then applies every
-- migration again over them (all idempotent). The grants Supabase's default privileges gave the API roles
-- in `public` are taken back. A table already in both schemas stops the migration: nothing is dropped.
DO $$
DECLARE
    t text;
    r text;
BEGIN
    IF to_regclass('public.docvec_meta') IS NULL THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['documents', 'artifacts', 'document_sections', 'search_chunks', 'document_tables',
                             'api_endpoints', 'log_entries', 'tags', 'facts', 'evidence', 'jobs', 'docvec_meta']
    LOOP
        CONTINUE WHEN to_regclass(format('public.%I', t)) IS NULL;
        IF to_regclass(format('docvec.%I', t)) IS NOT NULL THEN
            RAISE EXCEPTION 'both public.% and docvec.% exist', t, t
                USING HINT = 'keep the one docvec should use (drop the other), then run docvec migrate again';
        END IF;
        EXECUTE format('ALTER TABLE public.%I SET SCHEMA docvec', t);
        EXECUTE format('REVOKE ALL ON TABLE docvec.%I FROM PUBLIC', t);
        FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                EXECUTE format('REVOKE ALL ON TABLE docvec.%I FROM %I', t, r);
            END IF;
        END LOOP;
        RAISE NOTICE 'docvec: moved public.% to docvec.%', t, t;
    END LOOP;
END
$$;

CREATE TABLE IF NOT EXISTS docvec.documents (
    id            text PRIMARY KEY,
    path          text NOT NULL UNIQUE,
    content_hash  text NOT NULL,
    format        text NOT NULL,
    title         text,
    size_bytes    bigint NOT NULL,
    metadata      jsonb NOT NULL DEFAULT '{}',
    tags          jsonb NOT NULL DEFAULT '[]',
    chunk_count   integer NOT NULL,
    model_id      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS docvec.artifacts (
    document_id   text PRIMARY KEY REFERENCES docvec.documents(id) ON DELETE CASCADE,
    kind          text NOT NULL DEFAULT 'source',
    uri           text NOT NULL,
    content_hash  text NOT NULL,
    size_bytes    bigint NOT NULL,
    media_type    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS docvec.document_sections (
    document_id   text NOT NULL REFERENCES docvec.documents(id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    heading       text,
    level         integer NOT NULL,
    heading_path  text NOT NULL,
    page_start    integer,
    page_end      integer,
    PRIMARY KEY (document_id, ordinal)
);

CREATE TABLE IF NOT EXISTS docvec.search_chunks (
    document_id   text NOT NULL REFERENCES docvec.documents(id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    key           text NOT NULL,
    section       integer NOT NULL,
    text          text NOT NULL,
    context       text NOT NULL,
    page_start    integer,
    page_end      integer,
    token_count   integer NOT NULL,
    model_id      text NOT NULL,
    embedding     vector({{DIM}}) NOT NULL,
    meta          jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, ordinal)
);
-- Keep rows whole in the heap: a 384-d vector (1.5 KB) plus chunk text passes the 2 KB TOAST threshold,
-- and moving the vector out of line (or compressing the text) costs every write, index build and scan.
-- Inline storage fits vectors up to about 1,900 dimensions in Postgres's 8 KB pages.
ALTER TABLE docvec.search_chunks ALTER COLUMN embedding SET STORAGE PLAIN;
ALTER TABLE docvec.search_chunks SET (toast_tuple_target = 8160);

CREATE TABLE IF NOT EXISTS docvec.document_tables (
    document_id   text NOT NULL REFERENCES docvec.documents(id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    name          text,
    header        jsonb NOT NULL,
    column_types  jsonb NOT NULL,
    rows          jsonb NOT NULL,
    source_rows   jsonb NOT NULL DEFAULT '[]',
    row_count     integer NOT NULL,
    column_count  integer NOT NULL,
    header_row    integer NOT NULL,
    delimiter     text,
    PRIMARY KEY (document_id, ordinal)
);

CREATE TABLE IF NOT EXISTS docvec.api_endpoints (
    document_id    text NOT NULL REFERENCES docvec.documents(id) ON DELETE CASCADE,
    ordinal        integer NOT NULL,
    method         text NOT NULL,
    path           text NOT NULL,
    kind           text NOT NULL,
    operation_id   text,
    summary        text,
    description    text,
    parameters     jsonb NOT NULL DEFAULT '[]',
    request_schema text,
    responses      jsonb NOT NULL DEFAULT '[]',
    tags           jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS api_endpoints_method_path ON docvec.api_endpoints (method, path);

CREATE TABLE IF NOT EXISTS docvec.log_entries (
    document_id  text NOT NULL REFERENCES docvec.documents(id) ON DELETE CASCADE,
    ordinal      integer NOT NULL,
    line         integer NOT NULL,
    end_line     integer NOT NULL,
    ts           text,
    level        text,
    code         text,                         -- the component (logger, class, program)
    host         text,
    pid          text,
    message      text NOT NULL,
    raw          text NOT NULL,
    PRIMARY KEY (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS log_entries_level_code_ts ON docvec.log_entries (level, code, ts);

CREATE TABLE IF NOT EXISTS docvec.tags (
    document_id   text NOT NULL REFERENCES docvec.documents(id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    chunk_ordinal integer,
    tag           text NOT NULL,
    kind          text NOT NULL,
    score         real,
    PRIMARY KEY (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS tags_tag ON docvec.tags (tag);

CREATE TABLE IF NOT EXISTS docvec.facts (
    document_id   text NOT NULL REFERENCES docvec.documents(id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    kind          text NOT NULL,
    key           text NOT NULL,
    key_norm      text NOT NULL,
    value         text NOT NULL,
    subject       text,
    number        double precision,
    unit          text,
    PRIMARY KEY (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS facts_key ON docvec.facts (key_norm);

CREATE TABLE IF NOT EXISTS docvec.evidence (
    document_id   text NOT NULL,
    fact_ordinal  integer NOT NULL,
    locator       jsonb NOT NULL,              -- section, page, sheet, table, row, column, line, span, scope
    snippet       text NOT NULL,
    PRIMARY KEY (document_id, fact_ordinal),
    FOREIGN KEY (document_id, fact_ordinal) REFERENCES docvec.facts(document_id, ordinal) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS docvec.jobs (
    id            text PRIMARY KEY,
    kind          text NOT NULL,
    state         text NOT NULL,
    parent_id     text REFERENCES docvec.jobs(id) ON DELETE CASCADE,
    progress_done bigint NOT NULL DEFAULT 0,
    progress_total bigint NOT NULL DEFAULT 0,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The model whose vectors the mirror holds and the schema version, one row each.
CREATE TABLE IF NOT EXISTS docvec.docvec_meta (
    key           text PRIMARY KEY,
    value         text NOT NULL
);
