//! The SQLite store on a real database file.

use docvec_store::{LogOp, ModelSwitch, NewChunk, NewDocument, NewSection, PutOutcome, Store};
use docvec_types::Format;

fn section(heading: &str) -> NewSection<'_> {
    NewSection {
        heading: Some(heading),
        level: 1,
        heading_path: heading.to_string(),
        page_start: Some(1),
        page_end: Some(2),
    }
}

/// Documents of these tests have no metadata of their own.
static NO_META: std::sync::LazyLock<docvec_types::Metadata> =
    std::sync::LazyLock::new(docvec_types::Metadata::new);

fn chunk<'a>(ordinal: u32, text: &'a str, vector: &'a [f32]) -> NewChunk<'a> {
    NewChunk {
        key: text,
        section: 0,
        ordinal,
        text,
        context: "",
        input_hash: format!("h-{text}"),
        page_start: Some(1),
        page_end: Some(1),
        token_count: 3,
        vector,
        span: None,
    }
}

fn doc<'a>(
    path: &'a str,
    hash: &'a str,
    chunks: Vec<NewChunk<'a>>,
    meta: &'a serde_json::Map<String, serde_json::Value>,
) -> NewDocument<'a> {
    NewDocument {
        id: path,
        path,
        content_hash: hash,
        format: Format::Markdown,
        title: Some("T"),
        size_bytes: 10,
        metadata: meta,
        tags: &[],
        model_id: "m",
        sections: vec![section("Intro")],
        chunks,
        endpoints: &[],
        log_entries: &[],
        tables: &[],
        media_type: "text/markdown",
        document_tags: &[],
        chunk_tags: &[],
        facts: &[],
        text: None,
        meta: &NO_META,
    }
}

/// Puts a document at `path` whose chunks are `texts` in order, every one with the vector `v`.
async fn put(store: &Store, path: &str, hash: &str, texts: &[&str], v: &[f32]) -> PutOutcome {
    let meta = serde_json::Map::new();
    let chunks = (0..)
        .zip(texts)
        .map(|(ordinal, text)| chunk(ordinal, text, v))
        .collect();
    store
        .put_document(&doc(path, hash, chunks, &meta))
        .await
        .unwrap()
}

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("docvec.db")).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_document_round_trips_and_is_logged_for_the_index() {
    let (_dir, store) = open().await;
    let v = [0.6f32, 0.8];
    let out = put(&store, "/a.md", "h1", &["alpha", "beta"], &v).await;
    assert_eq!(out.chunk_ids.len(), 2);
    assert_eq!(out.replaced_chunks, 0);

    let d = store.document("/a.md").await.unwrap().unwrap();
    assert_eq!(
        (d.chunk_count, d.content_hash.as_str(), d.format.as_str()),
        (2, "h1", "markdown")
    );
    let log = store.log_after(0, 100).await.unwrap();
    assert_eq!(
        log.iter().map(|e| (e.op, e.chunk_id)).collect::<Vec<_>>(),
        out.chunk_ids
            .iter()
            .map(|&i| (LogOp::Add, i))
            .collect::<Vec<_>>()
    );
    let vectors = store.vectors(&out.chunk_ids, "m").await.unwrap();
    assert_eq!(vectors[0].1, v);
    assert!(
        store
            .vectors(&out.chunk_ids, "other-model")
            .await
            .unwrap()
            .is_empty()
    );
    let hits = store.chunk_hits(&out.chunk_ids).await.unwrap();
    assert_eq!(hits[&out.chunk_ids[1]].text, "beta");
    assert_eq!(hits[&out.chunk_ids[1]].section, "Intro");
    assert_eq!(hits[&out.chunk_ids[1]].page_start, Some(1));
}

