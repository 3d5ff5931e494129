//! The one search path: a [`SearchRequest`] in, a [`SearchResponse`] out. The CLI, the server and
//! `docvec eval` all call [`Engine::search`], so a request means the same on every surface: it is
//! checked and normalised once here (k, text or vector, date bounds), embedded at most once, routed by
//! mode and storage mode (`routing`), answered by the vector index (`vector`), BM25 (`keyword`) or
//! both fused (`fusion`), then capped per document and given snippets (`results`).

mod batch;
mod fusion;
mod keyword;
mod query_batch;
mod query_cache;
mod results;
mod routing;
mod vector;

use std::time::Instant;

use serde::{Deserialize, Serialize};

use docvec_store::ChunkFilter;
use docvec_types::SearchHit;

use crate::{Engine, EngineError, SearchConfig};

pub use batch::VectorBatchResults;
pub use fusion::{Fusion, HybridOptions, fuse};
pub use query_batch::QueryBatchStats;
pub(crate) use query_batch::{BatchOptions, QueryBatcher};
pub(crate) use query_cache::QueryCache;
pub use query_cache::{DEFAULT_QUERY_CACHE_SIZE, QueryCacheStats};
pub use results::cap_per_document;
pub use routing::SearchResults;
pub use vector::QueryVector;

/// Most hits one query may ask for.
pub const MAX_K: usize = 1000;
/// Hits a request gets when it does not say.
pub const DEFAULT_K: usize = 10;
/// Longest snippet, in characters, when a request asks for snippets without saying how long.
pub const DEFAULT_SNIPPET_CHARS: usize = 200;

/// How hits are found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Nearest chunks in meaning.
    Vector,
    /// BM25 over the chunks' words.
    Keyword,
    /// Both, fused.
    #[default]
    Hybrid,
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "vector" => Ok(SearchMode::Vector),
            "keyword" => Ok(SearchMode::Keyword),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(format!(
                "unknown search mode `{other}` (vector, keyword or hybrid)"
            )),
        }
    }
}

/// One search, as every surface asks it.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query's words. May be left out when `vector` is given: `hybrid` then searches by the
    /// vector alone, and `keyword` is refused.
    pub text: Option<String>,
    /// The caller's own query vector, of the index's dimension, instead of embedding `text`; scaled to
    /// unit length, so scores are cosine similarities.
    pub vector: Option<Vec<f32>>,
    /// Hits to return, 1 to [`MAX_K`].
    pub k: usize,
    pub mode: SearchMode,
    /// Which chunks may come back; resolved before the top k is chosen.
    pub filter: ChunkFilter,
    pub hybrid: HybridOptions,
    /// At most this many hits of one document (0: no limit); k hits still come back whenever enough
    /// documents match.
    pub max_per_document: usize,
    /// Give each hit the passage of at most this many characters where the query's words stand.
    pub snippet_chars: Option<usize>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            text: None,
            vector: None,
            k: DEFAULT_K,
            mode: SearchMode::default(),
            filter: ChunkFilter::default(),
            hybrid: HybridOptions::default(),
            max_per_document: 0,
            snippet_chars: None,
        }
    }
}

impl SearchRequest {
    /// A search for `text`'s `k` best hits, in the default (hybrid) mode.
    pub fn text(text: impl Into<String>, k: usize) -> Self {
        SearchRequest {
            text: Some(text.into()),
            k,
            ..Default::default()
        }
    }

    /// A search by the caller's own vector.
    pub fn vector(values: Vec<f32>, k: usize) -> Self {
        SearchRequest {
            vector: Some(values),
            k,
            ..Default::default()
        }
    }

