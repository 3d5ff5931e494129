//! The query a keyword search runs: the text's words as the index's analyser cuts them (English
//! stemming), each an optional term, so BM25 ranks chunks holding more of them higher. A word the
//! query repeats weighs as many times (BM25's query term frequency): a long question that names its
//! topic twice is about that topic. Counting each word once cost CISI's long queries 0.06 nDCG@10.
//!
//! A search box's text is words, never query syntax. Tantivy's query parser read "shock-sound" as a
//! phrase that had to stand in that order, "- (a)" as "exclude a", a capitalised AND or NOT as an
//! operator and "word:" as a field name, so queries lost their own words (Cranfield's query 170
//! excluded two of them) and hyphenated terms, common in scientific text, only matched as phrases.
//!
//! The query drops English stop words (Lucene's list, which Elasticsearch's `english` analyser also
//! uses) before stemming, unless that leaves nothing. They stay in the index, so a chunk's length is
//! unchanged and an older index needs no rebuild; only the query stops paying BM25 weight to "of",
//! "by" and "the", which a short query's few content words then lose ranks to.

use std::collections::HashMap;

use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};

use crate::bm25::{Bm25, Bm25TermQuery};
use crate::{TextIndex, TextIndexError};

/// Lucene's English stop words (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`).
const STOP_WORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// The index's `en_stem` chain (tantivy's: simple tokens, words over 40 bytes dropped, lower case,
/// English Snowball stemming) with the stop words taken out before the stemmer.
fn query_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(STOP_WORDS.map(String::from)))
        .filter(Stemmer::new(Language::English))
        .build()
}

impl TextIndex {
    /// The distinct words of `text` a query scores, analysed as the index analyses its text, in
    /// order of first appearance, each with how often it occurs: its words less stop words, or all
    /// of them where it has nothing else ("to be or not to be").
    pub(crate) fn terms_of(&self, text: &str) -> Result<Vec<(String, usize)>, TextIndexError> {
        let terms = analysed(text, &mut query_analyzer());
        if !terms.is_empty() {
            return Ok(terms);
        }
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.text)
            .map_err(|e| self.err(e))?;
        Ok(analysed(text, &mut analyzer))
    }

    /// Any of `text`'s words, each scored by BM25 with `params` in the text and, weighted, in the
    /// heading (a text without a word matches nothing).
    pub(crate) fn words_query(
        &self,
        text: &str,
        params: Bm25,
    ) -> Result<BooleanQuery, TextIndexError> {
        let heading = self.heading.filter(|_| params.heading_weight > 0.0);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (word, n) in self.terms_of(text)? {
            let mut clause = |field, boost| {
                let q: Box<dyn Query> = Box::new(Bm25TermQuery {
                    term: Term::from_field_text(field, &word),
                    params,
                    boost,
                });
                clauses.push((Occur::Should, q));
            };
            clause(self.text, n as f32);
            if let Some(field) = heading {
                clause(field, n as f32 * params.heading_weight);
            }
        }
        Ok(BooleanQuery::new(clauses))
    }
}

fn analysed(text: &str, analyzer: &mut TextAnalyzer) -> Vec<(String, usize)> {
    let mut terms: Vec<(String, usize)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let word = &stream.token().text;
        match at.get(word) {
            Some(&i) => terms[i].1 += 1,
            None => {
                at.insert(word.clone(), terms.len());
                terms.push((word.clone(), 1));
            }
        }
    }
    terms
}
