//! BM25 with its parameters chosen. Tantivy's term query fixes k1 = 1.2 and b = 0.75; `Bm25TermQuery`
//! is the same one-term scorer over the same postings, field lengths and index-wide statistics, with
//! `k1` (how fast a term's repeats stop adding) and `b` (how much a long chunk is discounted) from
//! [`Bm25`]. The default, k1 0.9 and b 0.4, is Anserini's and Pyserini's for BEIR; on the three
//! development sets it fused with the dense list better than tantivy's constants (BENCHMARKS.md,
//! "Fusion on the development sets"). Elasticsearch and Lucene expose the same two settings.

use serde::{Deserialize, Serialize};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term};

/// BM25's two free parameters, and the heading field's weight beside the text's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bm25 {
    /// Term-frequency saturation: 0 counts a term once however often it occurs; larger lets repeats
    /// add more. Lucene's default is 1.2.
    pub k1: f32,
    /// Length normalisation, 0 to 1: 0 ignores a chunk's length, 1 scores a term in a chunk twice the
    /// average length as half as telling. Lucene's default is 0.75.
    pub b: f32,
    /// A query word's BM25 score in a chunk's heading (title and section path) counts this many
    /// times on top of its score in the text, which holds the heading too, as Elasticsearch's
    /// `multi_match` over `title^w, text` sums its fields. 0 searches the text alone.
    pub heading_weight: f32,
}

impl Default for Bm25 {
    fn default() -> Self {
        Self {
            k1: 0.9,
            b: 0.4,
            heading_weight: HEADING_WEIGHT,
        }
    }
}

/// See [`Bm25::heading_weight`]; chosen on the development sets (BENCHMARKS.md, "Fusion on the
/// development sets").
const HEADING_WEIGHT: f32 = 0.25;

impl Bm25 {
    /// A problem with the values, said the way a configuration error is.
    pub fn problem(&self) -> Option<String> {
        if !(self.k1.is_finite() && self.k1 >= 0.0) {
            return Some(format!("k1 must be 0 or more, got {}", self.k1));
        }
        if !(0.0..=1.0).contains(&self.b) {
            return Some(format!("b must be between 0 and 1, got {}", self.b));
        }
        if !(self.heading_weight.is_finite() && self.heading_weight >= 0.0) {
            return Some(format!(
                "heading_weight must be 0 or more, got {}",
                self.heading_weight
            ));
        }
        None
    }

    /// k1 x (1 - b + b x length / average) for each of tantivy's 256 encoded field lengths: the
    /// denominator's length part, looked up per posting as tantivy's own scorer does.
    fn norms(&self, average: f32) -> [Score; 256] {
        let mut out = [0.0; 256];
        for (id, n) in out.iter_mut().enumerate() {
            let length = FieldNormReader::id_to_fieldnorm(id as u8) as f32;
            *n = self.k1 * (1.0 - self.b + self.b * length / average.max(f32::MIN_POSITIVE));
        }
        out
    }
}

/// BM25's idf, as Lucene and tantivy compute it: never negative, however common the term.
fn idf(doc_freq: u64, docs: u64) -> Score {
    let (n, df) = (docs as f64, doc_freq as f64);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as Score
}

/// One term of a keyword query, scored by BM25 with `params`, weighted by `boost` (how often the
/// query repeats it).
#[derive(Debug, Clone)]
pub(crate) struct Bm25TermQuery {
    pub term: Term,
    pub params: Bm25,
    pub boost: Score,
}

impl Query for Bm25TermQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let EnableScoring::Enabled {
            statistics_provider: stats,
            ..
        } = scoring
        else {
            // Counting or filtering: every posting matches with the same score.
            return Ok(Box::new(Bm25TermWeight {
                term: self.term.clone(),
                weight: 0.0,
                norms: [1.0; 256],
            }));
        };
        let docs = stats.total_num_docs()?;
        let tokens = stats.total_num_tokens(self.term.field())?;
        let average = if docs == 0 {
            1.0
        } else {
            tokens as f32 / docs as f32
        };
        let idf = idf(stats.doc_freq(&self.term)?, docs);
        Ok(Box::new(Bm25TermWeight {
            term: self.term.clone(),
            weight: self.boost * idf * (self.params.k1 + 1.0),
            norms: self.params.norms(average),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        visitor(&self.term, false);
    }
}

struct Bm25TermWeight {
    term: Term,
    /// boost x idf x (k1 + 1): the score's factor common to every posting.
    weight: Score,
    norms: [Score; 256],
}

impl Weight for Bm25TermWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let field = self.term.field();
        let postings = reader
            .inverted_index(field)?
            .read_postings(&self.term, IndexRecordOption::WithFreqs)?;
        let Some(postings) = postings else {
            return Ok(Box::new(EmptyScorer));
        };
        let lengths = reader
            .fieldnorms_readers()
            .get_field(field)?
            .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
        Ok(Box::new(Bm25TermScorer {
            postings,
            lengths,
            weight: self.weight * boost,
            norms: self.norms,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not hold the term"
            )));
        }
        Ok(Explanation::new("BM25 (docvec's k1 and b)", scorer.score()))
    }
}

struct Bm25TermScorer {
    postings: SegmentPostings,
    lengths: FieldNormReader,
    weight: Score,
    norms: [Score; 256],
}

impl DocSet for Bm25TermScorer {
    fn advance(&mut self) -> DocId {
        self.postings.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.postings.seek(target)
    }

    fn doc(&self) -> DocId {
        self.postings.doc()
    }

    fn size_hint(&self) -> u32 {
        self.postings.size_hint()
    }
}

impl Scorer for Bm25TermScorer {
    fn score(&mut self) -> Score {
        let tf = self.postings.term_freq() as Score;
        let norm = self.norms[self.lengths.fieldnorm_id(self.postings.doc()) as usize];
        self.weight * tf / (tf + norm)
    }
}
