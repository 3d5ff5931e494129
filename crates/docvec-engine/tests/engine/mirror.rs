//! The Supabase mirror against a real PostgreSQL with pgvector: the README's test command starts one
//! (tools/pg.sh) and exports DOCVEC_TEST_DATABASE_URL; each test gets a database of its own. Without it
//! these tests say SKIPPED and pass (outside CI; under CI=true they fail).

use std::path::{Path, PathBuf};

use docvec_engine::{
    Access, BackfillOptions, ChunkFilter, Config, Engine, IngestOptions, SearchMode, SearchRequest,
    StorageMode,
};
use sqlx::Connection;

use docvec_testkit::private_pg::PrivateServer;
use docvec_testkit::samples_dir;

use super::{ingest, nearest};

/// A vector search, routed by the engine's storage mode.
fn vector_request(query: &str, k: usize, filter: ChunkFilter) -> SearchRequest {
    SearchRequest::text(query, k)
        .mode(SearchMode::Vector)
        .filter(filter)
}

/// The corpus's API descriptions (a skip without them; a failure under CI).
fn corpus_api() -> Option<PathBuf> {
    docvec_testkit::corpus(&["api"]).map(|c| c.join("api"))
}

/// A fresh database on the test server, or None (a skip; a failure under CI) when there is none.
async fn fresh_database() -> Option<String> {
    let server = docvec_testkit::require_database()?;
    Some(docvec_testkit::fresh_database(&server, "docvec_t").await)
}

fn config(data: &Path, url: &str, mode: StorageMode) -> Config {
    let mut c = Config::load(Some(Path::new("/dev/null")), Some(data)).unwrap();
    c.mirror.url = Some(url.to_string());
    c.mirror.mode = mode;
    c.mirror.connect_timeout_secs = 2;
    c.mirror.timeout_secs = 10;
    c
}

async fn engine(data: &Path, url: &str, mode: StorageMode) -> Engine {
    Engine::open(config(data, url, mode), Access::ReadWrite)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_apply_to_an_empty_database_and_again() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let e = engine(data.path(), &url, StorageMode::Local).await;
    assert_eq!(
        e.migrate_remote().await.unwrap(),
        docvec_mirror::SCHEMA_VERSION
    );
    assert_eq!(
        e.migrate_remote().await.unwrap(),
        docvec_mirror::SCHEMA_VERSION
    );
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'docvec' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for t in [
        "api_endpoints",
        "artifacts",
        "docvec_meta",
        "document_sections",
        "document_tables",
        "documents",
        "evidence",
        "facts",
        "log_entries",
        "search_chunks",
        "tags",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} missing from {tables:?}");
    }
    // Jobs live in the server's SQLite store only (migration 5 dropped the table nothing wrote).
    assert!(!tables.iter().any(|x| x == "jobs"), "{tables:?}");
    let index: Option<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'search_chunks_embedding_hnsw'",
    )
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    assert!(index.unwrap().contains("vector_cosine_ops"));
    let dim: String = sqlx::query_scalar(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'docvec.search_chunks'::regclass AND attname = 'embedding'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(dim, "vector(384)");
    e.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_write_mirrors_every_change_and_each_mode_reads_where_it_should() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let e = engine(data.path(), &url, StorageMode::DualWrite).await;
    let report = ingest(&e, &[samples_dir()]).await;
    let mirror = report.mirror.expect("dual_write reports the mirror");
    assert_eq!((mirror.pushed, mirror.pending, mirror.error), (4, 0, None));
    let parity = e.parity(50).await.unwrap();
    assert_eq!(parity.differences(), 0, "{parity:#?}");
    assert!(parity.vectors_checked > 0);

    // A delete reaches the remote too.
    let bread = samples_dir().join("sourdough-bread.txt");
    e.delete(bread.to_str().unwrap()).await.unwrap();
    let parity = e.parity(50).await.unwrap();
    assert_eq!(parity.differences(), 0, "{parity:#?}");
    assert_eq!(parity.tables[0].remote, 3);
    let local = e
        .search(&vector_request(
            "how does a graph index find similar vectors",
            3,
            ChunkFilter::default(),
        ))
        .await
        .unwrap();
    assert_eq!(local.source, "local");
    e.close().await.unwrap();

    // The same data read from Postgres: the same top hits, in the same shape.
    for mode in [StorageMode::Supabase, StorageMode::Fallback] {
        let r = Engine::open(config(data.path(), &url, mode), Access::ReadOnly)
            .await
            .unwrap();
        for query in [
            "how does a graph index find similar vectors",
            "which moon is bigger than a planet",
        ] {
            let local = nearest(&r, query, 3).await;
            let remote = r
                .search(&vector_request(query, 3, ChunkFilter::default()))
                .await
                .unwrap();
            assert_eq!(remote.source, "remote");
            let keys = |h: &[docvec_engine::SearchHit]| {
                h.iter().map(|h| h.chunk_key.clone()).collect::<Vec<_>>()
            };
            assert_eq!(keys(&remote.hits), keys(&local), "{query}");
            assert!((remote.hits[0].score - local[0].score).abs() < 1e-4);
            assert_eq!(remote.hits[0].page, local[0].page);
            assert_eq!(remote.hits[0].section, local[0].section);
        }
        let filtered = r
            .search(&vector_request(
                "planets",
                5,
                ChunkFilter {
                    formats: vec!["markdown".into()],
                    ..Default::default()
                },
            ))
            .await
            .unwrap();
        assert!(
            filtered
                .hits
                .iter()
                .all(|h| h.format == docvec_engine::Format::Markdown)
        );
        r.close().await.unwrap();
    }
}