#[tokio::test]
async fn replacing_a_document_removes_every_old_row_and_logs_the_deletes() {
    let (_dir, store) = open().await;
    let v = [1.0f32, 0.0];
    let first = put(&store, "/a.md", "h1", &["old one", "old two"], &v).await;
    let second = put(&store, "/a.md", "h2", &["new"], &v).await;
    assert_eq!(second.replaced_chunks, 2);
    assert!(
        second.chunk_ids[0] > first.chunk_ids[1],
        "chunk ids are never reused"
    );
    assert!(
        store.chunk_hits(&first.chunk_ids).await.unwrap().is_empty(),
        "old chunks are gone"
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.documents, stats.chunks, stats.sections), (1, 1, 1));
    let ops: Vec<_> = store
        .log_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.op, e.chunk_id))
        .collect();
    assert_eq!(
        &ops[2..4],
        &[
            (LogOp::Delete, first.chunk_ids[0]),
            (LogOp::Delete, first.chunk_ids[1])
        ]
    );
    assert_eq!(ops[4], (LogOp::Add, second.chunk_ids[0]));
    // Only the current version's inputs are there to reuse.
    let reuse = store
        .vectors_by_input(&["h-old one", "h-new"], "m")
        .await
        .unwrap();
    assert_eq!(reuse.keys().collect::<Vec<_>>(), ["h-new"]);
}

#[tokio::test]
async fn an_input_embedded_in_any_document_is_found_by_its_hash_for_its_model_only() {
    let (_dir, store) = open().await;
    put(
        &store,
        "/a.md",
        "h1",
        &["shared row", "only in a"],
        &[1.0, 0.0],
    )
    .await;
    put(&store, "/b.md", "h2", &["shared row"], &[1.0, 0.0]).await;
    // More hashes than one query takes, the known ones last.
    let mut hashes: Vec<String> = (0..1200).map(|i| format!("h-missing {i}")).collect();
    hashes.push("h-shared row".into());
    hashes.push("h-only in a".into());
    let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
    let found = store.vectors_by_input(&refs, "m").await.unwrap();
    let mut keys: Vec<&String> = found.keys().collect();
    keys.sort();
    assert_eq!(keys, ["h-only in a", "h-shared row"]);
    assert_eq!(found["h-shared row"], vec![1.0, 0.0]);
    assert!(
        store
            .vectors_by_input(&refs, "other-model")
            .await
            .unwrap()
            .is_empty(),
        "another model's vectors are not this one's"
    );
}

#[tokio::test]
async fn a_failed_write_leaves_nothing_behind() {
    let (_dir, store) = open().await;
    let meta = serde_json::Map::new();
    let v = [1.0f32, 0.0];
    put(&store, "/keep.md", "h", &["kept"], &v).await;
    let seq = store.last_log_seq().await.unwrap();
    // Two chunks with the same ordinal violate UNIQUE(document_id, ordinal) after the first insert.
    let bad = doc(
        "/bad.md",
        "h",
        vec![chunk(0, "one", &v), chunk(0, "two", &v)],
        &meta,
    );
    assert!(store.put_document(&bad).await.is_err());
    assert!(store.document("/bad.md").await.unwrap().is_none());
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.documents, stats.chunks, stats.sections), (1, 1, 1));
    assert_eq!(
        store.last_log_seq().await.unwrap(),
        seq,
        "no log entries from the failed write"
    );

    // Replacing a document with a bad version keeps the old version whole.
    let bad_replace = doc(
        "/keep.md",
        "h2",
        vec![chunk(0, "x", &v), chunk(0, "y", &v)],
        &meta,
    );
    assert!(store.put_document(&bad_replace).await.is_err());
    assert_eq!(
        store
            .document("/keep.md")
            .await
            .unwrap()
            .unwrap()
            .content_hash,
        "h"
    );
    assert_eq!(store.stats().await.unwrap().chunks, 1);
}

