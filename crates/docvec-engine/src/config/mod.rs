//! Configuration: compiled defaults, then a TOML file, then `DOCVEC_*` environment variables.
//!
//! The file is read once, here, and every key in it is checked. `[server]` is the one section the
//! engine does not read: `docvec-server` owns those settings and their `DOCVEC_*` overrides, so the
//! table is kept as written ([`Config::server`]) for it to check and read, and a build without the
//! server (the slim CLI) still accepts a file that has one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use docvec_index::{HnswParams, Quantization};

use crate::EngineError;

mod models;
mod sections;

use models::ModelDefaults;
pub use models::{Builtin, DEFAULT_MODEL};
pub use sections::{AUTO_SESSIONS_MAX, IngestConfig, ModelConfig, SearchConfig};

/// Everything an [`Engine`](crate::Engine) needs. Build it with [`Config::load`].
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub model: ModelConfig,
    /// Other models a rebuild may switch the data directory to (`[models.NAME]` tables), by name.
    pub models: BTreeMap<String, ModelConfig>,
    pub chunk: docvec_chunk::ChunkOptions,
    pub hnsw: HnswParams,
    pub ingest: IngestConfig,
    pub search: SearchConfig,
    pub mirror: crate::MirrorConfig,
    /// The file's `[server]` table as written (empty without one), for `docvec_server::ServerConfig`.
    pub server: toml::Table,
    /// The configuration file that was read, if any, so a section read elsewhere names it in errors.
    pub file: Option<PathBuf>,
}

/// The TOML file's shape; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    model: Option<toml::Table>,
    #[serde(default)]
    models: Option<BTreeMap<String, toml::Table>>,
    #[serde(default)]
    chunk: Option<ChunkFile>,
    #[serde(default)]
    hnsw: Option<HnswFile>,
    #[serde(default)]
    ingest: Option<IngestConfig>,
    #[serde(default)]
    search: Option<SearchConfig>,
    #[serde(default)]
    mirror: Option<crate::MirrorConfig>,
    #[serde(default)]
    server: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChunkFile {
    overlap_tokens: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HnswFile {
    m: Option<usize>,
    ef_construction: Option<usize>,
    ef_search: Option<usize>,
    quantization: Option<Quantization>,
}

/// A `DOCVEC_*` variable's value as the setting's type; a value that does not parse names the variable.
pub(crate) fn parse<T: std::str::FromStr>(key: &str, v: String) -> Result<T, EngineError>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| EngineError::Config(format!("{key}={v}: {e}")))
}

impl Config {
    /// Defaults, then `file` (or `./docvec.toml` when it exists), then the environment. `data_dir`, when
    /// given (the `--data-dir` flag), wins over all of them.
    pub fn load(file: Option<&Path>, data_dir: Option<&Path>) -> Result<Self, EngineError> {
        Config::load_with_env(file, data_dir, |k| std::env::var(k).ok())
    }