/// The SQL functions apps call over Supabase's RPC, on documents and vectors docvec mirrored, with the
/// model's own query embeddings: they answer as docvec's own search does.
#[tokio::test(flavor = "multi_thread")]
async fn apps_search_the_mirror_through_match_chunks_as_docvec_does() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let e = engine(data.path(), &url, StorageMode::DualWrite).await;
    ingest(&e, &[samples_dir()]).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    // pgvector's text form, as supabase-js sends an array.
    let literal = |v: &[f32]| {
        let parts: Vec<String> = v.iter().map(f32::to_string).collect();
        format!("[{}]", parts.join(","))
    };
    for query in [
        "how does a graph index find similar vectors",
        "which moon is bigger than a planet",
        "baking a loaf with wild yeast",
    ] {
        let local = nearest(&e, query, 3).await;
        let q = e.embed_query(query).await.unwrap();
        let rows: Vec<(String, String, f64, serde_json::Value)> = sqlx::query_as(
            "SELECT id, path, similarity, meta FROM docvec.match_chunks($1::vector, 3, '{}')",
        )
        .bind(literal(&q.values))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let local_keys: Vec<&str> = local.iter().map(|h| h.chunk_key.as_str()).collect();
        assert_eq!(keys, local_keys, "{query}");
        // Each row's span, as the local hit has it, in `meta`.
        for (row, hit) in rows.iter().zip(&local) {
            let span = serde_json::to_value(hit.span.as_ref().unwrap()).unwrap();
            assert!(
                span["byte_end"].as_u64() > span["byte_start"].as_u64(),
                "{span}"
            );
            assert_eq!(row.3["span"], span, "{query}");
        }
        assert_eq!(rows[0].1, local[0].document_path);
        assert!((rows[0].2 - local[0].score as f64).abs() < 1e-4, "{query}");

        // The hybrid function with the same words: the document local search puts first, first.
        let top: (String, Option<f32>) = sqlx::query_as(
            "SELECT path, text_rank FROM docvec.hybrid_match_chunks($1, $2::vector, 3)",
        )
        .bind(query)
        .bind(literal(&q.values))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(top.0, local[0].document_path, "{query}");
    }
    // Filters as docvec's: a format, and a tag (the format is one of each document's tags).
    let q = e.embed_query("planets and moons").await.unwrap();
    for filter in [r#"{"format": "markdown"}"#, r#"{"tags": ["Markdown"]}"#] {
        let formats: Vec<String> =
            sqlx::query_scalar("SELECT format FROM docvec.match_chunks($1::vector, 5, $2::jsonb)")
                .bind(literal(&q.values))
                .bind(filter)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert!(!formats.is_empty(), "{filter}");
        assert!(
            formats.iter().all(|f| f == "markdown"),
            "{filter}: {formats:?}"
        );
    }
    e.close().await.unwrap();
}

