-- docvec on Supabase: undo read_only_search.sql. The mirror is private again: the API roles lose every
-- privilege in schema docvec, the read-only policies and the public wrappers go. Row-level security
-- stays on (migration 3). Safe to run more than once.

DROP FUNCTION IF EXISTS public.match_chunks(vector, integer, jsonb);
DROP FUNCTION IF EXISTS public.hybrid_match_chunks(text, vector, integer, jsonb, double precision,
                                                   double precision, integer, integer);
DROP POLICY IF EXISTS docvec_read_only_search ON docvec.documents;
DROP POLICY IF EXISTS docvec_read_only_search ON docvec.search_chunks;
DROP POLICY IF EXISTS docvec_read_only_search ON docvec.document_sections;
DROP POLICY IF EXISTS docvec_read_only_search ON docvec.tags;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA docvec FROM %I', r);
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA docvec FROM %I', r);
        EXECUTE format('REVOKE ALL ON SCHEMA docvec FROM %I', r);
    END LOOP;
END
$$;
