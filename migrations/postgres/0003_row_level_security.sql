-- docvec mirror schema 3: private by default. Row-level security is on for every docvec table, with no
-- policy: a role that neither owns the tables nor has BYPASSRLS reads no row and writes none, even when
-- it is granted privileges later by mistake. docvec connects as the tables' owner (on Supabase, the
-- `postgres` role of the connection string), which RLS does not restrict, so the mirror itself is
-- unaffected; it is not FORCEd, so the owner keeps its access.
--
-- Nothing is granted to PUBLIC or to Supabase's API roles `anon` and `authenticated`: not the schema,
-- not the tables (migration 1 takes back what tables moved from `public` carried), not the functions
-- (migration 4). An app may search only after the opt-in template
-- migrations/supabase/read_only_search.sql adds grants and read-only policies. Running this file again
-- changes nothing and keeps those policies.
--
-- Every table in schema docvec, so a table added by a later migration gets it when this runs again; a
-- migration that adds a table enables RLS on it too (the mirror's tests check the catalog).
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass FROM pg_class c
        WHERE c.relnamespace = 'docvec'::regnamespace AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;