#[tokio::test]
async fn deleting_logs_and_cascades() {
    let (_dir, store) = open().await;
    let v = [1.0f32, 0.0];
    let out = put(&store, "/a.md", "h", &["a"], &v).await;
    assert_eq!(
        store.delete_document("/a.md").await.unwrap(),
        Some(("/a.md".to_string(), 1))
    );
    assert_eq!(store.delete_document("/a.md").await.unwrap(), None);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.documents, stats.chunks, stats.sections), (0, 0, 0));
    assert!(
        store.vectors(&out.chunk_ids, "m").await.unwrap().is_empty(),
        "vectors cascade"
    );
    let last = store.log_after(0, 10).await.unwrap().pop().unwrap();
    assert_eq!((last.op, last.chunk_id), (LogOp::Delete, out.chunk_ids[0]));

    // Pruning keeps the sequence: the next entry continues after the pruned ones.
    let seq = store.last_log_seq().await.unwrap();
    store.prune_log(seq).await.unwrap();
    assert!(store.log_after(0, 10).await.unwrap().is_empty());
    assert_eq!(store.last_log_seq().await.unwrap(), seq);
}

#[tokio::test]
async fn reopening_keeps_data_and_meta() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docvec.db");
    {
        let store = Store::open(&path).await.unwrap();
        store.set_meta("model_id", "m").await.unwrap();
        store.set_meta("model_id", "m2").await.unwrap();
        store.close().await;
    }
    let store = Store::open(&path).await.unwrap();
    assert_eq!(
        store.get_meta("model_id").await.unwrap().as_deref(),
        Some("m2")
    );
    assert_eq!(store.get_meta("nope").await.unwrap(), None);
}

