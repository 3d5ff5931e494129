//! Retrieval evaluation (`docvec eval`): a collection with relevance judgements, in BEIR form (corpus and
//! queries as JSON lines, qrels as TSV) or the classic TREC layout (`<DOC><DOCNO>` documents, `<top>`
//! topics, `qid 0 docid rel` qrels), is ingested into a data directory of its own and queried through the
//! same search path users get; the answer is nDCG@10, recall@100, MRR@10 and latency percentiles.
//!
//! Each corpus document is written as `<id>.txt` (its title as the first line) so the stored document's
//! file name carries the collection's id back from every hit.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::{Engine, EngineError, IngestOptions, SearchMode, SearchRequest};

/// A collection: documents (id, title, text), queries (id, text) and graded judgements.
#[derive(Debug, Default)]
pub struct Collection {
    pub documents: Vec<(String, String, String)>,
    pub queries: Vec<(String, String)>,
    pub qrels: HashMap<String, HashMap<String, f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub mode: SearchMode,
    pub queries: usize,
    pub documents: usize,
    #[serde(rename = "ndcg@10")]
    pub ndcg_10: f64,
    #[serde(rename = "recall@100")]
    pub recall_100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr_10: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_p99: f64,
    pub ingest_seconds: f64,
}

fn read(path: &Path) -> Result<String, EngineError> {
    std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))
}

fn bad(path: &Path, line: usize, why: impl std::fmt::Display) -> EngineError {
    EngineError::InvalidRequest(format!("{}:{line}: {why}", path.display()))
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

fn is_jsonl(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "jsonl" || e == "json")
}

impl Collection {
    /// Load a collection, telling BEIR from TREC by the files' extensions and contents.
    pub fn load(corpus: &Path, queries: &Path, qrels: &Path) -> Result<Self, EngineError> {
        let mut c = Collection::default();
        let corpus_files: Vec<PathBuf> = if corpus.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(corpus)
                .map_err(|e| EngineError::io(corpus, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            v
        } else {
            vec![corpus.to_path_buf()]
        };
        for file in &corpus_files {
            let text = read(file)?;
            if is_jsonl(file) {
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let v: serde_json::Value =
                        serde_json::from_str(line).map_err(|e| bad(file, n + 1, e))?;
                    let id = json_id(&v).ok_or_else(|| bad(file, n + 1, "no `_id`"))?;
                    let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                    c.documents.push((id, field("title"), field("text")));
                }
            } else {
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
                    c.documents.push((id, String::new(), body));
                }
            }
        }
        let qtext = read(queries)?;
        if is_jsonl(queries) {
            for (n, line) in qtext
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| bad(queries, n + 1, e))?;
                let id = json_id(&v).ok_or_else(|| bad(queries, n + 1, "no `_id`"))?;
                c.queries
                    .push((id, v["text"].as_str().unwrap_or_default().to_string()));
            }
        } else {
            for top in tagged(&qtext, "top") {
                let num = tagged(top, "num").first().map(|s| s.to_string());
                let title = tagged(top, "title")
                    .first()
                    .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
                if let (Some(n), Some(t)) = (num, title) {
                    c.queries.push((n, t));
                }
            }
        }
        let rtext = read(qrels)?;
        for (n, line) in rtext.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (q, d, rel) = match f.len() {
                3 => (f[0], f[1], f[2]),
                4 => (f[0], f[2], f[3]),
                0 => continue,
                _ => {
                    return Err(bad(
                        qrels,
                        n + 1,
                        "expected `query doc score` or `query 0 doc rel`",
                    ));
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
                c.qrels
                    .entry(q.to_string())
                    .or_default()
                    .insert(d.to_string(), rel);
            }
        }
        if c.documents.is_empty() || c.queries.is_empty() || c.qrels.is_empty() {
            return Err(EngineError::InvalidRequest(format!(
                "the collection is incomplete: {} documents, {} queries, {} judged queries",
                c.documents.len(),
                c.queries.len(),
                c.qrels.len()
            )));
        }
        Ok(c)
    }

    /// Write each document as `<id>.txt` into `dir` (ids encoded so any id is a safe file name).
    pub fn write_files(&self, dir: &Path) -> Result<(), EngineError> {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        for (id, title, text) in &self.documents {
            let path = dir.join(format!("{}.txt", file_id(id)));
            let body = if title.is_empty() {
                text.clone()
            } else {
                format!("{title}\n\n{text}")
            };
            std::fs::write(&path, body).map_err(|e| EngineError::io(&path, e))?;
        }
        Ok(())
    }
}

