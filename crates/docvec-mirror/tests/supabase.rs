//! The mirror as Supabase sees it, against a real PostgreSQL with pgvector: the README's test command
//! starts one (tools/pg.sh) and exports DOCVEC_TEST_DATABASE_URL; each test gets a database of its own.
//! Without it these tests say SKIPPED and pass (outside CI; under CI=true they fail).
//!
//! The server gets Supabase's API roles (`anon`, `authenticated`, `service_role`) and each database
//! Supabase's default privileges in `public`, so "a role with only anon's grants" is the real thing.
//! Documents and vectors go in through the mirror (`put_documents`, binary COPY), as docvec writes them.

use std::collections::HashSet;

use docvec_mirror::{MIGRATIONS, Mirror, MirrorError, MirrorOptions, SCHEMA_VERSION};
use docvec_types::{DocumentExport, ExportChunk};
use pgvector::Vector;
use serde_json::{Value, json};
use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, Row};

const MODEL: &str = "test-model";
const DIM: usize = 8;

/// Every table docvec makes.
const TABLES: &[&str] = &[
    "documents",
    "artifacts",
    "document_sections",
    "search_chunks",
    "document_tables",
    "api_endpoints",
    "log_entries",
    "tags",
    "facts",
    "evidence",
    "docvec_meta",
];

const TEMPLATE: &str = include_str!("../../../migrations/supabase/read_only_search.sql");
const REVOKE_TEMPLATE: &str =
    include_str!("../../../migrations/supabase/revoke_read_only_search.sql");
const LEGACY_SCHEMA: &str = include_str!("fixtures/legacy_public_schema.sql");

// ---------------------------------------------------------------------------------------------------
// Set-up

/// A fresh database on the test server with Supabase's roles and default privileges, or None (a skip;
/// a failure under CI) when there is no server.
async fn supabase_database() -> Option<String> {
    let server = docvec_testkit::require_database()?;
    let mut admin = PgConnection::connect(&server).await.expect("test server");
    // Roles belong to the cluster: made once, by one test at a time.
    sqlx::query("SELECT pg_advisory_lock(7360)")
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::raw_sql(
        "DO $$
         BEGIN
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
                 CREATE ROLE anon NOLOGIN NOINHERIT;
             END IF;
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
                 CREATE ROLE authenticated NOLOGIN NOINHERIT;
             END IF;
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
                 CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
             END IF;
         END $$;",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_advisory_unlock(7360)")
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let url = docvec_testkit::fresh_database(&server, "docvec_m").await;
    // What every Supabase project has: the API roles may use `public`, and whatever is made there is
    // theirs (supabase/postgres's init scripts).
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    Some(url)
}

/// A Supabase database with docvec's schema migrated in, its mirror and a connection as its owner; None
/// as for [`supabase_database`].
async fn migrated() -> Option<(Mirror, PgConnection)> {
    let url = supabase_database().await?;
    let m = Mirror::connect_lazy(MirrorOptions::new(&url)).unwrap();
    assert_eq!(m.migrate(MODEL, DIM).await.unwrap(), SCHEMA_VERSION);
    Some((m, PgConnection::connect(&url).await.unwrap()))
}

/// A Supabase database holding the mirror as an older docvec left it: its tables in `public`, schema
/// version 2 for `MODEL`, no rows; its (unmigrated) mirror and a connection as its owner.
async fn legacy_deployment() -> Option<(Mirror, PgConnection)> {
    let url = supabase_database().await?;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        LEGACY_SCHEMA.replace("{{DIM}}", &DIM.to_string()),
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO docvec_meta VALUES ('schema_version', '2'), ('model_id', '{MODEL}'), ('dimension', '{DIM}')"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    Some((
        Mirror::connect_lazy(MirrorOptions::new(&url)).unwrap(),
        conn,
    ))
}

/// Write `docs` through the mirror, as docvec does.
async fn put(m: &Mirror, docs: &[Doc]) {
    m.put_documents(&docs.iter().map(Doc::export).collect::<Vec<_>>())
        .await
        .unwrap();
}

/// Act as `role` from here on; `NONE` goes back to the connection's own role.
async fn set_role(conn: &mut PgConnection, role: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!("SET ROLE {role}")))
        .execute(conn)
        .await
        .unwrap();
}

