//! The configuration's sections with their compiled defaults: `[model]`, `[ingest]`, `[search]`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use docvec_embed::{Device, Pooling};

use crate::EngineError;

/// The embedding model. With no paths set, the default model fetched by `tools/setup_models.py`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub id: Option<String>,
    pub path: Option<PathBuf>,
    pub tokenizer: Option<PathBuf>,
    pub ort_library: Option<PathBuf>,
    pub dimension: usize,
    pub max_tokens: usize,
    pub pooling: Pooling,
    pub normalize: bool,
    pub device: Device,
    /// ONNX Runtime intra-op threads; 0 = one per core.
    pub threads: usize,
    /// ONNX Runtime sessions that share the threads and run a call's batches side by side on the CPU
    /// (an ingest, a burst of queries); a lone query still runs on one session of all the threads.
    /// 0 = one per thread, up to [`AUTO_SESSIONS_MAX`]; 1 = one session for everything.
    pub sessions: usize,
    /// Tokens per inference call; 0 = by device ([`docvec_embed::default_batch_tokens`]: 256 on the
    /// CPU, where a call's activations then stay in cache, 1024 on a GPU).
    pub batch_tokens: usize,
    /// Rows per inference call at most. Raise it with `batch_tokens` on a GPU (e.g. 512 rows and
    /// 131072 tokens); it is also the largest batch a TensorRT engine is built for.
    pub batch_rows: usize,
    /// The GPU to run on (CUDA's device ordinal), for `cuda` and `tensorrt`.
    pub device_id: u32,
    /// Where TensorRT keeps its engines and timing cache between starts [default: DATA_DIR/tensorrt-cache].
    pub tensorrt_cache: Option<PathBuf>,
    /// TensorRT may use fp16 kernels (LayerNorm stays fp32).
    pub tensorrt_fp16: bool,
    /// Directory holding `all-MiniLM-L6-v2/` and `onnxruntime/`; found automatically when unset.
    pub models_dir: Option<PathBuf>,
}

/// The most sessions `sessions = 0` makes: one per thread measured fastest on 2 cores
/// (BENCHMARKS.md); on a larger CPU, sessions of several threads each keep the pool's memory
/// (each session's buffers) bounded.
pub const AUTO_SESSIONS_MAX: usize = 4;

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            id: None,
            path: None,
            tokenizer: None,
            ort_library: None,
            dimension: 384,
            max_tokens: 256,
            pooling: Pooling::Mean,
            normalize: true,
            device: Device::Cpu,
            threads: 0,
            sessions: 0,
            batch_tokens: 0,
            batch_rows: docvec_embed::DEFAULT_BATCH_ROWS,
            device_id: 0,
            tensorrt_cache: None,
            tensorrt_fp16: true,
            models_dir: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub max_file_bytes: u64,
    pub pdf_password: Option<String>,
    pub follow_symlinks: bool,
    /// Rows read from one table (CSV file or sheet).
    pub max_table_rows: usize,
    /// Bytes a compressed container (XLSX, ODS) may inflate to before it is refused as a zip bomb.
    pub max_decompressed_bytes: u64,
    /// Deepest nesting of arrays and objects an API description (JSON or YAML) may have.
    pub max_nesting_depth: usize,
    /// Keyphrase tags kept per document and per chunk (0 turns them off).
    pub keyphrases_per_document: usize,
    pub keyphrases_per_chunk: usize,
    /// Facts kept per document; the rest are left out with a warning.
    pub max_facts_per_document: usize,
    /// Read and parse files on every core while earlier ones are embedded and stored. `false` reads one
    /// file at a time and reads the next only once the writer has taken the last one in (and embedded
    /// it when a batch filled): the baseline the ingest bench times the pipeline against.
    pub pipeline: bool,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 256 * 1024 * 1024,
            pdf_password: None,
            follow_symlinks: true,
            max_table_rows: 1_000_000,
            max_decompressed_bytes: 1024 * 1024 * 1024,
            max_nesting_depth: 64,
            keyphrases_per_document: 10,
            keyphrases_per_chunk: 5,
            max_facts_per_document: 10_000,
            pipeline: true,
        }
    }
}

