-- docvec mirror schema 6: each document's own metadata (`documents.meta`, what `docvec ingest --meta`,
-- an upload's `metadata` or a `*.meta.json` sidecar gave it), and a `meta` filter over it in
-- match_chunks, hybrid_match_chunks and docvec's own searches of the mirror:
--
--   {"meta": {"year": {"gte": 2020, "lt": 2025}, "lang": "en", "team": ["a", "b"]}}
--
-- Each key's condition is a value (equal), an array (equal to one of them) or an object of operators
-- eq, in, gt, gte, lt, lte, all required of one value. Ranges compare numbers with numbers and strings
-- with strings in byte order (ISO 8601 dates compare as time does), as docvec's local filter does. A
-- document whose value is an array matches when one element does; one without the key never matches.
-- The functions of migration 4 are redefined below with the new condition; their grants stay.

ALTER TABLE docvec.documents ADD COLUMN IF NOT EXISTS meta jsonb NOT NULL DEFAULT '{}';

-- One operator test of one metadata value `x` against `b`; NULL for an unknown operator.
CREATE OR REPLACE FUNCTION docvec.meta_test(x jsonb, op text, b jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SECURITY INVOKER
AS $$
    SELECT CASE
        WHEN op = 'eq' THEN x = b
        WHEN op = 'in' THEN jsonb_typeof(b) = 'array'
            AND EXISTS (SELECT 1 FROM jsonb_array_elements(b) AS y(v) WHERE y.v = x)
        WHEN op NOT IN ('gt', 'gte', 'lt', 'lte') THEN NULL
        WHEN jsonb_typeof(x) = 'number' AND jsonb_typeof(b) = 'number' THEN
            CASE op
                WHEN 'gt' THEN x::numeric > b::numeric
                WHEN 'gte' THEN x::numeric >= b::numeric
                WHEN 'lt' THEN x::numeric < b::numeric
                ELSE x::numeric <= b::numeric
            END
        WHEN jsonb_typeof(x) = 'string' AND jsonb_typeof(b) = 'string' THEN
            CASE op
                WHEN 'gt' THEN (x #>> '{}') COLLATE "C" > (b #>> '{}') COLLATE "C"
                WHEN 'gte' THEN (x #>> '{}') COLLATE "C" >= (b #>> '{}') COLLATE "C"
                WHEN 'lt' THEN (x #>> '{}') COLLATE "C" < (b #>> '{}') COLLATE "C"
                ELSE (x #>> '{}') COLLATE "C" <= (b #>> '{}') COLLATE "C"
            END
        ELSE false
    END
$$;

-- Whether a document's metadata passes every condition of a `meta` filter.
CREATE OR REPLACE FUNCTION docvec.meta_matches(meta jsonb, filter jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SECURITY INVOKER
AS $$
    SELECT coalesce(bool_and(EXISTS (
        SELECT 1
        FROM jsonb_array_elements(CASE jsonb_typeof(meta -> f.key)
                                      WHEN 'array' THEN meta -> f.key
                                      ELSE jsonb_build_array(meta -> f.key) END) AS e(x)
        WHERE e.x <> 'null'::jsonb
          AND CASE jsonb_typeof(f.cond)
                  WHEN 'object' THEN NOT EXISTS (
                      SELECT 1 FROM jsonb_each(f.cond) AS o(op, b)
                      WHERE docvec.meta_test(e.x, o.op, o.b) IS NOT TRUE)
                  WHEN 'array' THEN docvec.meta_test(e.x, 'in', f.cond)
                  ELSE docvec.meta_test(e.x, 'eq', f.cond)
              END
    )), true)
    FROM jsonb_each(coalesce(filter, '{}'::jsonb)) AS f(key, cond)
$$;

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
    WHERE k NOT IN ('document_id', 'path', 'path_prefix', 'format', 'tags', 'metadata', 'meta');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown filter key(s): %', unknown USING ERRCODE = '22023',
            HINT = 'the keys are document_id, path, path_prefix, format, tags, metadata, meta';
    END IF;
    SELECT string_agg(format('%s (%s)', k, jsonb_typeof(f -> k)), ', ') INTO unknown
    FROM jsonb_object_keys(f) AS k
    WHERE NOT CASE k
        WHEN 'metadata' THEN jsonb_typeof(f -> k) = 'object'
        WHEN 'meta' THEN jsonb_typeof(f -> k) = 'object'
        WHEN 'format' THEN jsonb_typeof(f -> k) IN ('string', 'array')
        WHEN 'tags' THEN jsonb_typeof(f -> k) IN ('string', 'array')
        ELSE jsonb_typeof(f -> k) = 'string'
    END;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'filter value(s) of the wrong type: %', unknown USING ERRCODE = '22023',
            HINT = 'metadata and meta are objects; format and tags a string or an array of strings; the rest strings';
    END IF;
    -- meta: each key's condition is a value, an array (one of) or an object of operators.
    SELECT string_agg(format('%s.%s', c.key, o.op), ', ') INTO unknown
    FROM jsonb_each(coalesce(f -> 'meta', '{}'::jsonb)) AS c(key, cond)
    CROSS JOIN LATERAL jsonb_object_keys(CASE jsonb_typeof(c.cond) WHEN 'object' THEN c.cond ELSE '{}' END) AS o(op)
    WHERE o.op NOT IN ('eq', 'in', 'gt', 'gte', 'lt', 'lte');
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown meta operator(s): %', unknown USING ERRCODE = '22023',
            HINT = 'the operators are eq, in, gt, gte, lt, lte';
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
          AND (filter -> 'meta' IS NULL OR docvec.meta_matches(d.meta, filter -> 'meta'))
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
              AND (filter -> 'meta' IS NULL OR docvec.meta_matches(d.meta, filter -> 'meta'))
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

-- As migration 4: a fixed search_path and no EXECUTE for PUBLIC; migrations grant nothing. A
-- deployment that opted apps in with migrations/supabase/read_only_search.sql before this migration
-- runs the template again to let them use the `meta` filter (it grants the two new functions; calls
-- without `meta` never reach them and work as before).
DO $$
DECLARE
    f regprocedure;
    vector_schema text := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                           WHERE e.extname = 'vector');
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'docvec'::regnamespace
          AND p.proname IN ('chunk_filter', 'match_chunks', 'hybrid_match_chunks', 'meta_test', 'meta_matches')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I', f, vector_schema);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