/// A deterministic pseudo-random unit vector.
fn vector(seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 20_000) as f32 / 10_000.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// A document as the store exports it.
struct Doc {
    id: String,
    path: String,
    format: &'static str,
    metadata: Value,
    /// (chunk ordinal or None for the document, tag as docvec stores it: normalised)
    tags: Vec<(Option<i32>, &'static str)>,
    /// (text, vector)
    chunks: Vec<(String, Vec<f32>)>,
}

impl Doc {
    fn export(&self) -> DocumentExport {
        let tags: Vec<Value> = self
            .tags
            .iter()
            .enumerate()
            .map(|(i, (chunk, tag))| {
                json!({"document_id": self.id, "ordinal": i, "chunk_ordinal": chunk, "tag": tag,
                       "kind": if chunk.is_some() { "keyphrase" } else { "user" }, "score": null})
            })
            .collect();
        DocumentExport {
            id: self.id.clone(),
            path: self.path.clone(),
            content_hash: format!("hash-{}", self.id),
            document: json!({
                "id": self.id, "path": self.path, "content_hash": format!("hash-{}", self.id),
                "format": self.format, "title": format!("Title of {}", self.id), "size_bytes": 100,
                "metadata": self.metadata, "tags": [], "chunk_count": self.chunks.len(),
                "model_id": MODEL, "created_at": "2024-05-01T10:00:00Z",
                "updated_at": "2024-05-01T10:00:00Z"
            }),
            artifact: None,
            sections: json!([{"document_id": self.id, "ordinal": 0, "heading": "Intro", "level": 1,
                              "heading_path": "Guide > Intro", "page_start": null, "page_end": null}]),
            tables: json!([]),
            endpoints: json!([]),
            log_entries: json!([]),
            tags: Value::Array(tags),
            facts: json!([{"document_id": self.id, "ordinal": 0, "kind": "measure", "key": "k",
                           "key_norm": "k", "value": "1", "subject": null, "number": 1.0, "unit": null}]),
            evidence: json!([]),
            chunks: self
                .chunks
                .iter()
                .enumerate()
                .map(|(i, (text, v))| ExportChunk {
                    ordinal: i as i32,
                    key: format!("{}#{i}", self.id),
                    section: 0,
                    text: text.clone(),
                    context: "Guide > Intro".into(),
                    page_start: (self.format == "pdf").then_some(i as i32 + 1),
                    page_end: (self.format == "pdf").then_some(i as i32 + 1),
                    token_count: 12,
                    model_id: MODEL.into(),
                    vector: v.clone(),
                    span: None,
                })
                .collect(),
        }
    }
}

/// 100 documents of 30 chunks: every 25th a PDF under manuals/, the rest Markdown under guide/;
/// metadata {"lang": "en" | "de", "n": i}; documents 3, 13, ... tagged `pumps`, and chunk 5 of
/// documents 3, 23, 43, 63, 83 tagged `pressure alarm`.
fn corpus() -> Vec<Doc> {
    (0..100)
        .map(|i| Doc {
            id: format!("doc-{i:03}"),
            path: if i % 25 == 0 {
                format!("manuals/{i:03}.pdf")
            } else {
                format!("guide/{i:03}.md")
            },
            format: if i % 25 == 0 { "pdf" } else { "markdown" },
            metadata: json!({"lang": if i % 2 == 0 { "en" } else { "de" }, "n": i}),
            tags: {
                let mut t = Vec::new();
                if i % 10 == 3 {
                    t.push((None, "pumps"));
                }
                if i % 20 == 3 {
                    t.push((Some(5), "pressure alarm"));
                }
                t
            },
            chunks: (0..30)
                .map(|j| {
                    (
                        format!("Chunk {j} of document {i}."),
                        vector((i * 100 + j) as u64),
                    )
                })
                .collect(),
        })
        .collect()
}

/// A row of match_chunks / hybrid_match_chunks.
#[derive(Debug, Clone)]
struct Hit {
    id: String,
    document_id: String,
    path: String,
    format: String,
    section: Option<String>,
    page_start: Option<i32>,
    content: String,
    meta: Value,
    similarity: Option<f64>,
    text_rank: Option<f32>,
    score: Option<f64>,
}

fn hit(r: &PgRow) -> Hit {
    Hit {
        id: r.get("id"),
        document_id: r.get("document_id"),
        path: r.get("path"),
        format: r.get("format"),
        section: r.get("section"),
        page_start: r.get("page_start"),
        content: r.get("content"),
        meta: r.get("meta"),
        similarity: r.get("similarity"),
        // Only the hybrid function has these.
        text_rank: r.try_get::<Option<f32>, _>("text_rank").ok().flatten(),
        score: r.try_get::<Option<f64>, _>("score").ok().flatten(),
    }
}

async fn match_chunks(
    conn: &mut PgConnection,
    function: &str,
    q: &[f32],
    k: i32,
    filter: Value,
) -> Result<Vec<Hit>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM {function}($1, $2, $3)"
    )))
    .bind(Vector::from(q.to_vec()))
    .bind(k)
    .bind(filter)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(hit).collect())
}

/// A call of hybrid_match_chunks: full text, and a vector if given; equal weights, no filter and the
/// function's default candidates unless set.
struct Hybrid<'a> {
    text: &'a str,
    q: Option<&'a [f32]>,
    k: i32,
    filter: Value,
    weights: (f64, f64),
    candidates: Option<i32>,
}

impl<'a> Hybrid<'a> {
    fn text(text: &'a str, k: i32) -> Self {
        Hybrid {
            text,
            q: None,
            k,
            filter: json!({}),
            weights: (1.0, 1.0),
            candidates: None,
        }
    }

    fn and_vector(self, q: &'a [f32]) -> Self {
        Hybrid { q: Some(q), ..self }
    }
}

async fn hybrid(
    conn: &mut PgConnection,
    function: &str,
    call: Hybrid<'_>,
) -> Result<Vec<Hit>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM {function}($1, $2, $3, $4, full_text_weight => $5, semantic_weight => $6,
                                  candidates => $7)"
    )))
    .bind(call.text)
    .bind(call.q.map(|q| Vector::from(q.to_vec())))
    .bind(call.k)
    .bind(call.filter)
    .bind(call.weights.0)
    .bind(call.weights.1)
    .bind(call.candidates)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(hit).collect())
}