/// What one search may ask, so that no single request takes the CPU from every other client (a 1 MB
/// query of 200,000 words once cost 9.4 s of CPU: tokenising all of it for the model, which then
/// reads only its first `model.max_tokens`, and a BM25 query over every one of its distinct words),
/// and the query-vector cache.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Longest query text, in UTF-8 bytes, trimmed. 4096 is some 600 English words: more than the
    /// model reads (256 wordpieces, about 1-1.5 KB of prose) and twice the longest query of the three
    /// development sets (2,023 bytes, CISI); a pasted paragraph fits, a pasted document does not.
    pub max_query_bytes: usize,
    /// Most distinct terms (after stemming) the keyword side may search for: what BM25's cost grows
    /// with, one posting list each. 256 keeps every query of the development sets (the longest, in
    /// CISI, has 173 distinct words); a query at 4096 bytes of ordinary prose has about 250-300.
    /// Counted where the keyword index reads the text: modes `keyword` and `hybrid`, and highlights.
    pub max_query_terms: usize,
    /// Query texts whose vectors are kept (least recently used out first); 0 turns the cache off.
    /// 1024 of all-MiniLM-L6-v2's 384-d vectors take about 1.6 MB: small beside the model, and enough
    /// for the repeated queries of an app's search box or suggestions.
    pub query_cache_size: usize,
    /// Most queries embedded in one model call: concurrent searches are embedded together (see
    /// `search::query_batch`); 1 embeds each alone.
    pub query_batch_size: usize,
    /// Longest a query waits for others to join its batch, in microseconds (Triton's
    /// `max_queue_delay_microseconds`). Under load batches fill while the previous one runs and
    /// nothing waits; a lone query pays at most this.
    pub query_batch_delay_us: usize,
    /// BM25's term-frequency saturation for keyword search (Lucene's k1; see `docvec_fulltext::Bm25`).
    pub bm25_k1: f32,
    /// BM25's length normalisation, 0 to 1 (Lucene's b).
    pub bm25_b: f32,
    /// How much a query word in a chunk's heading (document title and section path) adds, as a
    /// multiple of its BM25 score in the text; 0 searches the text alone.
    pub bm25_heading_weight: f32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            max_query_bytes: 4096,
            max_query_terms: 256,
            query_cache_size: crate::search::DEFAULT_QUERY_CACHE_SIZE,
            query_batch_size: 32,
            query_batch_delay_us: 2000,
            bm25_k1: docvec_fulltext::Bm25::default().k1,
            bm25_b: docvec_fulltext::Bm25::default().b,
            bm25_heading_weight: docvec_fulltext::Bm25::default().heading_weight,
        }
    }
}

