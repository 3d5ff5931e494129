//! The configuration's sections with their compiled defaults: `[model]`, `[ingest]`, `[search]`.

use std::path::PathBuf;

use serde::Deserialize;

use docvec_embed::{Device, Pooling};

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
    /// Tokens per inference call. On CPU, 512-2048 runs fastest and keeps memory low (the gnuplot manual,
    /// 1210 chunks on 2 cores: 27.6 s and 441 MB RSS at 1024 against 33.4 s and 1.5 GB at 8192).
    pub batch_tokens: usize,
    /// Directory holding `all-MiniLM-L6-v2/` and `onnxruntime/`; found automatically when unset.
    pub models_dir: Option<PathBuf>,
}

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
            batch_tokens: 1024,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Query texts whose vectors are kept (least recently used out first); 0 turns the cache off.
    /// 1024 of all-MiniLM-L6-v2's 384-d vectors take about 1.6 MB: small beside the model, and enough
    /// for the repeated queries of an app's search box or suggestions.
    pub query_cache_size: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            query_cache_size: crate::search::DEFAULT_QUERY_CACHE_SIZE,
        }
    }
}