fn json_id(v: &serde_json::Value) -> Option<String> {
    match &v["_id"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Ids of letters, digits, `-` and `_` stay as they are; anything else is hex-encoded behind `x-`.
fn file_id(id: &str) -> String {
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        id.to_string()
    } else {
        format!(
            "x-{}",
            id.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }
}

fn id_from_path(path: &str) -> String {
    let stem = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.strip_prefix("x-") {
        Some(hex) => (0..hex.len())
            .step_by(2)
            .filter_map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .map(char::from)
            .collect(),
        None => stem,
    }
}

fn ndcg_at(ranked: &[String], rels: &HashMap<String, f64>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| rels.get(d).copied().unwrap_or(0.0) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = rels.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, r)| r / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

impl Engine {
    /// Ingest `collection` (its files written under `files_dir`) and evaluate `mode` over its queries.
    pub async fn evaluate(
        &self,
        collection: &Collection,
        files_dir: &Path,
        mode: SearchMode,
    ) -> Result<EvalReport, EngineError> {
        let started = Instant::now();
        collection.write_files(files_dir)?;
        let report = self
            .ingest(
                &[files_dir.to_path_buf()],
                &IngestOptions::default(),
                &|_| {},
            )
            .await?;
        if let Some((path, cause)) = report.failures().next() {
            return Err(EngineError::InvalidRequest(format!(
                "the collection did not ingest: {}: {cause}",
                path.display()
            )));
        }
        let ingest_seconds = started.elapsed().as_secs_f64();
        let (mut ndcg, mut recall, mut mrr) = (0.0, 0.0, 0.0);
        let mut latencies = Vec::new();
        let mut judged = 0usize;
        for (qid, text) in &collection.queries {
            let Some(rels) = collection.qrels.get(qid) else {
                continue;
            };
            judged += 1;
            let t = Instant::now();
            // Chunks, not documents, come back: ask for enough to rank 100 documents.
            let hits = self
                .search(&SearchRequest::text(text.as_str(), 300).mode(mode))
                .await?
                .hits;
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            let mut seen = HashSet::new();
            let ranked: Vec<String> = hits
                .iter()
                .map(|h| id_from_path(&h.document_path))
                .filter(|id| seen.insert(id.clone()))
                .take(100)
                .collect();
            ndcg += ndcg_at(&ranked, rels, 10);
            let found = ranked.iter().filter(|d| rels.contains_key(*d)).count();
            recall += found as f64 / rels.len() as f64;
            mrr += ranked
                .iter()
                .take(10)
                .position(|d| rels.contains_key(d))
                .map_or(0.0, |p| 1.0 / (p + 1) as f64);
        }
        latencies.sort_by(f64::total_cmp);
        let n = judged.max(1) as f64;
        Ok(EvalReport {
            mode,
            queries: judged,
            documents: collection.documents.len(),
            ndcg_10: ndcg / n,
            recall_100: recall / n,
            mrr_10: mrr / n,
            latency_ms_p50: percentile(&latencies, 0.5),
            latency_ms_p95: percentile(&latencies, 0.95),
            latency_ms_p99: percentile(&latencies, 0.99),
            ingest_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_is_one_for_the_ideal_ranking_and_ids_round_trip() {
        let rels: HashMap<String, f64> = [("a".to_string(), 2.0), ("b".to_string(), 1.0)].into();
        let ideal = vec!["a".to_string(), "b".to_string()];
        assert!((ndcg_at(&ideal, &rels, 10) - 1.0).abs() < 1e-9);
        let worse = vec!["b".to_string(), "x".to_string(), "a".to_string()];
        assert!(ndcg_at(&worse, &rels, 10) < 0.9);
        for id in ["1", "doc/7 b", "MED-10"] {
            assert_eq!(id_from_path(&format!("/c/{}.txt", file_id(id))), id);
        }
    }

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
}
