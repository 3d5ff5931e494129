//! Highlighted snippets: the passage of a chunk's text where the query's words stand thickest, found
//! with the same analyser (English stemming) the index uses, so "indexes" in a query marks "indexing".

use docvec_types::Snippet;
use tantivy::snippet::SnippetGenerator;

use crate::{TextIndex, TextIndexError};

impl TextIndex {
    /// A snippet of at most `max_chars` for each of `texts` (chunk texts, from the store), or `None`
    /// where none of the query's words occur.
    pub fn snippets(
        &self,
        query: &str,
        texts: &[&str],
        max_chars: usize,
    ) -> Result<Vec<Option<Snippet>>, TextIndexError> {
        let searcher = self.reader.searcher();
        let q = self.words_query(query, crate::Bm25::default())?;
        let mut generator =
            SnippetGenerator::create(&searcher, &q, self.text).map_err(|e| self.err(e))?;
        generator.set_max_num_chars(max_chars.max(1));
        Ok(texts
            .iter()
            .map(|text| {
                let s = generator.snippet(text);
                (!s.highlighted().is_empty()).then(|| Snippet {
                    fragment: s.fragment().to_string(),
                    highlights: s.highlighted().iter().map(|r| (r.start, r.end)).collect(),
                })
            })
            .collect())
    }
}