/// A private Postgres the test may crash, a fresh database on it and the corpus's API folder; `None`
/// (with a message) without a test server or the corpus.
async fn crashable_remote() -> Option<(tempfile::TempDir, PrivateServer, String, PathBuf)> {
    let api = corpus_api()?;
    let dir = tempfile::tempdir().unwrap();
    let server = PrivateServer::require(dir.path())?;
    let url = docvec_testkit::fresh_database(&server.url, "docvec_t").await;
    Some((dir, server, url, api))
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_made_while_postgres_is_down_wait_in_the_outbox_and_drain_in_order() {
    let Some((dir, server, url, api)) = crashable_remote().await else {
        return;
    };
    let data = dir.path().join("data");
    let e = engine(&data, &url, StorageMode::DualWrite).await;
    ingest(&e, &[samples_dir()]).await;

    // Postgres crashes (immediate stop) while the next ingest is under way.
    let done = std::sync::atomic::AtomicUsize::new(0);
    let report = e
        .ingest(
            std::slice::from_ref(&api),
            &IngestOptions::default(),
            &|event| {
                let file_done = matches!(event, docvec_engine::IngestEvent::FileDone { .. });
                if file_done && done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                    server.kill();
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(
        report.failures().count(),
        0,
        "local writes do not depend on Postgres"
    );
    let mirror = report.mirror.unwrap();
    assert!(mirror.error.is_some());
    assert_eq!(mirror.pending, 11, "{mirror:?}");
    let status = e
        .mirror_status(std::time::Duration::from_secs(3))
        .await
        .unwrap();
    assert!(!status.remote.unwrap().reachable);
    assert_eq!(status.outbox.pending, 11);

    // Supabase mode fails cleanly while it is down; fallback serves local results and says so.
    let reader = |mode| Engine::open(config(&data, &url, mode), Access::ReadOnly);
    let supabase = reader(StorageMode::Supabase).await.unwrap();
    let err = supabase
        .search(&vector_request("list users", 3, ChunkFilter::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
    let fallback = reader(StorageMode::Fallback).await.unwrap();
    let r = fallback
        .search(&vector_request("list users", 3, ChunkFilter::default()))
        .await
        .unwrap();
    assert_eq!((r.source, r.hits.len()), ("local", 3));
    assert!(r.warning.is_some());

    // Back up: the outbox drains and the remote matches the local store exactly.
    server.restart();
    let drained = e.drain_outbox().await.unwrap();
    assert_eq!(
        (drained.pushed, drained.pending, drained.error),
        (11, 0, None)
    );
    let parity = e.parity(500).await.unwrap();
    assert_eq!(parity.differences(), 0, "{parity:#?}");
    assert_eq!(parity.tables[0].remote, 15);
    // And Supabase mode answers again without a restart.
    let r = supabase
        .search(&vector_request("list users", 3, ChunkFilter::default()))
        .await
        .unwrap();
    assert_eq!(r.source, "remote");
    e.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_copies_a_local_store_resumably_and_parity_agrees() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    // Ingested with no mirror at all.
    let mut paths = vec![samples_dir()];
    // Without the corpus (outside CI) the backfill still runs, on samples/ alone.
    paths.extend(corpus_api());
    {
        let local = Engine::open(
            Config::load(Some(Path::new("/dev/null")), Some(data.path())).unwrap(),
            Access::ReadWrite,
        )
        .await
        .unwrap();
        ingest(&local, &paths).await;
        local.close().await.unwrap();
    }
    let e = engine(data.path(), &url, StorageMode::Local).await;
    let documents = e.documents().await.unwrap().len() as u64;
    let dry = e
        .backfill(
            data.path(),
            &BackfillOptions {
                dry_run: true,
                ..Default::default()
            },
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!((dry.documents, dry.copied), (documents, documents));
    let report = e
        .backfill(data.path(), &BackfillOptions::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!(report.copied, documents);
    assert!(
        report.rebuilt_index,
        "a bulk load into an empty table rebuilds the index once"
    );
    let parity = e.parity(1000).await.unwrap();
    assert_eq!(parity.differences(), 0, "{parity:#?}");
    // Run again (an interrupted backfill resumed): nothing is copied twice.
    let again = e
        .backfill(data.path(), &BackfillOptions::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!((again.copied, again.skipped), (0, documents));
    // --reset copies everything anew.
    let reset = e
        .backfill(
            data.path(),
            &BackfillOptions {
                reset: true,
                ..Default::default()
            },
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(reset.copied, documents);
    assert_eq!(e.parity(100).await.unwrap().differences(), 0);
    e.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_cut_off_by_a_postgres_crash_resumes_to_parity() {
    let Some((dir, server, url, api)) = crashable_remote().await else {
        return;
    };
    let data = dir.path().join("data");
    let mut c = config(&data, &url, StorageMode::Local);
    // Small transactions, so some commit before the crash and some are cut off.
    c.mirror.transaction_rows = 20;
    let e = Engine::open(c, Access::ReadWrite).await.unwrap();
    ingest(&e, &[samples_dir(), api]).await;
    let documents = e.documents().await.unwrap().len() as u64;
    assert!(documents > 10);

    let seen = std::sync::atomic::AtomicU64::new(0);
    let cut = e
        .backfill(&data, &BackfillOptions::default(), &|event| {
            if matches!(event, docvec_engine::BackfillEvent::Document { .. })
                && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == documents / 2
            {
                server.kill();
            }
        })
        .await;
    assert!(cut.is_err(), "the backfill reports the crash: {cut:?}");

    server.restart();
    let resumed = e
        .backfill(&data, &BackfillOptions::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!(resumed.copied + resumed.skipped, documents);
    assert!(resumed.copied > 0, "{resumed:?}");
    assert!(
        resumed.rebuilt_index,
        "the crash left the remote without its vector index; the resumed run builds it"
    );
    let parity = e.parity(1000).await.unwrap();
    assert_eq!(parity.differences(), 0, "{parity:#?}");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let index: bool =
        sqlx::query_scalar("SELECT to_regclass('docvec.search_chunks_embedding_hnsw') IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(index);
    e.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_switch_reaches_the_mirror_even_when_postgres_is_down_during_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = PrivateServer::require(dir.path()) else {
        return;
    };
    let url = docvec_testkit::fresh_database(&server.url, "docvec_t").await;
    let data = dir.path().join("data");
    let mut cfg = config(&data, &url, StorageMode::DualWrite);
    let two = Config::load(
        Some(&super::models::two_model_file(dir.path())),
        Some(&data),
    )
    .unwrap();
    cfg.models = two.models;
    let e = Engine::open(cfg, Access::ReadWrite).await.unwrap();
    ingest(&e, &[samples_dir()]).await;
    let remote_model = |url: String| async move {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let model: String =
            sqlx::query_scalar("SELECT value FROM docvec.docvec_meta WHERE key = 'model_id'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        model
    };
    assert_eq!(remote_model(url.clone()).await, super::models::default_id());

    // Postgres is down for the whole switch: the local switch completes, the re-sync waits.
    server.kill();
    let report = e
        .rebuild_index(
            &docvec_engine::RebuildOptions {
                model: Some("int8".into()),
                ..Default::default()
            },
            &|_| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .await
        .unwrap();
    assert_eq!(e.model_id(), "int8");
    let mirror = report.mirror.expect("a switch re-syncs the mirror");
    assert!(mirror.error.is_some(), "{mirror:?}");
    assert_eq!(mirror.pending, 4, "every document waits: {mirror:?}");

    // Back up: the remote is pointed at the new model first, then every document is sent again.
    server.restart();
    let drained = e.drain_outbox().await.unwrap();
    assert_eq!(
        (drained.pushed, drained.pending, drained.error),
        (4, 0, None)
    );
    assert_eq!(remote_model(url.clone()).await, "int8");
    let parity = e.parity(500).await.unwrap();
    assert_eq!(parity.differences(), 0, "{parity:#?}");
    assert!(parity.vectors_checked > 0);
    assert_eq!(parity.vectors_different, 0);

    // Another dimension remakes the vector column and its index; switching back refills it.
    let mirror = docvec_mirror::Mirror::connect_lazy(e.config().mirror.options().unwrap()).unwrap();
    mirror.switch_model("tiny", 8).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let column = "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
                  WHERE attrelid = 'docvec.search_chunks'::regclass AND attname = 'embedding'";
    let dim: String = sqlx::query_scalar(column)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(dim, "vector(8)");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM docvec.search_chunks")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let index: Option<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'search_chunks_embedding_hnsw'",
    )
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    assert!(index.is_some_and(|d| d.contains("vector_cosine_ops")));
    mirror.switch_model("int8", 384).await.unwrap();
    let dim: String = sqlx::query_scalar(column)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(dim, "vector(384)");
    let report = e
        .rebuild_index(
            &docvec_engine::RebuildOptions {
                resync_mirror: true,
                ..Default::default()
            },
            &|_| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .await
        .unwrap();
    assert_eq!(report.mirror.unwrap().pending, 0);
    let parity = e.parity(500).await.unwrap();
    assert_eq!(parity.differences(), 0, "{parity:#?}");
    e.close().await.unwrap();
}

/// Documents' own metadata reaches Postgres and filters there as it does locally: in docvec's remote
/// search and in `match_chunks`' `meta` filter, which refuses an unknown operator.
#[tokio::test(flavor = "multi_thread")]
async fn metadata_filters_the_mirror_as_it_filters_locally() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let e = engine(data.path(), &url, StorageMode::DualWrite).await;
    let meta = |v: serde_json::Value| v.as_object().unwrap().clone();
    let with = |m| IngestOptions {
        meta: m,
        ..Default::default()
    };
    e.ingest(
        &[samples_dir()],
        &with(meta(serde_json::json!({"year": 2021, "kind": "sample"}))),
        &|_| {},
    )
    .await
    .unwrap();
    let bread = samples_dir().join("sourdough-bread.txt");
    e.ingest(
        &[bread],
        &with(meta(
            serde_json::json!({"year": 2024, "kind": ["sample", "food"]}),
        )),
        &|_| {},
    )
    .await
    .unwrap();
    let filter = |v: serde_json::Value| ChunkFilter {
        meta: docvec_engine::parse_meta_filter(&v).unwrap(),
        ..Default::default()
    };
    let local = e
        .search(&vector_request(
            "planets and moons",
            5,
            filter(serde_json::json!({"year": {"gte": 2022}})),
        ))
        .await
        .unwrap();
    assert!(!local.hits.is_empty());
    assert!(
        local
            .hits
            .iter()
            .all(|h| h.document_path.ends_with("sourdough-bread.txt"))
    );
    e.close().await.unwrap();

    let r = Engine::open(
        config(data.path(), &url, StorageMode::Supabase),
        Access::ReadOnly,
    )
    .await
    .unwrap();
    for (f, only_bread) in [
        (serde_json::json!({"year": {"gte": 2022}}), true),
        (serde_json::json!({"kind": "food"}), true),
        (
            serde_json::json!({"kind": ["sample"], "year": {"lt": 2022}}),
            false,
        ),
    ] {
        let remote = r
            .search(&vector_request("planets and moons", 5, filter(f.clone())))
            .await
            .unwrap();
        assert_eq!(remote.source, "remote");
        assert!(!remote.hits.is_empty(), "{f}");
        for h in &remote.hits {
            assert_eq!(
                h.document_path.ends_with("sourdough-bread.txt"),
                only_bread,
                "{f}"
            );
            assert!(
                h.meta
                    .as_ref()
                    .is_some_and(|m| m["kind"] != serde_json::Value::Null),
                "{f}"
            );
        }
    }
    let q = r.embed_query("planets and moons").await.unwrap();
    r.close().await.unwrap();

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let literal = format!(
        "[{}]",
        q.values
            .iter()
            .map(f32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let paths: Vec<String> = sqlx::query_scalar(
        "SELECT path FROM docvec.match_chunks($1::vector, 5, '{\"meta\": {\"year\": {\"gte\": 2022, \"lte\": 2024}}}')",
    )
    .bind(&literal)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        !paths.is_empty() && paths.iter().all(|p| p.ends_with("sourdough-bread.txt")),
        "{paths:?}"
    );
    let hybrid: Vec<String> = sqlx::query_scalar(
        "SELECT path FROM docvec.hybrid_match_chunks('bread', NULL, 5, '{\"meta\": {\"kind\": \"food\"}}')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        !hybrid.is_empty() && hybrid.iter().all(|p| p.ends_with("sourdough-bread.txt")),
        "{hybrid:?}"
    );
    let err = sqlx::query(
        "SELECT * FROM docvec.match_chunks($1::vector, 5, '{\"meta\": {\"year\": {\"near\": 1}}}')",
    )
    .bind(&literal)
    .fetch_all(&mut conn)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("unknown meta operator"), "{err}");
}
