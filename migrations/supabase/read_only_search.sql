-- docvec on Supabase: read-only search for the API roles. OPT-IN: `docvec migrate` never runs this file.
--
-- The mirror is private by default: schema `docvec` is not exposed by Supabase's API, `anon` and
-- `authenticated` hold no privilege in it, and every table has row-level security with no policy.
-- Run this file once (Supabase: SQL Editor; or `psql "$DATABASE_URL" -f read_only_search.sql`) after
-- `docvec migrate` when apps should search the mirror with the project's anon key or a user's session:
--
--   const { data, error } = await supabase.rpc('match_chunks', {
--     query_embedding: embedding, match_count: 5, filter: { format: 'pdf' } })
--
-- What it does, and nothing more:
--   * makes public.match_chunks and public.hybrid_match_chunks: thin SECURITY INVOKER wrappers of the
--     docvec functions, since Supabase's API serves schema `public` by default. Schema docvec stays
--     unexposed, so its tables are never REST resources: apps reach them only through these functions;
--   * lets the reader roles (below) use schema docvec and execute its search functions;
--   * grants them SELECT, and only SELECT, on the four tables the functions read (documents,
--     search_chunks, document_sections, tags), with row-level security policies FOR SELECT. They still
--     write nothing, and read none of the other tables (facts, evidence, document_tables, api_endpoints,
--     log_entries, artifacts, docvec_meta).
--
-- Two settings at the top of the block below: who may search (`readers`; drop 'anon' to require a
-- signed-in user) and which documents they find (`visible`, an SQL condition on docvec.documents;
-- chunks, sections and tags follow their document). Running the file again applies changed settings.
-- Undo: migrations/supabase/revoke_read_only_search.sql.

CREATE OR REPLACE FUNCTION public.match_chunks(
    query_embedding vector,
    match_count integer DEFAULT 10,
    filter jsonb DEFAULT '{}'
)
RETURNS TABLE (
    id text, document_id text, ordinal integer, path text, title text, format text, section text,
    page_start integer, page_end integer, content text, meta jsonb, similarity double precision
)
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = ''
AS $$
    SELECT * FROM docvec.match_chunks(query_embedding, match_count, filter);
$$;

CREATE OR REPLACE FUNCTION public.hybrid_match_chunks(
    query_text text,
    query_embedding vector,
    match_count integer DEFAULT 10,
    filter jsonb DEFAULT '{}',
    full_text_weight double precision DEFAULT 1,
    semantic_weight double precision DEFAULT 1,
    rrf_k integer DEFAULT 60,
    candidates integer DEFAULT NULL
)
RETURNS TABLE (
    id text, document_id text, ordinal integer, path text, title text, format text, section text,
    page_start integer, page_end integer, content text, meta jsonb, similarity double precision,
    text_rank real, score double precision
)
LANGUAGE sql
STABLE
SECURITY INVOKER
SET search_path = ''
AS $$
    SELECT * FROM docvec.hybrid_match_chunks(query_text, query_embedding, match_count, filter,
                                             full_text_weight, semantic_weight, rrf_k, candidates);
$$;

DO $$
DECLARE
    -- Who may search. Supabase's roles: `anon` (the anon key, i.e. anyone who loads your app),
    -- `authenticated` (a signed-in user's session), `service_role` (the service key, servers only).
    readers text[] := ARRAY['anon', 'authenticated', 'service_role'];
    -- Which documents they find: an SQL condition on a docvec.documents row. For example
    --   'starts_with(path, ''public/'')'    or    'metadata @> ''{"audience": "everyone"}'''
    visible text := 'true';

    api_roles text[] := ARRAY['anon', 'authenticated', 'service_role'];
    role_list text;
    r text;
    f text;
BEGIN
    SELECT string_agg(quote_ident(x), ', ') INTO role_list
    FROM unnest(readers) AS x WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = x);
    IF role_list IS NULL THEN
        RAISE EXCEPTION 'none of the reader roles % exists', readers;
    END IF;

    -- Start from nothing, so that a role dropped from `readers` loses what an earlier run gave it.
    FOREACH r IN ARRAY api_roles LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA docvec FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA docvec FROM %I', r);
        EXECUTE format('REVOKE ALL ON SCHEMA docvec FROM %I', r);
    END LOOP;
    FOREACH f IN ARRAY ARRAY[
        'public.match_chunks(vector, integer, jsonb)',
        'public.hybrid_match_chunks(text, vector, integer, jsonb, double precision, double precision, integer, integer)'
    ] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        FOREACH r IN ARRAY api_roles LOOP
            CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %I', f, r);
        END LOOP;
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', f, role_list);
    END LOOP;

    EXECUTE format('GRANT USAGE ON SCHEMA docvec TO %s', role_list);
    EXECUTE format('GRANT EXECUTE ON FUNCTION docvec.chunk_filter(jsonb), '
                   'docvec.meta_test(jsonb, text, jsonb), docvec.meta_matches(jsonb, jsonb), '
                   'docvec.match_chunks(vector, integer, jsonb), '
                   'docvec.hybrid_match_chunks(text, vector, integer, jsonb, double precision, '
                   'double precision, integer, integer) TO %s', role_list);
    EXECUTE format('GRANT SELECT ON docvec.documents, docvec.search_chunks, docvec.document_sections, '
                   'docvec.tags TO %s', role_list);

    -- Row-level security stays on; these policies let the readers see rows, never change them.
    DROP POLICY IF EXISTS docvec_read_only_search ON docvec.documents;
    DROP POLICY IF EXISTS docvec_read_only_search ON docvec.search_chunks;
    DROP POLICY IF EXISTS docvec_read_only_search ON docvec.document_sections;
    DROP POLICY IF EXISTS docvec_read_only_search ON docvec.tags;
    EXECUTE format('CREATE POLICY docvec_read_only_search ON docvec.documents FOR SELECT TO %s USING (%s)',
                   role_list, visible);
    -- The rest follow their document (the subquery sees only the documents the policy above shows).
    FOREACH f IN ARRAY ARRAY['search_chunks', 'document_sections', 'tags'] LOOP
        EXECUTE format('CREATE POLICY docvec_read_only_search ON docvec.%I FOR SELECT TO %s '
                       'USING (EXISTS (SELECT 1 FROM docvec.documents d WHERE d.id = document_id))',
                       f, role_list);
    END LOOP;
END
$$;