    pub fn mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn filter(mut self, filter: ChunkFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Check the request and put it in the one form the rest of the path assumes: text trimmed (and
    /// `None` when blank) and within `limits`' bytes, k in range, date bounds ISO 8601 (the store reads
    /// an `until` that names a day or a minute as all of it, on every surface).
    fn normalised(&self, limits: &SearchConfig) -> Result<SearchRequest, EngineError> {
        // Measured before anything copies, tokenises or parses the text.
        if let Some(text) = &self.text {
            limits.check_bytes(text.trim())?;
        }
        let mut req = self.clone();
        req.text = req
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        check_k(req.k)?;
        match (&req.text, &req.vector, req.mode) {
            (None, None, _) => {
                return Err(EngineError::InvalidRequest("the query is empty".into()));
            }
            (None, Some(_), SearchMode::Keyword) => {
                return Err(EngineError::InvalidRequest(
                    "keyword search needs the query's text; a vector alone searches in mode `vector`"
                        .into(),
                ));
            }
            _ => {}
        }
        crate::check_time_bounds(req.filter.since.as_deref(), req.filter.until.as_deref())?;
        req.hybrid.check()?;
        Ok(req)
    }
}

/// The answer to a [`SearchRequest`].
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub hits: Vec<SearchHit>,
    pub mode: SearchMode,
    /// `local` (this machine's indexes) or `remote` (Postgres).
    pub source: &'static str,
    /// Set when the answer is degraded (Postgres failed and the local index answered; a mode the
    /// storage mode cannot serve fell back to vector search).
    pub warning: Option<String>,
    /// Time spent embedding the query (none when nothing was embedded).
    pub embed_seconds: Option<f64>,
    /// Time spent searching, fusing and reading the hits, the embedding not included.
    pub search_seconds: f64,
}

/// k must be within 1..=MAX_K.
pub(crate) fn check_k(k: usize) -> Result<(), EngineError> {
    if k == 0 || k > MAX_K {
        return Err(EngineError::InvalidRequest(format!(
            "k must be between 1 and {MAX_K}, got {k}"
        )));
    }
    Ok(())
}

impl Engine {
    /// Whether [`Engine::search`] would take `request` or refuse it as the caller's mistake, found
    /// without touching an index: for a server to refuse at once a request it would otherwise queue
    /// for a turn to search (the check costs microseconds; a refused query never waits).
    pub fn check_search(&self, request: &SearchRequest) -> Result<(), EngineError> {
        self.checked(request).map(|_| ())
    }

    /// Wordpieces the model will embed to answer `request` (0 when it brings its own vector or needs
    /// none): its cost, for a server that schedules searches by it. Checks the request as
    /// [`Engine::check_search`] does.
    pub fn query_tokens(&self, request: &SearchRequest) -> Result<usize, EngineError> {
        let (req, route) = self.checked(request)?;
        Ok(match (&req.vector, req.text.as_deref(), route) {
            (None, Some(text), r) if r != routing::Route::Keyword => {
                self.embedder().count_tokens(text)
            }
            _ => 0,
        })
    }

    /// The request normalised and within `[search]`'s limits, and its route.
    fn checked(
        &self,
        request: &SearchRequest,
    ) -> Result<(SearchRequest, routing::Route), EngineError> {
        let limits = &self.config().search;
        let req = request.normalised(limits)?;
        let route = routing::route(self.storage_mode(), &req)?;
        if let Some(text) = req.text.as_deref()
            && (route.reads_text() || req.snippet_chars.is_some())
        {
            limits.check_terms(self.text_index().query_terms(text))?;
        }
        Ok((req, route))
    }

    /// Answer one search: the path every surface takes. Catches up with the store first (another
    /// process may have ingested since this engine opened), embeds the query at most once, and asks
    /// the indexes for more candidates only when a per-document cap leaves fewer than k.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResponse, EngineError> {
        let (mut req, route) = self.checked(request)?;
        // On a full disk the full-text index cannot commit what it caught up with: search what the
        // indexes hold (the store keeps the log they replay once there is room) and say so, rather
        // than refuse every search until space is freed.
        let caught_up =
            crate::sync::unless_disk_full(self.catch_up_if_idle().await, "the indexes' catch-up")?;
        // The caller's vector moves into the query; nothing after this reads it from the request.
        let own_vector = req.vector.take();
        let embeds = own_vector.is_none();
        let embed_started = Instant::now();
        let query = self
            .query_for(own_vector, req.text.as_deref(), route)
            .await?;
        let embed_seconds = query
            .as_ref()
            .filter(|_| embeds)
            .map(|_| embed_started.elapsed().as_secs_f64());
        let started = Instant::now();
        let mut results = results::capped(req.k, req.max_per_document, |n| {
            self.run_route(route, &req, query.clone(), n)
        })
        .await?;
        if let (Some(chars), Some(text)) = (req.snippet_chars, req.text.as_deref()) {
            self.add_snippets(text, &mut results.hits, chars).await?;
        }
        Ok(SearchResponse {
            hits: results.hits,
            mode: req.mode,
            source: results.source,
            warning: match (caught_up, results.warning) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            },
            embed_seconds,
            search_seconds: started.elapsed().as_secs_f64(),
        })
    }
}
