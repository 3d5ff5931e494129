-- docvec mirror schema 4: search from apps. A full-text column beside each chunk's vector, and SQL
-- functions that apps call over Supabase's RPC (`supabase.rpc(...)`, PostgREST) or plain SQL:
--
--   docvec.match_chunks(query_embedding vector, match_count int = 10, filter jsonb = '{}')
--       the chunks nearest by cosine (HNSW index, iterative scans so filtered queries still fill
--       match_count), best first
--   docvec.hybrid_match_chunks(query_text text, query_embedding vector, match_count int = 10,
--                              filter jsonb = '{}', full_text_weight float8 = 1, semantic_weight float8 = 1,
--                              rrf_k int = 60, candidates int = NULL)
--       the same nearest chunks fused with a Postgres full-text search (`fts` below) by reciprocal
--       rank fusion, as docvec's local hybrid search does: each list adds weight / (rrf_k + rank).
--       Each list gives its best `candidates` (default max(4 x match_count, 50), at most 1000);
--       query_text is read as web search syntax (words, "a phrase", or, -word); either query may be NULL.
--
-- Both return one row per chunk: id (the chunk key docvec's hits carry), document_id, ordinal, path,
-- title, format, section (heading path), page_start, page_end, content (the chunk's text), meta (the
-- chunk's span and other details, as the mirror stores them) and similarity (cosine, 1 = same
-- direction); the hybrid one adds text_rank (ts_rank_cd, NULL when full text did not find the chunk) and
-- score (the fused score it is ordered by).
--
-- `filter` is a JSON object; every key given must hold, an unknown key is an error:
--   {"document_id": "..."}           the document's id
--   {"path": "docs/a.md"}            the document's path
--   {"path_prefix": "docs/"}         the path starts with this
--   {"format": "pdf"} or {"format": ["pdf", "markdown"]}    the document's format, one of (any case)
--   {"tags": ["pumps", "2024"]}      every tag, on the document (format, user tag, keyphrase) or on the
--                                    chunk itself (any case, spaces collapsed, as docvec's --tag filter)
--   {"metadata": {"lang": "en"}}     contained in the document's metadata (jsonb @>)
--
-- Security: SECURITY INVOKER, so the caller's grants and row-level security apply as to any query (a
-- SECURITY DEFINER function would read every row for anyone allowed to call it). EXECUTE is revoked from
-- PUBLIC; nobody but the owner may call them until the opt-in template
-- migrations/supabase/read_only_search.sql grants it (with the SELECT grants and policies they need).
-- Each function fixes its search_path (pg_catalog and pgvector's schema); docvec's tables are named in full.

-- The iterative index scans (hnsw.iterative_scan) came with pgvector 0.8.
DO $$
DECLARE
    v text := (SELECT extversion FROM pg_extension WHERE extname = 'vector');
BEGIN
    IF string_to_array(split_part(v, '-', 1), '.')::int[] < ARRAY[0, 8] THEN
        RAISE EXCEPTION 'docvec needs pgvector 0.8 or later (iterative index scans); this database has %', v
            USING HINT = 'ALTER EXTENSION vector UPDATE; (on Supabase: Database > Extensions)';
    END IF;
END
$$;

-- What docvec's local full-text index holds per chunk: the heading context, a blank line, the text;
-- English stemming and stop words. Generated, so every write (the mirror's COPY included) keeps it.
ALTER TABLE docvec.search_chunks ADD COLUMN IF NOT EXISTS fts tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
        CASE WHEN context = '' THEN text ELSE context || E'\n\n' || text END)) STORED;
CREATE INDEX IF NOT EXISTS search_chunks_fts ON docvec.search_chunks USING gin (fts);

-- The filter, checked and normalised once per call (NULL: no condition).
CREATE OR REPLACE FUNCTION docvec.chunk_filter(
    filter jsonb,
    OUT document_id text,
    OUT path text,
    OUT path_prefix text,
    OUT formats text[],
    OUT tags text[],
    OUT metadata jsonb
)
LANGUAGE plpgsql
IMMUTABLE
SECURITY INVOKER
AS $$
DECLARE
    f jsonb := coalesce(filter, '{}'::jsonb);
    unknown text;
BEGIN
    IF jsonb_typeof(f) <> 'object' THEN
        RAISE EXCEPTION 'filter must be a JSON object, not %', jsonb_typeof(f) USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(k, ', ') INTO unknown FROM jsonb_object_keys(f) AS k
    WHERE k NOT IN ('document_id', 'path', 'path_prefix', 'format', 'tags', 'metadata');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown filter key(s): %', unknown USING ERRCODE = '22023',
            HINT = 'the keys are document_id, path, path_prefix, format, tags, metadata';
    END IF;
    SELECT string_agg(format('%s (%s)', k, jsonb_typeof(f -> k)), ', ') INTO unknown
    FROM jsonb_object_keys(f) AS k
    WHERE NOT CASE k
        WHEN 'metadata' THEN jsonb_typeof(f -> k) = 'object'
        WHEN 'format' THEN jsonb_typeof(f -> k) IN ('string', 'array')
        WHEN 'tags' THEN jsonb_typeof(f -> k) IN ('string', 'array')
        ELSE jsonb_typeof(f -> k) = 'string'
    END;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'filter value(s) of the wrong type: %', unknown USING ERRCODE = '22023',
            HINT = 'metadata is an object; format and tags a string or an array of strings; the rest strings';
    END IF;
    document_id := f ->> 'document_id';
    path := f ->> 'path';
    path_prefix := f ->> 'path_prefix';
    metadata := f -> 'metadata';
    formats := CASE jsonb_typeof(f -> 'format')
        WHEN 'string' THEN ARRAY[lower(f ->> 'format')]
        WHEN 'array' THEN ARRAY(SELECT lower(x) FROM jsonb_array_elements_text(f -> 'format') AS x)
    END;
    tags := CASE jsonb_typeof(f -> 'tags')
        WHEN 'string' THEN ARRAY[f ->> 'tags']
        WHEN 'array' THEN ARRAY(SELECT x FROM jsonb_array_elements_text(f -> 'tags') AS x)
    END;
    -- As docvec stores tags: whitespace runs collapsed to one space, lower case.
    tags := ARRAY(SELECT DISTINCT lower(regexp_replace(btrim(x), '\s+', ' ', 'g')) FROM unnest(tags) AS x);
    IF cardinality(tags) = 0 THEN
        tags := NULL;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION docvec.match_chunks(
    query_embedding vector,
    match_count integer DEFAULT 10,
    filter jsonb DEFAULT '{}'
)
RETURNS TABLE (
    id text,
    document_id text,
    ordinal integer,
    path text,
    title text,
    format text,
    section text,
    page_start integer,
    page_end integer,
    content text,
    meta jsonb,
    similarity double precision
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
-- Iterative scans: the index keeps walking until match_count rows pass the filter (up to
-- hnsw.max_scan_tuples), in near order; the rows are sorted exactly below.
SET hnsw.iterative_scan = relaxed_order
-- Raised below for large match_count; the SET here keeps that change inside the call.
SET hnsw.ef_search = 40
-- Plan each call with its values: the filter's unused conditions fold away, and LIMIT is known, so
-- the planner picks the HNSW index (or, for a filter down to a few chunks, an exact scan).
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
    p record;
BEGIN
    IF match_count IS NULL OR match_count < 1 THEN
        RETURN;
    END IF;
    IF query_embedding IS NULL THEN
        RAISE EXCEPTION 'query_embedding is null' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO p FROM docvec.chunk_filter(filter);
    PERFORM set_config('hnsw.ef_search', least(greatest(match_count, 40), 1000)::text, true);
    RETURN QUERY
    WITH nearest AS MATERIALIZED (
        SELECT c.document_id, c.ordinal, c.embedding <=> query_embedding AS distance
        FROM docvec.search_chunks c
        JOIN docvec.documents d ON d.id = c.document_id
        WHERE (p.document_id IS NULL OR d.id = p.document_id)
          AND (p.path IS NULL OR d.path = p.path)
          AND (p.path_prefix IS NULL OR starts_with(d.path, p.path_prefix))
          AND (p.formats IS NULL OR d.format = ANY (p.formats))
          AND (p.metadata IS NULL OR d.metadata @> p.metadata)
          AND (p.tags IS NULL OR p.tags <@ ARRAY(
              SELECT t.tag FROM docvec.tags t
              WHERE t.document_id = c.document_id
                AND (t.chunk_ordinal IS NULL OR t.chunk_ordinal = c.ordinal)))
        ORDER BY c.embedding <=> query_embedding
        LIMIT match_count
    )
    SELECT c.key, c.document_id, c.ordinal, d.path, d.title, d.format, nullif(s.heading_path, ''),
           c.page_start, c.page_end, c.text, c.meta, 1 - n.distance
    FROM nearest n
    JOIN docvec.search_chunks c ON c.document_id = n.document_id AND c.ordinal = n.ordinal
    JOIN docvec.documents d ON d.id = c.document_id
    LEFT JOIN docvec.document_sections s ON s.document_id = c.document_id AND s.ordinal = c.section
    ORDER BY n.distance, c.document_id, c.ordinal;
END
$$;

CREATE OR REPLACE FUNCTION docvec.hybrid_match_chunks(
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
    id text,
    document_id text,
    ordinal integer,
    path text,
    title text,
    format text,
    section text,
    page_start integer,
    page_end integer,
    content text,
    meta jsonb,
    similarity double precision,
    text_rank real,
    score double precision
)
LANGUAGE plpgsql
STABLE
SECURITY INVOKER
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
    p record;
    q tsquery;
    -- Candidates from each list before fusing; docvec's local hybrid search takes max(4k, 50).
    n integer;
BEGIN
    IF match_count IS NULL OR match_count < 1 THEN
        RETURN;
    END IF;
    SELECT * INTO p FROM docvec.chunk_filter(filter);
    -- websearch syntax: words, "quoted phrases", OR, -excluded; never a syntax error.
    q := websearch_to_tsquery('english'::regconfig, coalesce(query_text, ''));
    IF query_embedding IS NULL AND numnode(q) = 0 THEN
        RAISE EXCEPTION 'give query_text (with words that are not all stop words), query_embedding, or both'
            USING ERRCODE = '22004';
    END IF;
    n := least(greatest(coalesce(candidates, greatest(4 * match_count, 50)), 1), 1000);
    RETURN QUERY
    WITH semantic AS (
        SELECT m.document_id, m.ordinal,
               row_number() OVER (ORDER BY m.similarity DESC, m.document_id, m.ordinal) AS rank_ix
        FROM docvec.match_chunks(query_embedding,
                                 CASE WHEN query_embedding IS NULL THEN 0 ELSE n END, filter) AS m
    ),
    full_text AS (
        SELECT x.document_id, x.ordinal, x.text_rank,
               row_number() OVER (ORDER BY x.text_rank DESC, x.document_id, x.ordinal) AS rank_ix
        FROM (
            SELECT c.document_id, c.ordinal, ts_rank_cd(c.fts, q) AS text_rank
            FROM docvec.search_chunks c
            JOIN docvec.documents d ON d.id = c.document_id
            WHERE numnode(q) > 0
              AND c.fts @@ q
              AND (p.document_id IS NULL OR d.id = p.document_id)
              AND (p.path IS NULL OR d.path = p.path)
              AND (p.path_prefix IS NULL OR starts_with(d.path, p.path_prefix))
              AND (p.formats IS NULL OR d.format = ANY (p.formats))
              AND (p.metadata IS NULL OR d.metadata @> p.metadata)
              AND (p.tags IS NULL OR p.tags <@ ARRAY(
                  SELECT t.tag FROM docvec.tags t
                  WHERE t.document_id = c.document_id
                    AND (t.chunk_ordinal IS NULL OR t.chunk_ordinal = c.ordinal)))
            ORDER BY ts_rank_cd(c.fts, q) DESC, c.document_id, c.ordinal
            LIMIT n
        ) AS x
    ),
    fused AS (
        SELECT coalesce(s.document_id, f.document_id) AS document_id,
               coalesce(s.ordinal, f.ordinal) AS ordinal,
               f.text_rank,
               coalesce(semantic_weight / (rrf_k + s.rank_ix), 0)
                 + coalesce(full_text_weight / (rrf_k + f.rank_ix), 0) AS fused_score
        FROM semantic s
        FULL JOIN full_text f ON f.document_id = s.document_id AND f.ordinal = s.ordinal
        ORDER BY 4 DESC, 1, 2
        LIMIT match_count
    )
    SELECT c.key, c.document_id, c.ordinal, d.path, d.title, d.format, nullif(s.heading_path, ''),
           c.page_start, c.page_end, c.text, c.meta,
           CASE WHEN query_embedding IS NULL THEN NULL ELSE 1 - (c.embedding <=> query_embedding) END,
           x.text_rank, x.fused_score
    FROM fused x
    JOIN docvec.search_chunks c ON c.document_id = x.document_id AND c.ordinal = x.ordinal
    JOIN docvec.documents d ON d.id = c.document_id
    LEFT JOIN docvec.document_sections s ON s.document_id = c.document_id AND s.ordinal = c.section
    ORDER BY x.fused_score DESC, c.document_id, c.ordinal;
END
$$;

-- Fixed search_path (the Supabase linter's function_search_path_mutable): pg_catalog, then the schema
-- pgvector is installed in (`public`, or `extensions` on Supabase) for `<=>`. And no EXECUTE for PUBLIC
-- (Postgres grants it on every new function); grants for the API roles come only from the opt-in
-- template, and running this file again keeps them (CREATE OR REPLACE keeps a function's grants).
DO $$
DECLARE
    f regprocedure;
    vector_schema text := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                           WHERE e.extname = 'vector');
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'docvec'::regnamespace
          AND p.proname IN ('chunk_filter', 'match_chunks', 'hybrid_match_chunks')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, vector_schema);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