    /// [`Config::load`] with the environment read through `get`, so a test sees only the variables it
    /// names, not those of the shell that runs it (`ORT_DYLIB_PATH`, `DOCVEC_MODEL_ID`).
    pub(crate) fn load_with_env(
        file: Option<&Path>,
        data_dir: Option<&Path>,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EngineError> {
        let bad = |msg: String| EngineError::Config(msg);
        let mut cfg = Config {
            data_dir: PathBuf::from("docvec-data"),
            model: ModelConfig::default(),
            models: BTreeMap::new(),
            chunk: docvec_chunk::ChunkOptions::default(),
            hnsw: HnswParams::default(),
            ingest: IngestConfig::default(),
            search: SearchConfig::default(),
            mirror: crate::MirrorConfig::default(),
            server: toml::Table::new(),
            file: None,
        };
        let default_file = Path::new("docvec.toml");
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| default_file.exists().then(|| default_file.to_path_buf()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
            let parsed: FileConfig =
                toml::from_str(&text).map_err(|e| bad(format!("{}: {e}", path.display())))?;
            if let Some(d) = parsed.data_dir {
                cfg.data_dir = d;
            }
            if let Some(table) = parsed.model {
                // Merge over the defaults key by key so a file may set only `device`.
                let mut base = toml::Table::try_from(ModelDefaults::from(&cfg.model))
                    .map_err(|e| bad(e.to_string()))?;
                base.extend(table);
                cfg.model = base
                    .try_into()
                    .map_err(|e| bad(format!("{} [model]: {e}", path.display())))?;
            }
            for (name, table) in parsed.models.unwrap_or_default() {
                // An alternate inherits the runtime settings of [model] (device, threads, batch size,
                // the ONNX Runtime library) and names its own files; its id defaults to its name.
                if name == DEFAULT_MODEL {
                    return Err(bad(format!(
                        "{}: [models.{DEFAULT_MODEL}] is reserved for [model]",
                        path.display()
                    )));
                }
                let mut base = toml::Table::try_from(ModelDefaults::from(&cfg.model))
                    .map_err(|e| bad(e.to_string()))?;
                base.extend(table);
                let mut m: ModelConfig = base
                    .try_into()
                    .map_err(|e| bad(format!("{} [models.{name}]: {e}", path.display())))?;
                if m.path.is_none() {
                    return Err(bad(format!(
                        "{} [models.{name}]: `path` (the model's .onnx file) is required",
                        path.display()
                    )));
                }
                m.id.get_or_insert_with(|| name.clone());
                m.ort_library = m.ort_library.or_else(|| cfg.model.ort_library.clone());
                m.tensorrt_cache = m
                    .tensorrt_cache
                    .or_else(|| cfg.model.tensorrt_cache.clone());
                m.models_dir = m.models_dir.or_else(|| cfg.model.models_dir.clone());
                cfg.models.insert(name, m);
            }
            if let Some(c) = parsed.chunk.and_then(|c| c.overlap_tokens) {
                cfg.chunk.overlap_tokens = c;
            }
            if let Some(h) = parsed.hnsw {
                cfg.hnsw.m = h.m.unwrap_or(cfg.hnsw.m);
                cfg.hnsw.ef_construction = h.ef_construction.unwrap_or(cfg.hnsw.ef_construction);
                cfg.hnsw.ef_search = h.ef_search.unwrap_or(cfg.hnsw.ef_search);
                cfg.hnsw.quantization = h.quantization.unwrap_or(cfg.hnsw.quantization);
            }
            if let Some(i) = parsed.ingest {
                cfg.ingest = i;
            }
            if let Some(s) = parsed.search {
                cfg.search = s;
            }
            if let Some(m) = parsed.mirror {
                cfg.mirror = m;
            }
            if let Some(s) = parsed.server {
                cfg.server = s;
            }
            cfg.file = Some(path);
        }
        cfg.apply_env(get)?;
        cfg.search.check()?;
        if let Some(d) = data_dir {
            cfg.data_dir = d.to_path_buf();
        }
        cfg.chunk.max_tokens = cfg.model.max_tokens;
        Ok(cfg)
    }

    /// Apply `DOCVEC_*` variables, read through `get` so tests need not touch the process environment.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), EngineError> {
        let m = &mut self.model;
        if let Some(v) = get("DOCVEC_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("DOCVEC_MODELS_DIR") {
            m.models_dir = Some(v.into());
        }
        if let Some(v) = get("DOCVEC_MODEL_ID") {
            m.id = Some(v);
        }
        if let Some(v) = get("DOCVEC_MODEL_PATH") {
            m.path = Some(v.into());
        }
        if let Some(v) = get("DOCVEC_TOKENIZER_PATH") {
            m.tokenizer = Some(v.into());
        }
        if let Some(v) = get("DOCVEC_ORT_LIBRARY").or_else(|| get("ORT_DYLIB_PATH")) {
            m.ort_library = Some(v.into());
        }
        if let Some(v) = get("DOCVEC_MODEL_DIMENSION") {
            m.dimension = parse("DOCVEC_MODEL_DIMENSION", v)?;
        }
        if let Some(v) = get("DOCVEC_MODEL_MAX_TOKENS") {
            m.max_tokens = parse("DOCVEC_MODEL_MAX_TOKENS", v)?;
        }
        if let Some(v) = get("DOCVEC_MODEL_POOLING") {
            m.pooling = parse("DOCVEC_MODEL_POOLING", v)?;
        }
        if let Some(v) = get("DOCVEC_DEVICE") {
            m.device = parse("DOCVEC_DEVICE", v)?;
        }
        if let Some(v) = get("DOCVEC_DEVICE_ID") {
            m.device_id = parse("DOCVEC_DEVICE_ID", v)?;
        }
        if let Some(v) = get("DOCVEC_TENSORRT_CACHE") {
            m.tensorrt_cache = Some(v.into());
        }
        if let Some(v) = get("DOCVEC_TENSORRT_FP16") {
            m.tensorrt_fp16 = parse("DOCVEC_TENSORRT_FP16", v)?;
        }
        if let Some(v) = get("DOCVEC_BATCH_TOKENS") {
            m.batch_tokens = parse("DOCVEC_BATCH_TOKENS", v)?;
        }
        if let Some(v) = get("DOCVEC_BATCH_ROWS") {
            m.batch_rows = parse("DOCVEC_BATCH_ROWS", v)?;
        }
        if let Some(v) = get("DOCVEC_EMBED_THREADS") {
            m.threads = parse("DOCVEC_EMBED_THREADS", v)?;
        }
        if let Some(v) = get("DOCVEC_EMBED_SESSIONS") {
            m.sessions = parse("DOCVEC_EMBED_SESSIONS", v)?;
        }
        if let Some(v) = get("DOCVEC_HNSW_EF_SEARCH") {
            self.hnsw.ef_search = parse("DOCVEC_HNSW_EF_SEARCH", v)?;
        }
        if let Some(v) = get("DOCVEC_HNSW_QUANTIZATION") {
            self.hnsw.quantization = parse("DOCVEC_HNSW_QUANTIZATION", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_FILE_BYTES") {
            self.ingest.max_file_bytes = parse("DOCVEC_MAX_FILE_BYTES", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_DECOMPRESSED_BYTES") {
            self.ingest.max_decompressed_bytes = parse("DOCVEC_MAX_DECOMPRESSED_BYTES", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_TABLE_ROWS") {
            self.ingest.max_table_rows = parse("DOCVEC_MAX_TABLE_ROWS", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_NESTING_DEPTH") {
            self.ingest.max_nesting_depth = parse("DOCVEC_MAX_NESTING_DEPTH", v)?;
        }
        if let Some(v) = get("DOCVEC_MAX_FACTS_PER_DOCUMENT") {
            self.ingest.max_facts_per_document = parse("DOCVEC_MAX_FACTS_PER_DOCUMENT", v)?;
        }
        if let Some(v) = get("DOCVEC_INGEST_PIPELINE") {
            self.ingest.pipeline = parse("DOCVEC_INGEST_PIPELINE", v)?;
        }
        if let Some(v) = get("DOCVEC_PDF_PASSWORD") {
            self.ingest.pdf_password = Some(v);
        }
        self.mirror.apply_env(&get)?;
        self.search.apply_env(&get)?;
        Ok(())
    }
}

/// An environment of one variable, for `Config::apply_env` in tests.
#[cfg(test)]
pub(crate) fn one_var(key: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
    move |k| (k == key).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use docvec_embed::Device;

    #[test]
    fn environment_overrides_defaults() {
        let mut cfg = Config::load(Some(Path::new("/dev/null")), None).unwrap();
        cfg.apply_env(|k| match k {
            "DOCVEC_DEVICE" => Some("cuda".into()),
            "DOCVEC_EMBED_THREADS" => Some("3".into()),
            "DOCVEC_DATA_DIR" => Some("/tmp/x".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.model.device, Device::Cuda);
        assert_eq!(cfg.model.threads, 3);
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        let err = cfg.apply_env(one_var("DOCVEC_DEVICE", "tpu")).unwrap_err();
        assert!(err.to_string().contains("DOCVEC_DEVICE=tpu"), "{err}");
        assert_eq!(cfg.hnsw.quantization, Quantization::Int8, "the default");
        cfg.apply_env(one_var("DOCVEC_HNSW_QUANTIZATION", "none"))
            .unwrap();
        assert_eq!(cfg.hnsw.quantization, Quantization::None);
        let err = cfg
            .apply_env(one_var("DOCVEC_HNSW_QUANTIZATION", "pq"))
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown quantization `pq`"),
            "{err}"
        );
    }

    #[test]
    fn a_partial_model_table_keeps_the_other_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/dv\"\n[model]\ndevice = \"tensorrt\"\n[hnsw]\nef_search = 128\nquantization = \"none\"\n",
        )
        .unwrap();
        let cfg = Config::load(Some(&file), None).unwrap();
        assert_eq!(cfg.model.device, Device::Tensorrt);
        assert_eq!(cfg.model.dimension, 384);
        assert_eq!(cfg.hnsw.ef_search, 128);
        assert_eq!(cfg.hnsw.quantization, Quantization::None);
        assert_eq!(cfg.hnsw.m, 16);
        assert_eq!(cfg.search.query_cache_size, 1024, "the default");
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/dv"));
        let cfg = Config::load(Some(&file), Some(Path::new("flag-dir"))).unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("flag-dir"), "--data-dir wins");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(&file, "[model]\ndevise = \"cuda\"\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("devise"), "{err}");
        std::fs::write(&file, "[sever]\nbind = \"0.0.0.0:80\"\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("sever"), "{err}");
        std::fs::write(&file, "server = 1\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("server"), "a table or nothing: {err}");
    }

    #[test]
    fn the_server_table_is_kept_as_written_for_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        let cfg = Config::load(Some(Path::new("/dev/null")), None).unwrap();
        assert!(cfg.server.is_empty());
        std::fs::write(
            &file,
            "[server]\nbind = \"0.0.0.0:7700\"\nread_only = true\n",
        )
        .unwrap();
        let cfg = Config::load(Some(&file), None).unwrap();
        assert_eq!(cfg.server["bind"].as_str(), Some("0.0.0.0:7700"));
        assert_eq!(cfg.server["read_only"].as_bool(), Some(true));
        assert_eq!(cfg.file.as_deref(), Some(file.as_path()));
    }

    #[test]
    fn other_models_inherit_the_runtime_settings_and_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(
            &file,
            "[model]\ndevice = \"cuda\"\nort_library = \"/opt/ort.so\"\n\
             [models.bge]\npath = \"/m/bge.onnx\"\ndimension = 1024\nmax_tokens = 512\n\
             [models.small]\npath = \"/m/small.onnx\"\nid = \"e5-small\"\n",
        )
        .unwrap();
        let cfg = Config::load(Some(&file), None).unwrap();
        let bge = cfg.named_embedder_config("bge").unwrap();
        assert_eq!(
            (bge.model_id.as_str(), bge.dimension, bge.max_tokens),
            ("bge", 1024, 512)
        );
        assert_eq!(bge.device, Device::Cuda);
        assert_eq!(bge.ort_library, PathBuf::from("/opt/ort.so"));
        assert_eq!(bge.tokenizer_path, PathBuf::from("/m/tokenizer.json"));
        // By model id too.
        let small = cfg.named_embedder_config("e5-small").unwrap();
        assert_eq!(
            (small.model_id.as_str(), small.dimension),
            ("e5-small", 384)
        );
        let err = cfg.named_embedder_config("nope").unwrap_err().to_string();
        assert!(err.contains("configured: default, bge, small"), "{err}");

        std::fs::write(&file, "[models.x]\ndimension = 8\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("[models.x]: `path`"), "{err}");
        std::fs::write(&file, "[models.default]\npath = \"/m/a.onnx\"\n").unwrap();
        let err = Config::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.contains("reserved"), "{err}");
    }

    #[test]
    fn sessions_share_the_threads_unless_configured() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(&file, "[model]\nmodels_dir = \"/m\"\nthreads = 8\n").unwrap();
        let e = Config::load(Some(&file), None)
            .unwrap()
            .embedder_config()
            .unwrap();
        assert_eq!((e.intra_threads, e.sessions), (8, AUTO_SESSIONS_MAX));
        std::fs::write(&file, "[model]\nmodels_dir = \"/m\"\nthreads = 2\n").unwrap();
        let mut cfg = Config::load(Some(&file), None).unwrap();
        assert_eq!(cfg.embedder_config().unwrap().sessions, 2, "one per thread");
        std::fs::write(&file, "[model]\nmodels_dir = \"/m\"\nsessions = 1\n").unwrap();
        cfg = Config::load(Some(&file), None).unwrap();
        assert_eq!(cfg.embedder_config().unwrap().sessions, 1);
        cfg.apply_env(one_var("DOCVEC_EMBED_SESSIONS", "3"))
            .unwrap();
        assert_eq!(cfg.embedder_config().unwrap().sessions, 3);
        let err = cfg
            .apply_env(one_var("DOCVEC_EMBED_SESSIONS", "two"))
            .unwrap_err();
        assert!(
            err.to_string().contains("DOCVEC_EMBED_SESSIONS=two"),
            "{err}"
        );
    }

    #[test]
    fn tokens_per_call_default_by_device_unless_configured() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        let with = |model: &str| {
            std::fs::write(&file, format!("[model]\nmodels_dir = \"/m\"\n{model}")).unwrap();
            Config::load_with_env(Some(&file), None, |_| None)
                .unwrap()
                .embedder_config()
                .unwrap()
                .batch_tokens
        };
        assert_eq!(with(""), 256, "one full-length chunk per call on the CPU");
        assert_eq!(with("device = \"cuda\"\n"), 1024, "larger batches on a GPU");
        assert_eq!(with("device = \"tensorrt\"\n"), 1024);
        assert_eq!(
            with("batch_tokens = 2048\n"),
            2048,
            "a configured budget stands"
        );
    }

    #[test]
    fn gpu_settings_come_from_the_file_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docvec.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/dv\"\n[model]\ndevice = \"tensorrt\"\nmodels_dir = \"/m\"\n\
             batch_rows = 512\nbatch_tokens = 131072\ndevice_id = 1\n\
             [models.bge]\npath = \"/m/bge.onnx\"\n",
        )
        .unwrap();
        let mut cfg = Config::load(Some(&file), None).unwrap();
        let e = cfg.embedder_config().unwrap();
        assert_eq!((e.batch_rows, e.batch_tokens), (512, 131072));
        assert_eq!(e.gpu.device_id, 1);
        assert!(e.gpu.tensorrt_fp16, "fp16 is TensorRT's default");
        assert_eq!(
            e.gpu.tensorrt_cache.as_deref(),
            Some(Path::new("/srv/dv/tensorrt-cache")),
            "in the data directory unless configured"
        );
        // An alternate model inherits the device and batch shape.
        let bge = cfg.named_embedder_config("bge").unwrap();
        assert_eq!((bge.gpu.device_id, bge.batch_rows), (1, 512));
        cfg.apply_env(|k| match k {
            "DOCVEC_DEVICE_ID" => Some("2".into()),
            "DOCVEC_TENSORRT_CACHE" => Some("/var/cache/trt".into()),
            "DOCVEC_TENSORRT_FP16" => Some("false".into()),
            "DOCVEC_BATCH_ROWS" => Some("64".into()),
            _ => None,
        })
        .unwrap();
        let e = cfg.embedder_config().unwrap();
        assert_eq!((e.gpu.device_id, e.batch_rows), (2, 64));
        assert!(!e.gpu.tensorrt_fp16);
        assert_eq!(
            e.gpu.tensorrt_cache.as_deref(),
            Some(Path::new("/var/cache/trt"))
        );
        let err = cfg
            .apply_env(one_var("DOCVEC_DEVICE_ID", "-1"))
            .unwrap_err();
        assert!(err.to_string().contains("DOCVEC_DEVICE_ID=-1"), "{err}");
    }
}