/// The SQLSTATE of a database error.
fn code(e: &sqlx::Error) -> String {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string())
        .unwrap_or_else(|| format!("not a database error: {e}"))
}

/// Index scans of the HNSW index so far in this transaction.
async fn hnsw_scans(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT pg_stat_get_xact_numscans('docvec.search_chunks_embedding_hnsw'::regclass)",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

/// The exact top k chunks by cosine among those `keep` allows: (chunk key, similarity).
fn exact(
    docs: &[Doc],
    q: &[f32],
    k: usize,
    keep: impl Fn(&Doc, usize) -> bool,
) -> Vec<(String, f64)> {
    let mut all: Vec<(String, f64)> = docs
        .iter()
        .flat_map(|d| {
            let keep = &keep;
            d.chunks
                .iter()
                .enumerate()
                .filter(move |(j, _)| keep(d, *j))
                .map(move |(j, (_, v))| (format!("{}#{j}", d.id), cosine(q, v)))
        })
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1));
    all.truncate(k);
    all
}

/// The hits are the exact answer, or as near as an approximate index gives (recall 0.9 at least), with
/// exact similarities, best first.
fn assert_near_exact(hits: &[Hit], expected: &[(String, f64)], what: &str) {
    assert_eq!(
        hits.len(),
        expected.len(),
        "{what}: a filtered search still fills match_count"
    );
    let want: HashSet<&str> = expected.iter().map(|(k, _)| k.as_str()).collect();
    let found = hits.iter().filter(|h| want.contains(h.id.as_str())).count();
    assert!(
        found * 10 >= expected.len() * 9,
        "{what}: recall {found}/{}: {:?} vs {expected:?}",
        expected.len(),
        hits.iter().map(|h| &h.id).collect::<Vec<_>>()
    );
    for pair in hits.windows(2) {
        assert!(
            pair[0].similarity >= pair[1].similarity,
            "{what}: best first"
        );
    }
    for h in hits {
        if let Some((_, s)) = expected.iter().find(|(k, _)| *k == h.id) {
            assert!(
                (h.similarity.unwrap() - s).abs() < 1e-5,
                "{what}: {} {:?} vs {s}",
                h.id,
                h.similarity
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Safe by default

/// What a role may do to each docvec table: (select, insert, update, delete) answered with
/// "denied" (42501) or the number of rows seen or changed.
async fn attempts(conn: &mut PgConnection, role: &str, table: &str) -> [String; 4] {
    set_role(&mut *conn, role).await;
    let outcome = |r: Result<u64, sqlx::Error>| match r {
        Ok(n) => format!("{n} rows"),
        Err(e) if code(&e) == "42501" => "denied".to_string(),
        Err(e) => format!("error {}: {e}", code(&e)),
    };
    let select = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM docvec.{table}"
    )))
    .fetch_one(&mut *conn)
    .await
    .map(|n| n as u64);
    let col = match table {
        "documents" => "id",
        "docvec_meta" => "key",
        _ => "document_id",
    };
    // An insert of what the role can read, a no-op update, a delete.
    let insert = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO docvec.{table} ({col}) SELECT {col} FROM docvec.{table} LIMIT 1"
    )))
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected());
    let update = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE docvec.{table} SET {col} = {col}"
    )))
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected());
    let delete = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM docvec.{table}")))
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected());
    set_role(&mut *conn, "NONE").await;
    [
        outcome(select),
        outcome(insert),
        outcome(update),
        outcome(delete),
    ]
}

