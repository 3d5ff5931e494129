//! The query a keyword search runs: the text's words as the index's analyser cuts them (English
//! stemming), each an optional term, so BM25 ranks chunks holding more of them higher. A word the
//! query repeats weighs as many times (BM25's query term frequency): a long question that names its
//! topic twice is about that topic. Counting each word once cost CISI's long queries 0.06 nDCG@10.
//!
//! A search box's text is words, never query syntax. Tantivy's query parser read "shock-sound" as a
//! phrase that had to stand in that order, "- (a)" as "exclude a", a capitalised AND or NOT as an
//! operator and "word:" as a field name, so queries lost their own words (Cranfield's query 170
//! excluded two of them) and hyphenated terms, common in scientific text, only matched as phrases.

use std::collections::HashMap;

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

use crate::{TextIndex, TextIndexError};

impl TextIndex {
    /// The distinct terms of `text`, in order of first appearance, each with how often it occurs.
    pub(crate) fn terms_of(&self, text: &str) -> Result<Vec<(Term, usize)>, TextIndexError> {
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.text)
            .map_err(|e| self.err(e))?;
        let mut terms: Vec<(Term, usize)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let word = &stream.token().text;
            match at.get(word) {
                Some(&i) => terms[i].1 += 1,
                None => {
                    at.insert(word.clone(), terms.len());
                    terms.push((Term::from_field_text(self.text, word), 1));
                }
            }
        }
        Ok(terms)
    }

    /// Any of `text`'s terms, each scored by BM25 (a text without a word matches nothing).
    pub(crate) fn words_query(&self, text: &str) -> Result<BooleanQuery, TextIndexError> {
        let clauses: Vec<(Occur, Box<dyn Query>)> = self
            .terms_of(text)?
            .into_iter()
            .map(|(term, n)| {
                let q: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                let q: Box<dyn Query> = match n {
                    1 => q,
                    n => Box::new(BoostQuery::new(q, n as f32)),
                };
                (Occur::Should, q)
            })
            .collect();
        Ok(BooleanQuery::new(clauses))
    }
}
