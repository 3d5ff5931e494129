//! Human-readable output of the CLI.

use std::io::IsTerminal;

use docvec_engine::ModelStatus;
use docvec_engine::{
    CheckReport, EndpointRow, Engine, ExportReport, FactRow, FileOutcome, IngestReport, LogRow,
    SearchHit, SourceView, Span, Stats, TableRow, TagCount,
};
#[cfg(feature = "mirror")]
use docvec_engine::{MirrorStatus, ParityReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn progress_bar(visible: bool, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if visible {
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit} {{wide_msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

pub fn print_ingest_summary(report: &IngestReport) {
    let added = report.count(|o| matches!(o, FileOutcome::Added { .. }));
    let updated = report.count(|o| matches!(o, FileOutcome::Updated { .. }));
    let unchanged = report.count(|o| matches!(o, FileOutcome::Unchanged { .. }));
    let failed = report.count(FileOutcome::is_failure);
    println!(
        "{} files: {added} added, {updated} updated, {unchanged} unchanged, {failed} failed; {} chunks embedded in {:.1}s",
        report.files.len(),
        report.chunks_embedded,
        report.elapsed.as_secs_f64()
    );
    let t = &report.stages;
    if report.chunks_embedded > 0 {
        println!(
            "time: embed {:.1}s, store {:.1}s, index {:.1}s, save {:.1}s; parser threads: read {:.1}s, parse {:.1}s, chunk {:.1}s, extract {:.1}s",
            t.embed_s, t.store_s, t.index_s, t.save_s, t.read_s, t.parse_s, t.chunk_s, t.extract_s
        );
        let n = &report.tokens;
        if n.real > 0 {
            println!(
                "model: {} tokens in {} calls, padded to {} (+{:.1}%)",
                n.real,
                n.calls,
                n.padded,
                (n.padding_ratio() - 1.0) * 100.0
            );
        }
    }
    if !report.unsupported.is_empty() {
        println!(
            "skipped {} files of types docvec does not read:",
            report.unsupported.len()
        );
        const SHOWN: usize = 20;
        for path in report.unsupported.iter().take(SHOWN) {
            let ext = path
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_else(|| "no extension".into());
            println!("  {}: unsupported file type ({ext})", path.display());
        }
        if report.unsupported.len() > SHOWN {
            println!("  ... and {} more", report.unsupported.len() - SHOWN);
        }
    }
    if let Some(m) = &report.mirror {
        match &m.error {
            None => println!("Postgres: {} changes sent", m.pushed),
            Some(e) => println!(
                "Postgres: {} changes sent, {} waiting in the outbox ({e})",
                m.pushed, m.pending
            ),
        }
    }
    if failed > 0 {
        println!("failed:");
        for (path, cause) in report.failures() {
            println!("  {}: {cause}", path.display());
        }
    }
}

pub fn print_check(report: &CheckReport) {
    let s = &report.store;
    if !s.integrity_errors.is_empty() {
        // Counts and index comparisons read from a damaged file would mislead: the damage is the news.
        println!("store: database file {} DAMAGED", report.database.display());
        let mut lines = s.integrity_errors.clone();
        lines.dedup();
        for line in &lines {
            println!("  integrity: {line}");
        }
        println!(
            "  the database file is not repaired (that would drop rows): restore it from a backup or a \
             bundle (`docvec export`), or ingest the files again into a new --data-dir"
        );
        println!("INCONSISTENT");
        return;
    }
    println!(
        "store: {} documents, {} chunks; database file sound",
        s.documents, s.chunks
    );
    for orphan in &s.orphans {
        println!("  orphaned rows: {orphan}");
    }
    for path in &s.partial_documents {
        println!("  partly stored document: {path}");
    }
    if s.chunks_without_vector > 0 {
        println!("  {} chunks without a vector", s.chunks_without_vector);
    }
    if let Some(w) = &report.warning {
        println!("warning: {w}");
    }
    for why in &report.rebuilt {
        println!("rebuilt from the store: {why}");
    }
    for (name, c) in [
        ("vector index", &report.vector_index),
        ("full-text index", &report.text_index),
    ] {
        if let Some(why) = &c.damaged {
            println!("{name}: DAMAGED: {why}");
        }
        if c.pending > 0 {
            println!(
                "{name}: {} changes of the store not applied yet (the disk is full)",
                c.pending
            );
        }
        if c.missing == 0 && c.extra == 0 {
            println!("{name}: {} entries, as stored", c.entries);
        } else {
            println!(
                "{name}: {} entries, {} stored chunks missing, {} entries for chunks not stored (e.g. ids {:?})",
                c.entries, c.missing, c.extra, c.examples
            );
        }
    }
    if let Some(b) = &report.bundle {
        let m = &b.manifest;
        println!(
            "bundle: made by docvec {} for `{}` ({}-d), {} documents, {} chunks; model file {}",
            m.docvec_version,
            m.model_id,
            m.dimension,
            m.documents,
            m.chunks,
            match b.model_verified {
                Some(true) => "verified (sha256)",
                Some(false) => "DIFFERENT",
                None => "not verified (missing here)",
            }
        );
        for p in &b.problems {
            println!("  bundle: {p}");
        }
    }
    if let Some(problem) = &report.model {
        println!("model: DIFFERENT: {problem}");
    }
    println!(
        "{}",
        if report.consistent {
            "consistent"
        } else {
            "INCONSISTENT"
        }
    );
}

pub fn print_export(r: &ExportReport) {
    let m = &r.manifest;
    println!(
        "bundle {}: {} documents, {} chunks of `{}` ({}-d), {:.1} MB in {:.1}s",
        r.path.display(),
        m.documents,
        m.chunks,
        m.model_id,
        m.dimension,
        r.bytes as f64 / 1e6,
        r.elapsed_ms as f64 / 1000.0
    );
}

/// The hits of each query: as today for one query; for several, numbered (`[{"query": i, "hits":
/// [...]}, ...]` in JSON), in the order of the query vectors.
pub fn print_answers(json: bool, answers: &[Vec<SearchHit>]) -> anyhow::Result<()> {
    match (json, answers) {
        (true, [one]) => println!("{}", serde_json::to_string_pretty(one)?),
        (true, many) => {
            let rows: Vec<serde_json::Value> = many
                .iter()
                .enumerate()
                .map(|(i, hits)| serde_json::json!({"query": i, "hits": hits}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        (false, [one]) => print_hits(one),
        (false, many) => {
            for (i, hits) in many.iter().enumerate() {
                println!("# query {i}");
                print_hits(hits);
            }
        }
    }
    Ok(())
}

pub fn print_hits(hits: &[SearchHit]) {
    if hits.is_empty() {
        println!("no hits");
        return;
    }
    for (i, h) in hits.iter().enumerate() {
        let mut place = String::new();
        if let Some(section) = &h.section {
            place.push_str(&format!("  § {section}"));
        }
        if let Some(page) = h.page {
            place.push_str(&format!("  p. {page}"));
        }
        if let Some(span) = &h.span {
            place.push_str(&span_label(span));
        }
        println!(
            "{:>2}. {:.3}  {}{place}  (docvec show {})",
            i + 1,
            h.score,
            h.document_path,
            h.chunk_id
        );
        if let Some(s) = &h.snippet {
            let (open, close) = if std::io::stdout().is_terminal() {
                ("\x1b[1m", "\x1b[0m")
            } else {
                ("[", "]")
            };
            let marked = s.marked(open, close);
            println!(
                "    {}",
                marked.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            continue;
        }
        let snippet: String = h.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let cut: String = snippet.chars().take(240).collect();
        let ellipsis = if cut.len() < snippet.len() { "..." } else { "" };
        println!("    {cut}{ellipsis}");
    }
}

/// "  lines 3-9", "  rows 12-20 of Sheet1", "  GET /pets": where a span stands, for one line of output.
fn span_label(span: &Span) -> String {
    let mut out = String::new();
    if let Some(op) = &span.operation {
        out.push_str(&format!("  {} {}", op.method, op.path));
    }
    if let Some(rows) = &span.rows {
        let sheet = rows
            .sheet
            .as_ref()
            .map(|s| format!(" of {s}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  rows {}-{}{sheet}",
            rows.first_row, rows.last_row
        ));
    } else if let (Some(a), Some(b)) = (span.line_start, span.line_end) {
        out.push_str(&format!("  lines {a}-{b}"));
    }
    out
}

/// `docvec show`: the span between markers (bold on a terminal), with its context.
pub fn print_source(v: &SourceView) {
    let mut head = format!("{}  lines {}-{}", v.path, v.line_start, v.line_end);
    if let Some(c) = &v.chunk {
        if let Some(section) = &c.section {
            head.push_str(&format!("  § {section}"));
        }
        if let (Some(a), Some(b)) = (c.span.page_start, c.span.page_end) {
            head.push_str(&format!("  pages {a}-{b}"));
        }
        if c.span.rows.is_some() || c.span.operation.is_some() {
            head.push_str(&span_label(&c.span));
        }
    }
    println!("{head}  bytes {}..{}", v.start, v.end);
    println!();
    let (open, close) = if std::io::stdout().is_terminal() {
        ("\x1b[1m", "\x1b[0m")
    } else {
        (">>>", "<<<")
    };
    println!("{}{open}{}{close}{}", v.before, v.text, v.after);
}

pub fn print_stats(engine: &Engine, s: &Stats, index_len: usize) {
    println!("data dir:   {}", engine.data_dir().display());
    println!(
        "model:      {} ({}-d)",
        engine.model_id(),
        engine.dimension()
    );
    println!("documents:  {}", s.documents);
    for (format, n) in &s.by_format {
        println!("  {format:<9} {n}");
    }
    println!("sections:   {}", s.sections);
    println!("chunks:     {} ({} tokens)", s.chunks, s.tokens);
    println!("vectors:    {index_len} in the HNSW index");
    println!("bytes:      {} of source files", s.bytes);
}

pub fn print_endpoints(rows: &[EndpointRow]) {
    if rows.is_empty() {
        println!("no endpoints");
        return;
    }
    let width = rows
        .iter()
        .map(|r| r.endpoint.method.len())
        .max()
        .unwrap_or(3);
    for r in rows {
        let e = &r.endpoint;
        let about = e
            .summary
            .as_deref()
            .or(e.operation_id.as_deref())
            .unwrap_or("");
        println!("{:<width$}  {}  {about}", e.method, e.path);
    }
    println!("{} endpoints", rows.len());
}

pub fn print_log_entries(rows: &[LogRow]) {
    for r in rows {
        let file = r
            .document_path
            .rsplit('/')
            .next()
            .unwrap_or(&r.document_path);
        println!("{file}:{}  {}", r.entry.line, r.entry.raw);
    }
    println!("{} entries", rows.len());
}

pub fn print_tables(tables: &[TableRow], rows: usize) {
    for t in tables {
        let name = t
            .table
            .name
            .as_deref()
            .map(|n| format!(" [{n}]"))
            .unwrap_or_default();
        println!(
            "{}{name}: {} rows x {} columns",
            t.document_path,
            t.table.rows.len(),
            t.table.header.len()
        );
        let columns: Vec<String> = t
            .table
            .header
            .iter()
            .zip(&t.table.column_types)
            .map(|(h, ty)| format!("{h} ({})", format!("{ty:?}").to_lowercase()))
            .collect();
        println!("  columns: {}", columns.join(", "));
        for row in t.table.rows.iter().take(rows) {
            println!("  | {}", row.join(" | "));
        }
    }
    println!("{} tables", tables.len());
}

pub fn print_tags(rows: &[TagCount]) {
    if rows.is_empty() {
        println!("no tags");
        return;
    }
    println!("{:>9} {:>7}  {:9}  tag", "documents", "chunks", "kind");
    for t in rows {
        println!(
            "{:>9} {:>7}  {:9}  {}",
            t.documents,
            t.chunks,
            t.kind.as_str(),
            t.name
        );
    }
}

pub fn print_facts(rows: &[FactRow]) {
    if rows.is_empty() {
        println!("no facts");
        return;
    }
    for r in rows {
        let f = &r.fact;
        let e = &f.evidence;
        let mut at = Vec::new();
        if let Some(p) = e.page {
            at.push(format!("page {p}"));
        }
        if let Some(s) = &e.sheet {
            at.push(format!("sheet {s}"));
        }
        match (e.row, e.column) {
            (Some(row), Some(col)) => at.push(format!("row {row} column {col}")),
            _ => {
                if let Some(l) = e.line {
                    at.push(format!("line {l}"));
                }
            }
        }
        if let (Some(s), Some(end)) = (e.char_start, e.char_end) {
            at.push(format!("chars {s}..{end}"));
        }
        let subject = f
            .subject
            .as_ref()
            .map(|s| format!("{s} | "))
            .unwrap_or_default();
        println!(
            "#{}  {subject}{}: {}    [{}, {}]",
            r.id,
            f.key,
            f.value,
            r.document_path,
            at.join(", ")
        );
    }
}

pub fn print_model_status(m: &ModelStatus) {
    println!("model: {} ({}-d) on {}", m.id, m.dimension, m.device);
    if let Some(r) = &m.runtime {
        println!(
            "  ONNX Runtime {} ({}), providers: {}; {} session{} of {}",
            r.onnxruntime_version,
            r.library.display(),
            r.execution_providers.join(", "),
            r.sessions,
            if r.sessions == 1 { "" } else { "s" },
            match r.threads_per_session {
                0 => "a thread per core".to_string(),
                1 => "1 thread".to_string(),
                n => format!("{n} threads"),
            }
        );
        println!(
            "  CPU int8 dot products: {}",
            r.cpu_int8_dot_product
                .as_deref()
                .unwrap_or("none (the fp32 build is the default here)")
        );
    }
    if let Some(e) = &m.error {
        println!("  CANNOT LOAD: {e}");
    }
}

#[cfg(feature = "mirror")]
pub fn print_status(s: &MirrorStatus) {
    println!("storage mode: {}", s.mode);
    match &s.url {
        None => println!("postgres: not configured (set DATABASE_URL or SUPABASE_DB_URL)"),
        Some(url) => {
            let pooler = if s.transaction_pooler {
                " (transaction pooler: statement cache off)"
            } else {
                ""
            };
            println!("postgres: {url}{pooler}");
        }
    }
    if let Some(p) = &s.remote {
        if p.reachable {
            println!(
                "  reachable in {:.0} ms, PostgreSQL {}, schema version {}, model {}",
                p.latency_ms.unwrap_or_default(),
                p.server_version.as_deref().unwrap_or("?"),
                p.schema_version.map_or("none".into(), |v| v.to_string()),
                p.model_id.as_deref().unwrap_or("none")
            );
        } else {
            println!(
                "  UNREACHABLE: {}",
                p.error.as_deref().unwrap_or("no answer")
            );
        }
    }
    if let Some(u) = &s.supabase_url {
        println!(
            "supabase: {u} (service key {})",
            if s.supabase_service_key_set {
                "set"
            } else {
                "not set"
            }
        );
    }
    println!(
        "outbox: {} changes waiting{}",
        s.outbox.pending,
        s.outbox
            .last_error
            .as_deref()
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default()
    );
    for w in &s.warnings {
        println!("warning: {w}");
    }
}

#[cfg(feature = "mirror")]
pub fn print_parity(r: &ParityReport) {
    println!("{:20} {:>10} {:>10}", "table", "local", "remote");
    for t in &r.tables {
        let mark = if t.local == t.remote {
            ""
        } else {
            "  <- differs"
        };
        println!("{:20} {:>10} {:>10}{mark}", t.table, t.local, t.remote);
    }
    for (what, ids) in [
        ("missing on the remote", &r.missing_remote),
        ("only on the remote", &r.extra_remote),
        ("different content", &r.different),
    ] {
        if !ids.is_empty() {
            println!("{} documents {what}: {}", ids.len(), ids.join(", "));
        }
    }
    println!(
        "vectors: {} sampled, {} different",
        r.vectors_checked, r.vectors_different
    );
    println!("{} differences", r.differences());
}
