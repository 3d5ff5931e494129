//! Shaping a result list: at most N hits per document (so one long document cannot fill the page), and
//! highlighted snippets of the query's words.

use std::collections::HashMap;
use std::future::Future;

use docvec_types::SearchHit;

use super::{MAX_K, SearchResults};
use crate::sync::blocking;
use crate::{Engine, EngineError};

/// Run `fetch(n)` (a search for the best n hits) for enough candidates that `k` hits remain after
/// keeping at most `per_document` of each document, best first. `per_document == 0` means no cap.
/// Asks again with more candidates, up to [`MAX_K`], while the cap leaves fewer than k and the last
/// answer was full (more hits may exist).
pub(super) async fn capped<F, Fut>(
    k: usize,
    per_document: usize,
    mut fetch: F,
) -> Result<SearchResults, EngineError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<SearchResults, EngineError>>,
{
    if per_document == 0 {
        return fetch(k).await;
    }
    let mut n = (4 * k).clamp(50, MAX_K).max(k);
    loop {
        let mut results = fetch(n).await?;
        let returned = results.hits.len();
        cap_per_document(&mut results.hits, per_document);
        if results.hits.len() >= k || returned < n || n >= MAX_K {
            results.hits.truncate(k);
            return Ok(results);
        }
        n = (n * 4).min(MAX_K);
    }
}

/// Keep at most `cap` hits of each document, in order.
pub fn cap_per_document(hits: &mut Vec<SearchHit>, cap: usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    hits.retain(|h| {
        let n = seen.entry(h.document_id.clone()).or_default();
        *n += 1;
        *n <= cap
    });
}

impl Engine {
    /// Attach to each hit the passage of at most `max_chars` of its text where `query`'s words stand
    /// (stemmed as the keyword index stems them); hits without any of the words get none.
    pub(super) async fn add_snippets(
        &self,
        query: &str,
        hits: &mut [SearchHit],
        max_chars: usize,
    ) -> Result<(), EngineError> {
        if hits.is_empty() {
            return Ok(());
        }
        let text = self.text_index();
        let q = query.to_string();
        let texts: Vec<String> = hits.iter().map(|h| h.text.clone()).collect();
        let snippets = blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(text.snippets(&q, &refs, max_chars)?)
        })
        .await?;
        for (hit, snippet) in hits.iter_mut().zip(snippets) {
            hit.snippet = snippet;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use docvec_types::Format;

    fn hit(doc: &str, score: f32) -> SearchHit {
        SearchHit {
            score,
            chunk_id: 0,
            chunk_key: String::new(),
            document_id: doc.into(),
            document_path: doc.into(),
            document_title: None,
            format: Format::Text,
            section: None,
            page: None,
            span: None,
            meta: None,
            text: String::new(),
            snippet: None,
        }
    }

    fn results(hits: Vec<SearchHit>) -> SearchResults {
        SearchResults {
            hits,
            source: "local",
            warning: None,
        }
    }

    #[tokio::test]
    async fn the_cap_asks_for_more_until_k_hits_of_distinct_enough_documents_remain() {
        // 300 ranked hits: the first 200 all from document a, then b, c, d ... one each.
        let ranked: Vec<SearchHit> = (0..300)
            .map(|i| match i {
                0..200 => hit("a", 1.0),
                _ => hit(&format!("d{i}"), 0.5),
            })
            .collect();
        let mut asked = Vec::new();
        let r = capped(5, 2, |n| {
            asked.push(n);
            let page = ranked.iter().take(n).cloned().collect();
            async move { Ok(results(page)) }
        })
        .await
        .unwrap();
        let docs: Vec<&str> = r.hits.iter().map(|h| h.document_id.as_str()).collect();
        assert_eq!(docs, ["a", "a", "d200", "d201", "d202"]);
        assert_eq!(asked, [50, 200, 800]);

        // Fewer matching hits than k: what exists comes back, after one ask.
        let mut asked = 0;
        let r = capped(10, 1, |n| {
            asked += 1;
            let page = ranked.iter().take(n.min(3)).cloned().collect();
            async move { Ok(results(page)) }
        })
        .await
        .unwrap();
        assert_eq!((r.hits.len(), asked), (1, 1));
    }
}