/// Nothing in schema docvec is granted to PUBLIC or the API roles, and every table has RLS.
async fn assert_private(conn: &mut PgConnection) {
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT relname::text, relrowsecurity FROM pg_class
         WHERE relnamespace = 'docvec'::regnamespace AND relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
    let mut expected = TABLES.to_vec();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    for (table, rls) in &tables {
        assert!(rls, "row-level security on docvec.{table}");
    }
    let leaks: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s on %s', r.rolname, o.what) FROM pg_roles r,
             (SELECT 'table docvec.' || relname AS what, 'table' AS kind, oid FROM pg_class
                WHERE relnamespace = 'docvec'::regnamespace AND relkind IN ('r', 'p')
              UNION ALL SELECT 'function ' || oid::regprocedure::text, 'function', oid FROM pg_proc
                WHERE pronamespace = 'docvec'::regnamespace
              UNION ALL SELECT 'schema docvec', 'schema', 'docvec'::regnamespace::oid) AS o
         WHERE r.rolname IN ('anon', 'authenticated')
           AND CASE o.kind
                 WHEN 'table' THEN has_table_privilege(r.oid, o.oid,
                     'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                 WHEN 'function' THEN has_function_privilege(r.oid, o.oid, 'EXECUTE')
                 ELSE has_schema_privilege(r.oid, o.oid, 'USAGE, CREATE')
               END
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(
        leaks.is_empty(),
        "privileges the API roles must not have: {leaks:?}"
    );
    let public_exec: Vec<String> = sqlx::query_scalar(
        "SELECT oid::regprocedure::text FROM pg_proc WHERE pronamespace = 'docvec'::regnamespace
           AND (proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(proacl) a WHERE a.grantee = 0))",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(
        public_exec.is_empty(),
        "functions PUBLIC may execute: {public_exec:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_mirror_grants_the_api_roles_nothing_and_rls_is_the_second_lock() {
    let Some((m, mut conn)) = migrated().await else {
        return;
    };
    let docs = corpus();
    put(&m, &docs[..5]).await;
    // Nothing of docvec's is in `public`, where Supabase's default privileges would hand it out.
    let in_public: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(in_public, 0);
    assert_private(&mut conn).await;

    // A role with only anon's grants (or a signed-in user's) reads nothing and writes nothing.
    for role in ["anon", "authenticated"] {
        for table in TABLES {
            let got = attempts(&mut conn, role, table).await;
            assert_eq!(got, ["denied"; 4], "{role} on {table}");
        }
        set_role(&mut conn, role).await;
        for function in ["docvec.match_chunks", "public.match_chunks"] {
            let err = match_chunks(&mut conn, function, &vector(1), 5, json!({}))
                .await
                .unwrap_err();
            // No usage of the schema; and no wrapper in public until the template makes one.
            assert!(matches!(code(&err).as_str(), "42501" | "42883"), "{err}");
        }
        for table in TABLES {
            let err = sqlx::query(sqlx::AssertSqlSafe(format!(
                "TRUNCATE docvec.{table} CASCADE"
            )))
            .execute(&mut conn)
            .await
            .unwrap_err();
            assert_eq!(code(&err), "42501", "{role} truncates {table}: {err}");
        }
        set_role(&mut conn, "NONE").await;
    }

    // Were the tables granted by mistake, row-level security still shows and takes nothing.
    sqlx::raw_sql(
        "GRANT USAGE ON SCHEMA docvec TO anon;
         GRANT ALL ON ALL TABLES IN SCHEMA docvec TO anon;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for table in TABLES {
        let [select, insert, update, delete] = attempts(&mut conn, "anon", table).await;
        assert_eq!(
            (select.as_str(), update.as_str(), delete.as_str()),
            ("0 rows", "0 rows", "0 rows"),
            "anon on {table}"
        );
        // The insert reads no row to copy; a row of its own violates the (absent) policy, below.
        assert_eq!(insert, "0 rows", "anon on {table}");
    }
    set_role(&mut conn, "anon").await;
    let err =
        sqlx::query("INSERT INTO docvec.docvec_meta (key, value) VALUES ('schema_version', '999')")
            .execute(&mut conn)
            .await
            .unwrap_err();
    assert_eq!(code(&err), "42501", "{err}");
    assert!(err.to_string().contains("row-level security"), "{err}");
    set_role(&mut conn, "NONE").await;
    // And the owner, docvec itself, sees every row.
    let (documents, chunks): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM docvec.documents), (SELECT count(*) FROM docvec.search_chunks)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((documents, chunks), (5, 150));
    m.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_in_public_moves_to_schema_docvec_in_place() {
    // The mirror as an older docvec left it, with one document.
    let Some((m, mut conn)) = legacy_deployment().await else {
        return;
    };
    let v = vector(42);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO documents (id, path, content_hash, format, size_bytes, chunk_count, model_id)
             VALUES ('old', 'notes/old.md', 'h', 'markdown', 10, 1, '{MODEL}');
         INSERT INTO document_sections VALUES ('old', 0, 'Old', 1, 'Old', NULL, NULL);
         INSERT INTO search_chunks (document_id, ordinal, key, section, text, context, token_count, model_id, embedding)
             VALUES ('old', 0, 'old#0', 0, 'The old pump manual.', '', 5, '{MODEL}', '{}');
         INSERT INTO tags VALUES ('old', 0, NULL, 'pumps', 'user', NULL);",
        literal(&v)
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    // Supabase's default privileges gave the API roles everything on them.
    let anon_could: bool =
        sqlx::query_scalar("SELECT has_table_privilege('anon', 'public.search_chunks', 'SELECT')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(anon_could);

    let probe = m.probe(std::time::Duration::from_secs(5)).await;
    assert_eq!(
        probe.schema_version,
        Some(2),
        "the probe reads the old bookkeeping"
    );
    // Another model's docvec refuses, and leaves everything where it was.
    let err = m.migrate("other-model", DIM).await.unwrap_err();
    assert!(matches!(err, MirrorError::Schema(_)), "{err}");
    let still: bool = sqlx::query_scalar("SELECT to_regclass('public.documents') IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(still);

    assert_eq!(m.migrate(MODEL, DIM).await.unwrap(), SCHEMA_VERSION);
    assert_eq!(
        m.migrate(MODEL, DIM).await.unwrap(),
        SCHEMA_VERSION,
        "and again"
    );
    let left_in_public: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(left_in_public.is_empty(), "{left_in_public:?}");
    // The rows, the vector index and the bookkeeping moved along; the grants did not.
    let (text, index, version): (String, bool, String) = sqlx::query_as(
        "SELECT (SELECT text FROM docvec.search_chunks WHERE key = 'old#0'),
                to_regclass('docvec.search_chunks_embedding_hnsw') IS NOT NULL,
                (SELECT value FROM docvec.docvec_meta WHERE key = 'schema_version')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        (text.as_str(), index, version),
        ("The old pump manual.", true, SCHEMA_VERSION.to_string())
    );
    assert_private(&mut conn).await;
    for table in TABLES {
        assert_eq!(
            attempts(&mut conn, "anon", table).await,
            ["denied"; 4],
            "{table}"
        );
    }
    // The moved rows are searchable, by the mirror and by the new functions (full text included).
    let hits = match_chunks(
        &mut conn,
        "docvec.match_chunks",
        &v,
        3,
        json!({"tags": ["Pumps"]}),
    )
    .await
    .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].id.as_str(), hits[0].section.as_deref()),
        ("old#0", Some("Old"))
    );
    assert!((hits[0].similarity.unwrap() - 1.0).abs() < 1e-6);
    let text_hits = hybrid(
        &mut conn,
        "docvec.hybrid_match_chunks",
        Hybrid::text("pumps manual", 3),
    )
    .await
    .unwrap();
    assert_eq!(text_hits.len(), 1);
    let remote = m
        .search(&v, 3, 40, &docvec_mirror::RemoteFilter::default())
        .await
        .unwrap();
    assert_eq!(remote[0].chunk_key, "old#0");
    // And new writes land in the moved tables.
    m.put_documents(&[corpus()[1].export()]).await.unwrap();
    assert_eq!(m.table_counts().await.unwrap()[0], ("documents".into(), 2));
    m.close().await;
}

/// A vector as pgvector's text form.
fn literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(f32::to_string).collect();
    format!("[{}]", parts.join(","))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mirror_can_switch_the_model_of_a_deployment_still_in_public() {
    let Some((m, mut conn)) = legacy_deployment().await else {
        return;
    };
    m.switch_model("bigger", 16).await.unwrap();
    let (model, dim, column): (String, String, String) = sqlx::query_as(
        "SELECT (SELECT value FROM docvec.docvec_meta WHERE key = 'model_id'),
                (SELECT value FROM docvec.docvec_meta WHERE key = 'dimension'),
                (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = 'docvec.search_chunks'::regclass AND attname = 'embedding')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        (model.as_str(), dim.as_str(), column.as_str()),
        ("bigger", "16", "vector(16)")
    );
    assert_eq!(m.migrate("bigger", 16).await.unwrap(), SCHEMA_VERSION);
    m.close().await;
}

// ---------------------------------------------------------------------------------------------------
// Callable from apps

#[tokio::test(flavor = "multi_thread")]
async fn match_chunks_finds_the_nearest_chunks_through_the_index_with_every_filter() {
    let Some((m, mut conn)) = migrated().await else {
        return;
    };
    let docs = corpus();
    put(&m, &docs).await;
    sqlx::raw_sql(
        "UPDATE docvec.search_chunks SET meta = '{\"lines\": [4, 9]}' WHERE key = 'doc-025#3';
         ANALYZE docvec.documents, docvec.search_chunks, docvec.tags",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let q = vector(987_654);
    let f = "docvec.match_chunks";

    // Unfiltered: the exact top 10 (or within the index's recall), through the HNSW index.
    let mut tx = conn.begin().await.unwrap();
    let hits = match_chunks(&mut tx, f, &q, 10, json!({})).await.unwrap();
    assert_near_exact(&hits, &exact(&docs, &q, 10, |_, _| true), "no filter");
    assert!(hnsw_scans(&mut tx).await > 0, "the HNSW index answers");
    tx.commit().await.unwrap();

    // A filter that passes 4% of the chunks, on the index path (at 3,000 chunks the planner may still
    // prefer an exact scan; with seq scans off it takes the index, as it does for large tables).
    // Without iterative scans the index hands over its ef_search (40) nearest and the filter keeps one
    // or two of them; match_chunks fills 10.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    let plain: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM docvec.search_chunks c JOIN docvec.documents d ON d.id = c.document_id
          WHERE d.format = 'pdf' ORDER BY c.embedding <=> $1 LIMIT 10) x",
    )
    .bind(Vector::from(q.clone()))
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let before = hnsw_scans(&mut tx).await;
    assert!(before > 0, "the plain query takes the index");
    assert!(plain < 10, "a plain index scan fills {plain} of 10");
    let hits = match_chunks(&mut tx, f, &q, 10, json!({"format": "pdf"}))
        .await
        .unwrap();
    assert!(
        hnsw_scans(&mut tx).await > before,
        "match_chunks uses the index too"
    );
    tx.commit().await.unwrap();
    assert!(hits.iter().all(|h| h.format == "pdf"));
    assert_near_exact(
        &hits,
        &exact(&docs, &q, 10, |d, _| d.format == "pdf"),
        "format",
    );
    // The session's own settings are as they were: the function's SET clauses end with the call.
    let (iterative, ef): (String, String) = sqlx::query_as(
        "SELECT current_setting('hnsw.iterative_scan'), current_setting('hnsw.ef_search')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((iterative.as_str(), ef.as_str()), ("off", "40"));

    // Each filter key, alone and together, against the same filter applied to the exact answer.
    type Keep = Box<dyn Fn(&Doc, usize) -> bool>;
    let n = |d: &Doc| d.metadata["n"].as_i64().unwrap();
    let cases: Vec<(Value, Keep)> = vec![
        (
            json!({"document_id": "doc-007"}),
            Box::new(|d, _| d.id == "doc-007"),
        ),
        (
            json!({"path": "manuals/050.pdf"}),
            Box::new(|d, _| d.path == "manuals/050.pdf"),
        ),
        (
            json!({"path_prefix": "manuals/"}),
            Box::new(|d, _| d.path.starts_with("manuals/")),
        ),
        (
            json!({"format": ["PDF", "markdown"]}),
            Box::new(|_, _| true),
        ),
        (
            json!({"metadata": {"lang": "de"}}),
            Box::new(move |d, _| n(d) % 2 == 1),
        ),
        (
            json!({"tags": "  PUMPS "}),
            Box::new(move |d, _| n(d) % 10 == 3),
        ),
        (
            json!({"tags": ["pumps", "Pressure   Alarm"]}),
            Box::new(move |d, j| n(d) % 20 == 3 && j == 5),
        ),
        (
            json!({"tags": ["pressure alarm"], "metadata": {"lang": "de"}, "path_prefix": "guide/0"}),
            Box::new(move |d, j| n(d) % 20 == 3 && j == 5 && n(d) < 100),
        ),
        (
            json!({"format": "pdf", "metadata": {"lang": "de"}}),
            Box::new(move |d, _| d.format == "pdf" && n(d) % 2 == 1),
        ),
        (
            json!({"format": "pdf", "tags": "pumps"}),
            Box::new(|_, _| false),
        ),
    ];
    for (filter, keep) in cases {
        let hits = match_chunks(&mut conn, f, &q, 10, filter.clone())
            .await
            .unwrap();
        assert_near_exact(&hits, &exact(&docs, &q, 10, keep), &filter.to_string());
    }

    // What a hit carries: the chunk's key, document, place and meta.
    let one = match_chunks(&mut conn, f, &q, 30, json!({"document_id": "doc-025"}))
        .await
        .unwrap();
    let h = one.iter().find(|h| h.id == "doc-025#3").unwrap();
    assert_eq!(
        (
            h.document_id.as_str(),
            h.path.as_str(),
            h.section.as_deref(),
            h.page_start,
            h.content.as_str(),
            &h.meta
        ),
        (
            "doc-025",
            "manuals/025.pdf",
            Some("Guide > Intro"),
            Some(4),
            "Chunk 3 of document 25.",
            &json!({"lines": [4, 9]})
        )
    );
    let big = match_chunks(&mut conn, f, &q, 2000, json!({"format": "markdown"}))
        .await
        .unwrap();
    assert_eq!(big.len(), 2000, "match_count above ef_search's bound");

    // Edges: nothing asked, nothing returned; malformed calls are errors that say what is wrong.
    assert!(
        match_chunks(&mut conn, f, &q, 0, json!({}))
            .await
            .unwrap()
            .is_empty()
    );
    for (filter, wanted) in [
        (json!({"fromat": "pdf"}), "unknown filter key(s): fromat"),
        (json!({"format": 3}), "wrong type: format (number)"),
        (json!(["pdf"]), "filter must be a JSON object"),
        (json!({"metadata": "en"}), "wrong type: metadata (string)"),
    ] {
        let err = match_chunks(&mut conn, f, &q, 5, filter).await.unwrap_err();
        assert_eq!(code(&err), "22023", "{err}");
        assert!(err.to_string().contains(wanted), "{err}");
    }
    let err = match_chunks(&mut conn, f, &[1.0, 0.0], 5, json!({}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("different vector dimensions"),
        "{err}"
    );
    let err = sqlx::query("SELECT * FROM docvec.match_chunks(NULL, 5)")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22004", "{err}");
    m.close().await;
}

/// Four chunks with words and hand-made vectors, for the hybrid search.
fn small_corpus(alarm_text: &str) -> Vec<Doc> {
    let v = |a: f32, b: f32, c: f32| {
        let mut x = vec![0.0; DIM];
        x[0] = a;
        x[1] = b;
        x[2] = c;
        x
    };
    vec![
        Doc {
            id: "pumps".into(),
            path: "plant/pumps.md".into(),
            format: "markdown",
            metadata: json!({}),
            tags: vec![],
            chunks: vec![
                (
                    "Centrifugal pumps move water by spinning an impeller.".into(),
                    v(0.2, 1.0, 0.0),
                ),
                (alarm_text.into(), v(0.0, 0.3, 1.0)),
            ],
        },
        Doc {
            id: "bread".into(),
            path: "kitchen/bread.txt".into(),
            format: "text",
            metadata: json!({}),
            tags: vec![],
            chunks: vec![(
                "Sourdough bread rises slowly with wild yeast; the pump of the mixer hums.".into(),
                v(1.0, 0.0, 0.0),
            )],
        },
        Doc {
            id: "moons".into(),
            path: "space/moons.md".into(),
            format: "markdown",
            metadata: json!({}),
            tags: vec![],
            chunks: vec![(
                "Ganymede is the largest moon, bigger than the planet Mercury.".into(),
                v(0.9, 0.1, 0.3),
            )],
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn hybrid_match_chunks_fuses_full_text_and_vector_ranks() {
    let Some((m, mut conn)) = migrated().await else {
        return;
    };
    let docs = small_corpus("Check the pressure alarm when the pump stops.");
    put(&m, &docs).await;
    let f = "docvec.hybrid_match_chunks";
    // Near the bread chunk; the words are in the pump chunks (stemmed: "pumping" finds "pump(s)").
    let q = {
        let mut x = vec![0.0; DIM];
        x[0] = 1.0;
        x[1] = 0.05;
        x
    };
    let semantic: Vec<String> = exact(&docs, &q, 10, |_, _| true)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(semantic[0], "bread#0");

    // Full text alone: the chunks with the words, best ts_rank_cd first, no similarity.
    let text_only = hybrid(&mut conn, f, Hybrid::text("pumping alarm", 10))
        .await
        .unwrap();
    let ids: Vec<&str> = text_only.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["pumps#1"], "websearch syntax: every word must match");
    let text_only = hybrid(&mut conn, f, Hybrid::text("pumping or alarm", 10))
        .await
        .unwrap();
    let ids: HashSet<&str> = text_only.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, HashSet::from(["pumps#0", "pumps#1", "bread#0"]));
    assert_eq!(text_only[0].id, "pumps#1", "both words rank first");
    assert!(text_only.iter().all(|h| h.similarity.is_none()));
    for pair in text_only.windows(2) {
        assert!(pair[0].text_rank >= pair[1].text_rank);
    }

    // Both: each list adds weight / (60 + rank); the same score as computed here from the two lists.
    let both = hybrid(
        &mut conn,
        f,
        Hybrid::text("pressure alarm", 10).and_vector(&q),
    )
    .await
    .unwrap();
    assert_eq!(both.len(), 4, "every chunk is in the semantic list");
    let rrf = |id: &str| {
        let s = semantic.iter().position(|k| k == id).unwrap() as f64 + 1.0;
        let t = if id == "pumps#1" { 1.0 / 61.0 } else { 0.0 };
        1.0 / (60.0 + s) + t
    };
    for h in &both {
        assert!(
            (h.score.unwrap() - rrf(&h.id)).abs() < 1e-9,
            "{} {:?}",
            h.id,
            h.score
        );
        let exact_similarity = cosine(
            &q,
            &docs
                .iter()
                .flat_map(|d| {
                    d.chunks
                        .iter()
                        .enumerate()
                        .map(move |(j, c)| (format!("{}#{j}", d.id), c.1.clone()))
                })
                .find(|(k, _)| *k == h.id)
                .unwrap()
                .1,
        );
        assert!((h.similarity.unwrap() - exact_similarity).abs() < 1e-5);
    }
    assert_eq!(
        both[0].id, "pumps#1",
        "found by both lists, it beats the nearest chunk"
    );
    assert!(both[0].text_rank.is_some());
    assert_eq!(both[1].id, "bread#0");
    assert!(both[1].text_rank.is_none());

    // Weights: with full text weighted 0 the order is the vector order; match_count cuts the list.
    let vector_order = hybrid(
        &mut conn,
        f,
        Hybrid {
            weights: (0.0, 1.0),
            ..Hybrid::text("pressure alarm", 3).and_vector(&q)
        },
    )
    .await
    .unwrap();
    let ids: Vec<&str> = vector_order.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(
        ids,
        semantic[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );
    // candidates bounds each list: one from each here.
    let one_each = hybrid(
        &mut conn,
        f,
        Hybrid {
            candidates: Some(1),
            ..Hybrid::text("mercury", 10).and_vector(&q)
        },
    )
    .await
    .unwrap();
    let ids: HashSet<&str> = one_each.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, HashSet::from(["bread#0", "moons#0"]));

    // The filter applies to both lists.
    let filtered = hybrid(
        &mut conn,
        f,
        Hybrid {
            filter: json!({"path_prefix": "plant/"}),
            ..Hybrid::text("pump", 10).and_vector(&q)
        },
    )
    .await
    .unwrap();
    assert!(filtered.iter().all(|h| h.path == "plant/pumps.md"));
    assert_eq!(filtered.len(), 2);

    // The full-text column follows the chunk's text as the mirror rewrites the document.
    m.put_document(&small_corpus("Check the siren when the pump stops.")[0].export())
        .await
        .unwrap();
    let gone = hybrid(&mut conn, f, Hybrid::text("alarm", 10))
        .await
        .unwrap();
    assert!(gone.is_empty());
    let found = hybrid(&mut conn, f, Hybrid::text("sirens", 10))
        .await
        .unwrap();
    assert_eq!(found[0].id, "pumps#1");

    // Neither words nor a vector: an error that says so.
    let err = hybrid(&mut conn, f, Hybrid::text("the", 10))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22004", "{err}");
    m.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_read_only_search_template_lets_the_api_roles_search_and_nothing_more() {
    let Some((m, mut conn)) = migrated().await else {
        return;
    };
    let docs = corpus();
    put(&m, &docs[..30]).await;
    let q = vector(5);
    let owner = match_chunks(&mut conn, "docvec.match_chunks", &q, 5, json!({}))
        .await
        .unwrap();

    sqlx::raw_sql(TEMPLATE).execute(&mut conn).await.unwrap();
    // Twice is the same as once.
    sqlx::raw_sql(TEMPLATE).execute(&mut conn).await.unwrap();
    for role in ["anon", "authenticated", "service_role"] {
        set_role(&mut conn, role).await;
        // What supabase.rpc('match_chunks', ...) runs: the public wrapper.
        let hits = match_chunks(&mut conn, "public.match_chunks", &q, 5, json!({}))
            .await
            .unwrap();
        assert_eq!(
            hits.iter().map(|h| &h.id).collect::<Vec<_>>(),
            owner.iter().map(|h| &h.id).collect::<Vec<_>>(),
            "{role}"
        );
        let filtered = match_chunks(
            &mut conn,
            "public.match_chunks",
            &q,
            5,
            json!({"tags": ["pumps"]}),
        )
        .await
        .unwrap();
        assert!(filtered.iter().all(|h| h.document_id.ends_with('3')));
        let mixed = hybrid(
            &mut conn,
            "public.hybrid_match_chunks",
            Hybrid::text("chunk document", 5).and_vector(&q),
        )
        .await
        .unwrap();
        assert_eq!(mixed.len(), 5, "{role}");
        set_role(&mut conn, "NONE").await;
    }
    // Read-only: the readers write nothing, and read nothing the functions do not need.
    for role in ["anon", "authenticated"] {
        for table in TABLES {
            let [select, insert, update, delete] = attempts(&mut conn, role, table).await;
            let readable = matches!(
                *table,
                "documents" | "search_chunks" | "document_sections" | "tags"
            );
            assert_eq!(
                select == "denied",
                !readable,
                "{role} reads {table}: {select}"
            );
            assert_eq!(
                [insert.as_str(), update.as_str(), delete.as_str()],
                ["denied"; 3],
                "{role} writes {table}"
            );
        }
    }

    // Narrowed: only signed-in users, and only documents under manuals/ (chunks follow them).
    let narrowed = TEMPLATE
        .replace(
            "readers text[] := ARRAY['anon', 'authenticated', 'service_role'];",
            "readers text[] := ARRAY['authenticated'];",
        )
        .replace(
            "visible text := 'true';",
            "visible text := 'starts_with(path, ''manuals/'')';",
        );
    assert_ne!(narrowed, TEMPLATE);
    sqlx::raw_sql(sqlx::AssertSqlSafe(narrowed))
        .execute(&mut conn)
        .await
        .unwrap();
    set_role(&mut conn, "authenticated").await;
    let hits = match_chunks(&mut conn, "public.match_chunks", &q, 10, json!({}))
        .await
        .unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h.path.starts_with("manuals/")));
    let (documents, chunks): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM docvec.documents), (SELECT count(*) FROM docvec.search_chunks)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((documents, chunks), (2, 60), "documents 0 and 25 only");
    set_role(&mut conn, "NONE").await;
    set_role(&mut conn, "anon").await;
    let err = match_chunks(&mut conn, "public.match_chunks", &q, 5, json!({}))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "42501", "anon dropped from the readers: {err}");
    set_role(&mut conn, "NONE").await;

    // Migrations run again (docvec migrate, or the compose file's runner applying every file) keep
    // the opt-in; the revoke file undoes it.
    for (_, _, sql) in MIGRATIONS {
        sqlx::raw_sql(sqlx::AssertSqlSafe(
            sql.replace("{{DIM}}", &DIM.to_string()),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    set_role(&mut conn, "authenticated").await;
    assert_eq!(
        match_chunks(&mut conn, "public.match_chunks", &q, 3, json!({}))
            .await
            .unwrap()
            .len(),
        3
    );
    set_role(&mut conn, "NONE").await;
    sqlx::raw_sql(REVOKE_TEMPLATE)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(REVOKE_TEMPLATE)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_private(&mut conn).await;
    let policies: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_policies WHERE schemaname = 'docvec'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(policies, 0);
    for table in TABLES {
        assert_eq!(
            attempts(&mut conn, "authenticated", table).await,
            ["denied"; 4],
            "{table}"
        );
    }
    m.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_load_drops_and_rebuilds_both_search_indexes() {
    let Some((m, mut conn)) = migrated().await else {
        return;
    };
    let indexes = "SELECT to_regclass('docvec.search_chunks_embedding_hnsw') IS NOT NULL,
                          to_regclass('docvec.search_chunks_fts') IS NOT NULL";
    m.drop_vector_index().await.unwrap();
    let gone: (bool, bool) = sqlx::query_as(indexes).fetch_one(&mut conn).await.unwrap();
    assert_eq!(gone, (false, false));
    assert!(!m.vector_index_exists().await.unwrap());
    put(&m, &small_corpus("Check the pressure alarm.")).await;
    m.build_vector_index("64MB").await.unwrap();
    let built: (bool, bool) = sqlx::query_as(indexes).fetch_one(&mut conn).await.unwrap();
    assert_eq!(built, (true, true));
    assert!(m.vector_index_exists().await.unwrap());
    let hits = hybrid(
        &mut conn,
        "docvec.hybrid_match_chunks",
        Hybrid::text("alarm", 5),
    )
    .await
    .unwrap();
    assert_eq!(hits[0].id, "pumps#1");
    m.close().await;
}