#[tokio::test]
async fn endpoints_are_stored_with_their_document_and_filtered() {
    use docvec_store::EndpointFilter;
    use docvec_types::{ApiEndpoint, ApiParameter, EndpointKind};
    let (_dir, store) = open().await;
    let meta = serde_json::Map::new();
    let v = [1.0f32, 0.0];
    let ep = |method: &str, path: &str| ApiEndpoint {
        method: method.into(),
        path: path.into(),
        kind: EndpointKind::Operation,
        operation_id: Some(format!("{method}{path}")),
        summary: Some("s".into()),
        description: None,
        parameters: vec![ApiParameter {
            name: "id".into(),
            location: "path".into(),
            required: true,
            schema: Some("integer".into()),
        }],
        request_schema: None,
        responses: vec![("200".into(), Some("User".into()))],
        tags: vec!["users".into()],
    };
    let endpoints = [
        ep("GET", "/v1/users"),
        ep("POST", "/v1/users"),
        ep("GET", "/v2/items"),
        ep("GET", "/v1%_odd"),
    ];
    let mut d = doc("/api.yaml", "h", vec![chunk(0, "api", &v)], &meta);
    d.endpoints = &endpoints;
    store.put_document(&d).await.unwrap();

    let all = store.endpoints(&EndpointFilter::default()).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].endpoint, endpoints[0], "round trip");
    assert_eq!(all[0].document_path, "/api.yaml");
    let get_v1 = EndpointFilter {
        method: Some("get".into()),
        path_prefix: Some("/v1".into()),
        ..Default::default()
    };
    let paths: Vec<_> = store
        .endpoints(&get_v1)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.endpoint.path)
        .collect();
    assert_eq!(paths, ["/v1/users", "/v1%_odd"]);
    // A prefix holding LIKE wildcards and quotes means itself.
    for literal in ["/v1%", "/v_", "'; DROP TABLE api_endpoints; --"] {
        let f = EndpointFilter {
            path_prefix: Some(literal.into()),
            ..Default::default()
        };
        let got: Vec<_> = store
            .endpoints(&f)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.endpoint.path)
            .collect();
        assert!(
            got.iter().all(|p| p.starts_with(literal)),
            "{literal}: {got:?}"
        );
    }
    assert_eq!(
        store
            .endpoints(&EndpointFilter::default())
            .await
            .unwrap()
            .len(),
        4
    );

    // Replacing or deleting the document takes its endpoints with it.
    let mut d = doc("/api.yaml", "h2", vec![chunk(0, "api", &v)], &meta);
    d.endpoints = &endpoints[..1];
    store.put_document(&d).await.unwrap();
    assert_eq!(
        store
            .endpoints(&EndpointFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    store.delete_document("/api.yaml").await.unwrap();
    assert!(
        store
            .endpoints(&EndpointFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn log_entries_are_stored_and_filtered() {
    use docvec_store::LogFilter;
    use docvec_types::LogEntry;
    let (_dir, store) = open().await;
    let meta = serde_json::Map::new();
    let v = [1.0f32, 0.0];
    let entry =
        |line: u32, ts: Option<&str>, level: &str, component: &str, message: &str| LogEntry {
            line,
            end_line: line,
            timestamp: ts.map(str::to_string),
            level: Some(level.into()),
            component: Some(component.into()),
            host: None,
            pid: None,
            message: message.into(),
            raw: format!("raw {line}"),
        };
    let entries = [
        entry(
            1,
            Some("2024-01-01T10:00:00"),
            "INFO",
            "dfs.DataNode",
            "started",
        ),
        entry(
            2,
            Some("2024-01-01T11:00:00"),
            "ERROR",
            "dfs.DataNode$PacketResponder",
            "Disk FULL on /data",
        ),
        entry(
            3,
            Some("2024-01-02T09:00:00"),
            "ERROR",
            "dfs.DataNodeX",
            "other component",
        ),
        entry(4, None, "ERROR", "kernel", "no timestamp"),
    ];
    let mut d = doc("/app.log", "h", vec![chunk(0, "log", &v)], &meta);
    d.log_entries = &entries;
    store.put_document(&d).await.unwrap();

    let lines = |f: LogFilter| {
        let store = store.clone();
        async move {
            store
                .log_entries(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.entry.line)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        lines(LogFilter::default()).await,
        [1, 2, 3, 4],
        "by time, untimed last"
    );
    assert_eq!(
        lines(LogFilter {
            level: Some("error".into()),
            ..Default::default()
        })
        .await,
        [2, 3, 4]
    );
    let window = LogFilter {
        since: Some("2024-01-01T10:30".into()),
        until: Some("2024-01-01T23:59".into()),
        ..Default::default()
    };
    assert_eq!(lines(window).await, [2]);
    // A bound that names a day, a month or a minute takes in all of it.
    for (until, expected) in [
        ("2024-01-01", vec![1, 2]),
        ("2024-01", vec![1, 2, 3]),
        ("2024-01-01T11:00", vec![1, 2]),
        ("2024-01-01T10:59:59", vec![1]),
    ] {
        let f = LogFilter {
            until: Some(until.into()),
            ..Default::default()
        };
        assert_eq!(lines(f).await, expected, "until {until}");
    }
    assert_eq!(
        lines(LogFilter {
            component: Some("dfs.DataNode".into()),
            ..Default::default()
        })
        .await,
        [1, 2],
        "the class and its inner classes, not DataNodeX"
    );
    assert_eq!(
        lines(LogFilter {
            grep: Some("disk full".into()),
            ..Default::default()
        })
        .await,
        [2]
    );
    assert_eq!(
        lines(LogFilter {
            grep: Some("%".into()),
            ..Default::default()
        })
        .await,
        Vec::<u32>::new()
    );
    let all = store
        .log_entries(&LogFilter {
            document: Some("/app.log".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all[0].entry, entries[0], "round trip");
    store.delete_document("/app.log").await.unwrap();
    assert!(lines(LogFilter::default()).await.is_empty());
}

#[tokio::test]
async fn tables_round_trip_with_their_document() {
    use docvec_types::{ColumnType, Table};
    let (_dir, store) = open().await;
    let meta = serde_json::Map::new();
    let v = [1.0f32, 0.0];
    let table = Table {
        name: Some("Sheet 1".into()),
        header: vec!["city".into(), "pop".into()],
        rows: vec![
            vec!["Kenai".into(), "7610".into()],
            vec!["O'Hare \"x\"".into(), "".into()],
        ],
        column_types: vec![ColumnType::Text, ColumnType::Integer],
        header_row: 3,
        source_rows: vec![4, 6],
        delimiter: Some(';'),
    };
    let tables = [table.clone()];
    let mut d = doc("/t.csv", "h", vec![chunk(0, "t", &v)], &meta);
    d.tables = &tables;
    store.put_document(&d).await.unwrap();
    let got = store.tables(Some("/t.csv")).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].table, table);
    assert_eq!(store.tables(None).await.unwrap().len(), 1);
    assert!(store.tables(Some("/other.csv")).await.unwrap().is_empty());
    store.delete_document("/t.csv").await.unwrap();
    assert!(store.tables(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn tags_facts_and_evidence_round_trip_and_filter_chunks() {
    use docvec_store::{ChunkFilter, FactFilter, TagFilter};
    use docvec_types::{Evidence, Fact, FactKind, SpanScope, Tag, TagKind};
    let (_dir, store) = open().await;
    let meta = serde_json::Map::new();
    let v = [1.0f32, 0.0];
    let tag = |name: &str, kind| Tag {
        name: name.into(),
        kind,
        score: (kind == TagKind::Keyphrase).then_some(0.5),
    };
    let fact = |key: &str, value: &str, line| Fact {
        key: key.into(),
        value: value.into(),
        subject: None,
        number: value.parse().ok(),
        unit: None,
        kind: FactKind::LabelValue,
        evidence: Evidence {
            section: None,
            page: None,
            sheet: None,
            table: None,
            row: None,
            column: None,
            line: Some(line),
            char_start: Some(10),
            char_end: Some(20),
            scope: Some(SpanScope::File),
            snippet: format!("{key}: {value}"),
        },
    };
    // Quotes and SQL in values are data, never statements.
    let doc_tags = [
        tag("markdown", TagKind::Format),
        tag("o'brien\"; drop table tags; --", TagKind::User),
        tag("vector search", TagKind::Keyphrase),
    ];
    let chunk_tags = [vec![tag("hnsw graph", TagKind::Keyphrase)], vec![]];
    let facts = [
        fact("Max  Size", "256", 3),
        fact("Owner", "x' OR '1'='1", 5),
    ];
    let mut a = doc(
        "/a.md",
        "h",
        vec![chunk(0, "a0", &v), chunk(1, "a1", &v)],
        &meta,
    );
    a.document_tags = &doc_tags;
    a.chunk_tags = &chunk_tags;
    a.facts = &facts;
    store.put_document(&a).await.unwrap();
    let b_tags = [tag("markdown", TagKind::Format)];
    let mut b = doc("/b.md", "h", vec![chunk(0, "b0", &v)], &meta);
    b.document_tags = &b_tags;
    store.put_document(&b).await.unwrap();

    let all = store.tags(&TagFilter::default()).await.unwrap();
    let markdown = all.iter().find(|t| t.name == "markdown").unwrap();
    assert_eq!((markdown.documents, markdown.chunks), (2, 0));
    let hnsw = all.iter().find(|t| t.name == "hnsw graph").unwrap();
    assert_eq!(
        (hnsw.kind, hnsw.documents, hnsw.chunks),
        (TagKind::Keyphrase, 1, 1)
    );
    assert!(all.iter().any(|t| t.name.starts_with("o'brien")));
    let only_kp = store
        .tags(&TagFilter {
            kind: Some(TagKind::Keyphrase),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(only_kp.len(), 2);
    assert_eq!(store.document_tags("/a.md").await.unwrap(), doc_tags);

    // A document tag allows all its chunks; a chunk tag only that chunk.
    let ids = |f: ChunkFilter| {
        let store = store.clone();
        async move { store.chunk_ids_matching(&f).await.unwrap().len() }
    };
    let by_tag = |t: &str| ChunkFilter {
        tags: vec![t.into()],
        ..Default::default()
    };
    assert_eq!(ids(by_tag("markdown")).await, 3);
    assert_eq!(ids(by_tag("Vector  Search")).await, 2);
    assert_eq!(ids(by_tag("hnsw graph")).await, 1);
    assert_eq!(ids(by_tag("o'brien\"; drop table tags; --")).await, 2);
    assert_eq!(ids(by_tag("nothing")).await, 0);
    let mut both = by_tag("markdown");
    both.tags.push("hnsw graph".into());
    assert_eq!(ids(both).await, 1);
    assert_eq!(
        ids(ChunkFilter {
            path_prefix: Some("/b".into()),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        ids(ChunkFilter {
            formats: vec!["markdown".into(), "pdf".into()],
            document: Some("/a.md".into()),
            ..Default::default()
        })
        .await,
        2
    );

    let found = store
        .facts(&FactFilter {
            key: Some("max size".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].fact, facts[0]);
    let injected = store
        .facts(&FactFilter {
            key: Some("owner".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(injected[0].fact.value, "x' OR '1'='1");
    let by_id = store.evidence(found[0].id).await.unwrap().unwrap();
    assert_eq!(by_id.fact.evidence.line, Some(3));
    assert!(store.evidence(9_999).await.unwrap().is_none());

    // Re-ingesting replaces them; deleting the document removes them all.
    store.put_document(&a).await.unwrap();
    assert_eq!(store.facts(&FactFilter::default()).await.unwrap().len(), 2);
    store.delete_document("/a.md").await.unwrap();
    assert!(
        store
            .facts(&FactFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.tags(&TagFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn staged_vectors_replace_the_stored_ones_only_when_every_chunk_has_one() {
    let (_dir, store) = open().await;
    let v = [0.6f32, 0.8];
    let a = put(&store, "/a.md", "h1", &["alpha", "beta"], &v).await;
    let b = put(&store, "/b.md", "h2", &["gamma"], &v).await;
    let next = [1.0f32, 0.0, 0.0];
    store
        .stage_vectors(
            "m2",
            &[
                (a.chunk_ids[0], next.to_vec()),
                (a.chunk_ids[1], next.to_vec()),
            ],
        )
        .await
        .unwrap();
    let unstaged = store.unstaged_inputs("m2", 10).await.unwrap();
    assert_eq!(unstaged, [(b.chunk_ids[0], "gamma".to_string())]);
    let switch = ModelSwitch {
        model_id: "m2",
        dimension: 3,
        meta: &[("model_id", "m2".to_string())],
        resync_mirror: false,
    };
    // One chunk lacks a staged vector: refused, and nothing moved.
    let err = store.commit_staged(&switch).await.unwrap_err();
    assert!(
        err.to_string().contains("1 chunks have no staged vector"),
        "{err}"
    );
    assert_eq!(store.vectors(&a.chunk_ids, "m").await.unwrap().len(), 2);
    assert_eq!(store.get_meta("model_id").await.unwrap(), None);

    // A chunk deleted since its text was read is skipped, not staged.
    store.delete_document("/b.md").await.unwrap();
    store
        .stage_vectors("m2", &[(b.chunk_ids[0], next.to_vec())])
        .await
        .unwrap();
    assert!(store.unstaged_inputs("m2", 10).await.unwrap().is_empty());
    assert_eq!(store.commit_staged(&switch).await.unwrap(), 2);
    let moved = store.vectors(&a.chunk_ids, "m2").await.unwrap();
    assert_eq!(moved.len(), 2);
    assert_eq!(moved[0].1, next);
    assert!(store.vectors(&a.chunk_ids, "m").await.unwrap().is_empty());
    assert_eq!(
        store.document("/a.md").await.unwrap().unwrap().model_id,
        "m2"
    );
    assert_eq!(
        store.get_meta("model_id").await.unwrap().as_deref(),
        Some("m2")
    );
    assert!(
        store
            .staged_vectors_page("m2", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_check_finds_partial_documents_and_missing_vectors() {
    let (dir, store) = open().await;
    let v = [0.6f32, 0.8];
    for path in ["/a.md", "/b.md"] {
        put(&store, path, "h", &["alpha", "beta"], &v).await;
    }
    let clean = store.check().await.unwrap();
    assert!(clean.is_consistent(), "{clean:?}");
    assert_eq!((clean.documents, clean.chunks), (2, 4));
    assert_eq!(store.chunk_ids().await.unwrap().len(), 4);

    // What a torn write would leave, made behind the store's back: a chunk of /a.md without its
    // vector, and /b.md missing one of its chunks.
    let raw = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("docvec.db").display()
    ))
    .await
    .unwrap();
    sqlx::query(
        "DELETE FROM chunk_embeddings WHERE chunk_id =
           (SELECT MIN(id) FROM search_chunks WHERE document_id = '/a.md')",
    )
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "DELETE FROM search_chunks WHERE id = (SELECT MAX(id) FROM search_chunks WHERE document_id = '/b.md')",
    )
    .execute(&raw)
    .await
    .unwrap();
    let torn = store.check().await.unwrap();
    assert!(!torn.is_consistent());
    assert_eq!(torn.chunks_without_vector, 1);
    assert_eq!(torn.partial_documents, vec!["/b.md".to_string()]);
    assert!(torn.integrity_errors.is_empty());
}

/// Every file in `dir` (not recursive) with its bytes.
fn files(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn a_rollback_journal_copy_opened_read_only_is_read_and_never_written() {
    let (_dir, store) = open().await;
    let v = [0.6f32, 0.8];
    put(&store, "/a.md", "h1", &["alpha", "beta"], &v).await;
    store.set_meta("model_id", "m").await.unwrap();
    let seq = store.last_log_seq().await.unwrap();
    // A bundle's store: `VACUUM INTO` writes it in rollback journal mode.
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("docvec.db");
    store.snapshot_into(&copy).await.unwrap();
    store.close().await;
    let before = files(copies.path());
    assert_eq!(before.keys().collect::<Vec<_>>(), ["docvec.db"]);
    let header = &before["docvec.db"][18..20];
    assert_eq!(header, [1, 1], "rollback journal mode, not WAL");

    let ro = Store::open_read_only(&copy).await.unwrap();
    // Two at once, as the server's and the engine's stores are.
    let other = Store::open_read_only(&copy).await.unwrap();
    assert_eq!(ro.get_meta("model_id").await.unwrap().as_deref(), Some("m"));
    assert_eq!(ro.list_documents().await.unwrap().len(), 1);
    assert_eq!(other.stats().await.unwrap().chunks, 2);
    assert_eq!(other.last_log_seq().await.unwrap(), seq);
    // Writes through it fail, and leave nothing behind.
    let err = ro.set_meta("model_id", "changed").await.unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
    assert!(ro.delete_document("/a.md").await.is_err());
    assert_eq!(ro.get_meta("model_id").await.unwrap().as_deref(), Some("m"));
    ro.close().await;
    other.close().await;
    assert!(
        files(copies.path()) == before,
        "the copy changed, or files appeared beside it: {:?}",
        files(copies.path()).keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_read_only_open_refuses_a_missing_file_and_a_schema_it_cannot_use() {
    use docvec_store::StoreError;
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("none.db");
    let err = match Store::open_read_only(&missing).await {
        Err(e) => e,
        Ok(_) => panic!("opened a missing file"),
    };
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("none.db"), "{err}");
    assert!(!missing.exists(), "nothing is created");

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = Store::open_read_only(&empty).await.err().unwrap();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");

    // A store one migration behind, as an older docvec left it: only a read-write open upgrades it.
    let path = dir.path().join("docvec.db");
    Store::open(&path).await.unwrap().close().await;
    let raw = sqlx::sqlite::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
    )
    .await
    .unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&raw)
    .await
    .unwrap();
    let err = Store::open_read_only(&path).await.err().unwrap();
    match &err {
        StoreError::SchemaOlder { found, current, .. } => assert_eq!(found + 1, *current),
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("older docvec") && message.contains("read-write"),
        "{message}"
    );
    // One from a later docvec.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;
    let err = Store::open_read_only(&path).await.err().unwrap();
    assert!(
        matches!(err, StoreError::SchemaNewer { found: 9999, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer docvec"), "{err}");
}
