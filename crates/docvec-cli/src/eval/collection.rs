//! Loading a collection with relevance judgements, in BEIR form (corpus and queries as JSON lines,
//! qrels as TSV) or the classic TREC layout (`<DOC><DOCNO>` documents, `<top>` topics, `qid 0 docid
//! rel` qrels).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

/// A collection: documents (id, title, text), queries (id, text) and graded judgements (query id →
/// document id → grade; only grades above 0 are kept).
#[derive(Debug, Default)]
pub(crate) struct Collection {
    pub(crate) documents: Vec<(String, String, String)>,
    pub(crate) queries: Vec<(String, String)>,
    pub(crate) qrels: HashMap<String, HashMap<String, f64>>,
}

impl Collection {
    /// Load a collection, telling BEIR from TREC by the files' extensions and contents. `corpus` is a
    /// file or a folder of files.
    pub(crate) fn load(corpus: &Path, queries: &Path, qrels: &Path) -> anyhow::Result<Self> {
        let mut c = Collection::default();
        for file in corpus_files(corpus)? {
            c.load_documents(&file)?;
        }
        c.load_queries(queries)?;
        c.load_qrels(qrels)?;
        if c.documents.is_empty() || c.queries.is_empty() || c.qrels.is_empty() {
            bail!(
                "the collection is incomplete: {} documents, {} queries, {} judged queries",
                c.documents.len(),
                c.queries.len(),
                c.qrels.len()
            );
        }
        Ok(c)
    }

    fn load_documents(&mut self, file: &Path) -> anyhow::Result<()> {
        let text = read(file)?;
        if is_jsonl(file) {
            for (n, line) in non_empty_lines(&text) {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| bad(file, n + 1, e))?;
                let id = json_id(&v).ok_or_else(|| bad(file, n + 1, "no `_id`"))?;
                let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                self.documents.push((id, field("title"), field("text")));
            }
            return Ok(());
        }
        for doc in tagged(&text, "DOC") {
            let id = tagged(doc, "DOCNO")
                .first()
                .map(|s| s.to_string())
                .ok_or_else(|| bad(file, 0, "a <DOC> without <DOCNO>"))?;
            let body = doc
                .split_once("</DOCNO>")
                .map_or("", |(_, b)| b)
                .trim()
                .to_string();
            self.documents.push((id, String::new(), body));
        }
        Ok(())
    }

    fn load_queries(&mut self, queries: &Path) -> anyhow::Result<()> {
        let text = read(queries)?;
        if is_jsonl(queries) {
            for (n, line) in non_empty_lines(&text) {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| bad(queries, n + 1, e))?;
                let id = json_id(&v).ok_or_else(|| bad(queries, n + 1, "no `_id`"))?;
                let text = v["text"].as_str().unwrap_or_default().to_string();
                self.queries.push((id, text));
            }
            return Ok(());
        }
        for top in tagged(&text, "top") {
            let num = tagged(top, "num").first().map(|s| s.to_string());
            // TREC titles wrap over lines; a query is one line of words.
            let title = tagged(top, "title")
                .first()
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
            if let (Some(n), Some(t)) = (num, title) {
                self.queries.push((n, t));
            }
        }
        Ok(())
    }

    /// BEIR's `query doc score` (after a header line) or TREC's `query 0 doc rel`.
    fn load_qrels(&mut self, qrels: &Path) -> anyhow::Result<()> {
        let text = read(qrels)?;
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (q, d, rel) = match f.len() {
                3 => (f[0], f[1], f[2]),
                4 => (f[0], f[2], f[3]),
                0 => continue,
                _ => {
                    let why = "expected `query doc score` or `query 0 doc rel`";
                    return Err(bad(qrels, n + 1, why));
                }
            };
            let Ok(rel) = rel.parse::<f64>() else {
                if n == 0 {
                    continue; // a header line
                }
                return Err(bad(
                    qrels,
                    n + 1,
                    format!("`{rel}` is not a relevance grade"),
                ));
            };
            if rel > 0.0 {
                self.qrels
                    .entry(q.to_string())
                    .or_default()
                    .insert(d.to_string(), rel);
            }
        }
        Ok(())
    }
}

/// The corpus file, or the files of a corpus folder in name order.
fn corpus_files(corpus: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !corpus.is_dir() {
        return Ok(vec![corpus.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus)
        .with_context(|| io_context(corpus))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| io_context(path))
}

fn io_context(path: &Path) -> String {
    format!("I/O error on {}", path.display())
}

/// A malformed line of a collection file, by file and line number.
fn bad(path: &Path, line: usize, why: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{}:{line}: {why}", path.display())
}

fn non_empty_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
}

fn is_jsonl(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "jsonl" || e == "json")
}

/// BEIR ids are strings, though some collections write them as numbers.
fn json_id(v: &serde_json::Value) -> Option<String> {
    match &v["_id"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Text between `<tag>` and `</tag>` for each occurrence, trimmed.
fn tagged<'a>(text: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].trim());
        rest = &after[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trec_and_beir_files_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(
            p("docs.trec"),
            "<DOC>\n<DOCNO>1</DOCNO>\nsome text\n</DOC>\n",
        )
        .unwrap();
        std::fs::write(
            p("q.trec"),
            "<top>\n<num>7</num><title>\nA QUERY\n</title>\n</top>\n",
        )
        .unwrap();
        std::fs::write(p("qrels"), "7 0 1 1\n").unwrap();
        let c = Collection::load(&p("docs.trec"), &p("q.trec"), &p("qrels")).unwrap();
        assert_eq!(c.documents[0].0, "1");
        assert_eq!(c.documents[0].2, "some text");
        assert_eq!(c.queries[0], ("7".to_string(), "A QUERY".to_string()));
        std::fs::write(
            p("corpus.jsonl"),
            "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"x\"}\n",
        )
        .unwrap();
        std::fs::write(p("queries.jsonl"), "{\"_id\": \"q1\", \"text\": \"x?\"}\n").unwrap();
        std::fs::write(p("qrels.tsv"), "query-id\tcorpus-id\tscore\nq1\td1\t1\n").unwrap();
        let c = Collection::load(&p("corpus.jsonl"), &p("queries.jsonl"), &p("qrels.tsv")).unwrap();
        assert_eq!(c.qrels["q1"]["d1"], 1.0);
        assert_eq!(c.documents[0].1, "T");
    }

    #[test]
    fn malformed_files_are_named_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("corpus.jsonl"), "{\"_id\": \"d1\", \"text\": \"x\"}\n").unwrap();
        std::fs::write(p("queries.jsonl"), "{\"_id\": \"q1\", \"text\": \"x?\"}\n").unwrap();
        std::fs::write(p("qrels.tsv"), "q1 d1 1\nq1 d1 high\n").unwrap();
        let e = Collection::load(&p("corpus.jsonl"), &p("queries.jsonl"), &p("qrels.tsv"))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("qrels.tsv:2: `high` is not a relevance grade"),
            "{e}"
        );
        let e = Collection::load(&p("missing.jsonl"), &p("queries.jsonl"), &p("qrels.tsv"))
            .unwrap_err();
        assert!(format!("{e:#}").starts_with("I/O error on "), "{e:#}");
    }
}
