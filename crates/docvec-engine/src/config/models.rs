//! Which model files a `[model]` or `[models.NAME]` table stands for: the paths, the id and the
//! runtime settings an embedder is built from, with `models/` found beside the checkout.

use std::path::{Path, PathBuf};

use docvec_embed::{Device, EmbedderConfig, GpuOptions, Pooling};

use super::{Config, ModelConfig};
use crate::{DataDir, EngineError};

impl Config {
    /// Resolve the `[model]` settings into files on disk.
    pub fn embedder_config(&self) -> Result<EmbedderConfig, EngineError> {
        self.resolve_model(&self.model)
    }

    /// The settings of a configured model by name (`default` for `[model]`, else a `[models.NAME]`
    /// table) or by model id.
    pub fn named_embedder_config(&self, name: &str) -> Result<EmbedderConfig, EngineError> {
        if name == DEFAULT_MODEL {
            return self.embedder_config();
        }
        if let Some(m) = self.models.get(name) {
            return self.resolve_model(m);
        }
        for m in std::iter::once(&self.model).chain(self.models.values()) {
            if let Ok(resolved) = self.resolve_model(m)
                && resolved.model_id == name
            {
                return Ok(resolved);
            }
        }
        let mut known = vec![DEFAULT_MODEL.to_string()];
        known.extend(self.models.keys().cloned());
        Err(EngineError::InvalidRequest(format!(
            "no model `{name}` is configured (configured: {}); add a [models.{name}] table to docvec.toml",
            known.join(", ")
        )))
    }

    fn resolve_model(&self, m: &ModelConfig) -> Result<EmbedderConfig, EngineError> {
        let models_dir = m.models_dir.clone().or_else(find_models_dir);
        let in_models = |rel: &str| models_dir.as_ref().map(|d| d.join(rel));
        let missing = || {
            EngineError::Config(
                "cannot find the model files: run `python3 tools/setup_models.py` in the docvec checkout, or set \
                 DOCVEC_MODELS_DIR (or model.path / model.tokenizer / model.ort_library in docvec.toml)"
                    .into(),
            )
        };
        let (model_path, default_id) = match &m.path {
            Some(p) => (
                p.clone(),
                p.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            None => {
                let fp32 = in_models("all-MiniLM-L6-v2/model.onnx").ok_or_else(missing)?;
                if fp32.exists() {
                    (fp32, "all-MiniLM-L6-v2".to_string())
                } else {
                    let int8w =
                        in_models("all-MiniLM-L6-v2/model-int8w.onnx").ok_or_else(missing)?;
                    if int8w.exists() {
                        tracing::warn!(
                            "exact fp32 model missing; using the int8-weight fallback {}",
                            int8w.display()
                        );
                    }
                    (int8w, "all-MiniLM-L6-v2-int8w".to_string())
                }
            }
        };
        let tokenizer_path = match &m.tokenizer {
            Some(p) => p.clone(),
            None if m.path.is_some() => model_path.with_file_name("tokenizer.json"),
            None => in_models("all-MiniLM-L6-v2/tokenizer.json").ok_or_else(missing)?,
        };
        let ort_library = match &m.ort_library {
            Some(p) => p.clone(),
            None => in_models("onnxruntime/libonnxruntime.so").ok_or_else(missing)?,
        };
        let threads = if m.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            m.threads
        };
        Ok(EmbedderConfig {
            model_id: m.id.clone().unwrap_or(default_id),
            model_path,
            tokenizer_path,
            ort_library,
            dimension: m.dimension,
            max_tokens: m.max_tokens,
            pooling: m.pooling,
            normalize: m.normalize,
            device: m.device,
            intra_threads: threads,
            batch_tokens: m.batch_tokens,
            batch_rows: m.batch_rows,
            gpu: GpuOptions {
                device_id: m.device_id,
                tensorrt_cache: Some(
                    m.tensorrt_cache
                        .clone()
                        .unwrap_or_else(|| DataDir::new(&self.data_dir).tensorrt_cache()),
                ),
                tensorrt_fp16: m.tensorrt_fp16,
            },
        })
    }
}

/// The name that stands for `[model]` wherever a configured model is chosen.
pub const DEFAULT_MODEL: &str = "default";

/// `ModelConfig` as a TOML table, for merging a partial `[model]` table over the defaults.
#[derive(serde::Serialize)]
pub(super) struct ModelDefaults {
    dimension: usize,
    max_tokens: usize,
    pooling: Pooling,
    normalize: bool,
    device: Device,
    threads: usize,
    batch_tokens: usize,
    batch_rows: usize,
    device_id: u32,
    tensorrt_fp16: bool,
}

impl From<&ModelConfig> for ModelDefaults {
    fn from(m: &ModelConfig) -> Self {
        Self {
            dimension: m.dimension,
            max_tokens: m.max_tokens,
            pooling: m.pooling,
            normalize: m.normalize,
            device: m.device,
            threads: m.threads,
            batch_tokens: m.batch_tokens,
            batch_rows: m.batch_rows,
            device_id: m.device_id,
            tensorrt_fp16: m.tensorrt_fp16,
        }
    }
}

/// `models/` next to the working directory or any of its parents, or above the executable
/// (`target/release/docvec` in a checkout).
fn find_models_dir() -> Option<PathBuf> {
    let has_models = |d: &Path| {
        d.join("models/SHA256SUMS")
            .exists()
            .then(|| d.join("models"))
    };
    let from_cwd = std::env::current_dir()
        .ok()
        .and_then(|d| d.ancestors().find_map(has_models));
    from_cwd.or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.ancestors().skip(1).find_map(has_models))
    })
}
