#![no_main]
//! The query and filter input of a search: the query text goes to tantivy's lenient parser, the
//! keyword search and the snippet highlighter; the filter fields become the SQL of the filtered
//! chunk set and of the /logs listing (dates, levels, prefixes, document ids). The input is split on
//! newlines into: query, tags (comma-separated), formats, document, path_prefix, log_level, since,
//! until, component, grep, with the API's own lossy UTF-8 (a JSON string is always valid UTF-8).

use std::collections::HashSet;
use std::sync::OnceLock;

use docvec_fulltext::{TextChunk, TextIndex};
use docvec_store::{ChunkFilter, LogFilter, NewChunk, NewDocument, NewSection, Store};
use docvec_types::{Format, LogEntry};

struct World {
    rt: tokio::runtime::Runtime,
    store: Store,
    text: TextIndex,
    texts: Vec<&'static str>,
    _dir: tempfile::TempDir,
}

const TEXTS: [&str; 4] = [
    "The ledger keeps every payment in order; indexes speed up lookups.",
    "Ünïcödé tëxt with ß, 日本語の文章, emoji 🦀 and combining e\u{301} marks.",
    "2024-05-01 10:00:00 ERROR db: connection to the ledger lost",
    "GET /pets/{id} returns one pet; POST /pets adds one (\"quoted\" & <tagged>).",
];

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt.block_on(Store::open(&dir.path().join("docvec.db"))).unwrap();
        let meta = serde_json::Map::new();
        let vector = [0.6f32, 0.8];
        let entry = |line: u32, ts: &str, level: &str, component: &str| LogEntry {
            line,
            end_line: line,
            timestamp: Some(ts.into()),
            level: Some(level.into()),
            component: Some(component.into()),
            host: None,
            pid: None,
            message: TEXTS[2].into(),
            raw: TEXTS[2].into(),
        };
        let entries = [
            entry(1, "2024-05-01T10:00:00", "ERROR", "db"),
            entry(2, "2024-05-01T10:00:05+02:00", "INFO", "db.pool$Conn"),
        ];
        for (i, (path, format)) in [("/docs/a.md", Format::Markdown), ("/logs/app.log", Format::Log)]
            .into_iter()
            .enumerate()
        {
            let chunks = vec![NewChunk {
                key: path,
                section: 0,
                ordinal: 0,
                text: TEXTS[i * 2],
                context: "",
                input_hash: format!("h{i}"),
                page_start: None,
                page_end: None,
                token_count: 10,
                vector: &vector,
                span: None,
            }];
            let tags = ["ledger".to_string()];
            let doc = NewDocument {
                id: path,
                path,
                content_hash: "h",
                format,
                title: Some("T"),
                size_bytes: 10,
                metadata: &meta,
                tags: &tags,
                model_id: "m",
                sections: vec![NewSection {
                    heading: Some("Intro"),
                    level: 1,
                    heading_path: "Intro".into(),
                    page_start: None,
                    page_end: None,
                }],
                chunks,
                endpoints: &[],
                log_entries: if format == Format::Log { &entries } else { &[] },
                tables: &[],
                media_type: "text/plain",
                document_tags: &[],
                chunk_tags: &[],
                facts: &[],
                text: None,
                meta: &Default::default(),
            };
            rt.block_on(store.put_document(&doc)).unwrap();
        }
        let text = TextIndex::open(&dir.path().join("text")).unwrap();
        let adds: Vec<TextChunk> = TEXTS
            .iter()
            .enumerate()
            .map(|(i, t)| TextChunk {
                id: i as i64 + 1,
                heading: String::new(),
                text: t.to_string(),
            })
            .collect();
        text.apply(0, &adds, &[], 1).unwrap();
        World {
            rt,
            store,
            text,
            texts: TEXTS.to_vec(),
            _dir: dir,
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let mut fields = input.split('\n');
    let mut next = || fields.next().map(str::to_string);
    let query = next().unwrap_or_default();
    let list = |s: Option<String>| -> Vec<String> {
        s.map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let filter = ChunkFilter {
        tags: list(next()),
        formats: list(next()),
        document: next(),
        path_prefix: next(),
        log_level: next(),
        since: next(),
        until: next(),
        // A metadata filter as an app would send it: parsed, and used where it parses.
        meta: next()
            .and_then(|t| serde_json::from_str(&t).ok())
            .and_then(|v| docvec_types::parse_meta_filter(&v).ok())
            .unwrap_or_default(),
    };
    let (component, grep) = (next(), next());
    let w = world();
    // Errors are fine (they become 400s); panics and hangs are what the fuzzer looks for.
    let allowed: HashSet<i64> = w
        .rt
        .block_on(w.store.chunk_ids_matching(&filter))
        .map(|ids| ids.into_iter().collect())
        .unwrap_or_default();
    let _ = w.rt.block_on(w.store.log_entries(&LogFilter {
        level: filter.log_level.clone(),
        since: filter.since.clone(),
        until: filter.until.clone(),
        component,
        grep,
        document: filter.document.clone(),
        limit: Some(10),
        offset: Some(data.len() as i64 % 3),
    }));
    let _ = w.text.search(&query, 10, None);
    let _ = w.text.search(&query, 3, Some(&allowed));
    let _ = w.text.snippets(&query, &w.texts, 1 + data.len() % 200);
});