impl SearchConfig {
    pub(crate) fn apply_env(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), EngineError> {
        use super::parse;
        if let Some(v) = get("DOCVEC_MAX_QUERY_BYTES") {
            self.max_query_bytes = parse("DOCVEC_MAX_QUERY_BYTES", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_QUERY_TERMS") {
            self.max_query_terms = parse("DOCVEC_MAX_QUERY_TERMS", v)?;
        }
        if let Some(v) = get("DOCVEC_QUERY_CACHE_SIZE") {
            self.query_cache_size = parse("DOCVEC_QUERY_CACHE_SIZE", v)?;
        }
        if let Some(v) = get("DOCVEC_QUERY_BATCH_SIZE") {
            self.query_batch_size = parse("DOCVEC_QUERY_BATCH_SIZE", v)?;
        }
        if let Some(v) = get("DOCVEC_BM25_K1") {
            self.bm25_k1 = parse("DOCVEC_BM25_K1", v)?;
        }
        if let Some(v) = get("DOCVEC_BM25_B") {
            self.bm25_b = parse("DOCVEC_BM25_B", v)?;
        }
        if let Some(v) = get("DOCVEC_BM25_HEADING_WEIGHT") {
            self.bm25_heading_weight = parse("DOCVEC_BM25_HEADING_WEIGHT", v)?;
        }
        if let Some(v) = get("DOCVEC_QUERY_BATCH_DELAY_US") {
            self.query_batch_delay_us = parse("DOCVEC_QUERY_BATCH_DELAY_US", v)?;
        }
        Ok(())
    }

    /// A limit of 0 would refuse every query: a mistake, said at start-up rather than per request.
    pub(crate) fn check(&self) -> Result<(), EngineError> {
        for (value, key) in [
            (self.max_query_bytes, "search.max_query_bytes"),
            (self.max_query_terms, "search.max_query_terms"),
        ] {
            if value == 0 {
                return Err(EngineError::Config(format!(
                    "{key} must be at least 1 (0 would refuse every query)"
                )));
            }
        }
        if self.query_batch_size == 0 {
            return Err(EngineError::Config(
                "search.query_batch_size must be at least 1 (1 embeds each query alone)".into(),
            ));
        }
        if let Some(problem) = self.bm25().problem() {
            return Err(EngineError::Config(format!("search.bm25_*: {problem}")));
        }
        if self.query_batch_delay_us > 1_000_000 {
            return Err(EngineError::Config(format!(
                "search.query_batch_delay_us is {}, over a second: every lone query would wait that \
                 long (2000, two milliseconds, is the default)",
                self.query_batch_delay_us
            )));
        }
        Ok(())
    }

    pub(crate) fn bm25(&self) -> docvec_fulltext::Bm25 {
        docvec_fulltext::Bm25 {
            k1: self.bm25_k1,
            b: self.bm25_b,
            heading_weight: self.bm25_heading_weight,
        }
    }

    pub(crate) fn batch_options(&self) -> crate::search::BatchOptions {
        crate::search::BatchOptions {
            size: self.query_batch_size,
            delay: std::time::Duration::from_micros(self.query_batch_delay_us as u64),
        }
    }

    /// Refuse a query text longer than [`Self::max_query_bytes`], before anything reads it.
    pub(crate) fn check_bytes(&self, text: &str) -> Result<(), EngineError> {
        if text.len() > self.max_query_bytes {
            return Err(EngineError::InvalidRequest(format!(
                "the query is {} bytes; the limit is {} (search.max_query_bytes, DOCVEC_MAX_QUERY_BYTES)",
                text.len(),
                self.max_query_bytes
            )));
        }
        Ok(())
    }

    /// Refuse a query of more than [`Self::max_query_terms`] distinct keyword terms.
    pub(crate) fn check_terms(&self, terms: usize) -> Result<(), EngineError> {
        if terms > self.max_query_terms {
            return Err(EngineError::InvalidRequest(format!(
                "the query has {terms} distinct terms; the limit is {} (search.max_query_terms, \
                 DOCVEC_MAX_QUERY_TERMS)",
                self.max_query_terms
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Config;
    use crate::config::one_var;

    #[test]
    fn search_limits_come_from_the_file_then_the_environment() {
        let cfg = Config::load(Some(Path::new("/dev/null")), None).unwrap();
        assert_eq!(cfg.search, SearchConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(&file, "[search]\nmax_query_bytes = 100\n").unwrap();
        let mut cfg = Config::load(Some(&file), None).unwrap();
        assert_eq!(
            (cfg.search.max_query_bytes, cfg.search.max_query_terms),
            (100, 256)
        );
        cfg.apply_env(one_var("DOCVEC_MAX_QUERY_TERMS", "8"))
            .unwrap();
        assert_eq!(
            (cfg.search.max_query_bytes, cfg.search.max_query_terms),
            (100, 8)
        );
        let err = cfg
            .apply_env(one_var("DOCVEC_MAX_QUERY_BYTES", "4k"))
            .unwrap_err();
        assert!(
            err.to_string().contains("DOCVEC_MAX_QUERY_BYTES=4k"),
            "{err}"
        );

        std::fs::write(&file, "[search]\nmax_query_terms = 0\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(
            err.contains("search.max_query_terms must be at least 1"),
            "{err}"
        );
        std::fs::write(&file, "[search]\nmax_query_words = 10\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("max_query_words"), "{err}");
    }

    #[test]
    fn the_query_cache_is_sized_by_the_file_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(&file, "[search]\nquery_cache_size = 0\n").unwrap();
        let mut cfg = Config::load(Some(&file), None).unwrap();
        assert_eq!(cfg.search.query_cache_size, 0);
        cfg.apply_env(one_var("DOCVEC_QUERY_CACHE_SIZE", "64"))
            .unwrap();
        assert_eq!(cfg.search.query_cache_size, 64);
        let err = cfg
            .apply_env(one_var("DOCVEC_QUERY_CACHE_SIZE", "-1"))
            .unwrap_err();
        assert!(
            err.to_string().contains("DOCVEC_QUERY_CACHE_SIZE=-1"),
            "{err}"
        );
        std::fs::write(&file, "[search]\nquery_cache = 5\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("query_cache"), "{err}");
    }

    #[test]
    fn a_query_over_a_limit_names_the_limit_and_its_setting() {
        let limits = SearchConfig {
            max_query_bytes: 8,
            max_query_terms: 2,
            ..SearchConfig::default()
        };
        assert!(limits.check_bytes("12345678").is_ok(), "at the limit");
        let err = limits.check_bytes("123456789").unwrap_err();
        assert!(matches!(err, EngineError::InvalidRequest(_)));
        assert_eq!(
            err.to_string(),
            "the query is 9 bytes; the limit is 8 (search.max_query_bytes, DOCVEC_MAX_QUERY_BYTES)"
        );
        assert!(limits.check_terms(2).is_ok(), "at the limit");
        assert_eq!(
            limits.check_terms(3).unwrap_err().to_string(),
            "the query has 3 distinct terms; the limit is 2 (search.max_query_terms, DOCVEC_MAX_QUERY_TERMS)"
        );
    }
}
