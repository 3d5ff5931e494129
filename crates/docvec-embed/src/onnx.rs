//! [`OnnxEmbedder`]: a sentence-transformer ONNX model run by ONNX Runtime.

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use tokenizers::{Tokenizer, TruncationParams};

use docvec_types::TokenCounter;

use crate::config::{Device, EmbedderConfig, Pooling};
use crate::runtime::RuntimeInfo;
use crate::sessions::Sessions;
use crate::tally::Tally;
use crate::{EmbedError, Embedder, TokenCounts, batching, normalize, providers, runtime};

pub struct OnnxEmbedder {
    config: EmbedderConfig,
    /// Truncates to `max_tokens`: what the model is fed.
    encoder: Tokenizer,
    /// Never truncates: what the chunker counts with.
    counter: Tokenizer,
    /// The sessions that share the threads and run a call's batches side by side (`sessions.rs`).
    sessions: Sessions,
    input_names: Vec<String>,
    tally: Tally,
    runtime: RuntimeInfo,
}

impl OnnxEmbedder {
    /// Load the tokenizer and the ONNX model, registering the configured execution provider. A provider
    /// the installed ONNX Runtime cannot register is an error, never a silent fall-back to the CPU.
    pub fn load(config: EmbedderConfig) -> Result<Self, EmbedError> {
        let setup =
            |what: &str, e: &dyn std::fmt::Display| EmbedError::Setup(format!("{what}: {e}"));
        for (what, path) in [
            ("model", &config.model_path),
            ("tokenizer", &config.tokenizer_path),
        ] {
            if !path.exists() {
                return Err(EmbedError::Setup(format!(
                    "{what} file not found at {} (run `python3 tools/setup_models.py` for the default model, \
                     or set the model paths in docvec.toml / DOCVEC_MODEL_PATH and DOCVEC_TOKENIZER_PATH)",
                    path.display()
                )));
            }
        }
        let mut counter = Tokenizer::from_file(&config.tokenizer_path).map_err(|e| {
            setup(
                &format!("cannot read tokenizer {}", config.tokenizer_path.display()),
                &e,
            )
        })?;
        // Shipped tokenizer.json files often pad and truncate to a fixed length; docvec pads itself.
        counter.with_padding(None);
        counter
            .with_truncation(None)
            .map_err(|e| setup("cannot configure the tokenizer", &e))?;
        let mut encoder = counter.clone();
        encoder
            .with_truncation(Some(TruncationParams {
                max_length: config.max_tokens,
                ..Default::default()
            }))
            .map_err(|e| setup("cannot configure tokenizer truncation", &e))?;

        let loaded = runtime::environment(&config.ort_library)?;
        let env = &loaded.env;
        let inputs = match config.device {
            // TensorRT's shape profiles must name every input the model has, before the session exists.
            Device::Tensorrt => model_inputs(env, &config)?,
            _ => Vec::new(),
        };
        let config = prepare_tensorrt_cache(config);
        // Sessions side by side are for the CPU: a GPU runs a call's batches one after another.
        let pool = if config.device == Device::Cpu {
            config.sessions
        } else {
            1
        };
        let sessions = Sessions::build(config.intra_threads, pool, |threads| {
            session(env, &config, &inputs, threads, &loaded.version)
        })?;
        let input_names = sessions.input_names()?;
        for required in ["input_ids", "attention_mask"] {
            if !input_names.iter().any(|n| n == required) {
                return Err(EmbedError::Setup(format!(
                    "{} has no `{required}` input (inputs: {}); docvec needs a BERT-style sentence model",
                    config.model_path.display(),
                    input_names.join(", ")
                )));
            }
        }
        let runtime = RuntimeInfo {
            onnxruntime_version: loaded.version.clone(),
            library: config.ort_library.clone(),
            device: config.device,
            device_id: (config.device != Device::Cpu).then_some(config.gpu.device_id),
            execution_providers: providers::provider_names(config.device)
                .into_iter()
                .map(String::from)
                .collect(),
            available_providers: loaded.available.clone(),
            sessions: sessions.len(),
            threads_per_session: sessions.threads(),
            cpu_int8_dot_product: crate::int8_dot_product().map(String::from),
        };
        let embedder = Self {
            config,
            runtime,
            encoder,
            counter,
            sessions,
            input_names,
            tally: Tally::default(),
        };
        // One probe embedding proves the declared dimension before any vector is stored.
        let probe = embedder.embed(&["dimension probe"])?;
        if probe[0].len() != embedder.config.dimension {
            return Err(EmbedError::Setup(format!(
                "{} produces {}-dimensional vectors, but the configured dimension is {}",
                embedder.config.model_path.display(),
                probe[0].len(),
                embedder.config.dimension
            )));
        }
        Ok(embedder)
    }

    pub fn config(&self) -> &EmbedderConfig {
        &self.config
    }

    fn run_batch(
        &self,
        session: &mut Session,
        ids: &[&[u32]],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let infer = |e: &dyn std::fmt::Display| EmbedError::Inference(e.to_string());
        let rows = ids.len();
        let cols = ids.iter().map(|x| x.len()).max().unwrap_or(0).max(1);
        let mut input_ids = vec![0i64; rows * cols];
        let mut mask = vec![0i64; rows * cols];
        for (r, seq) in ids.iter().enumerate() {
            for (c, &id) in seq.iter().enumerate() {
                input_ids[r * cols + c] = id as i64;
                mask[r * cols + c] = 1;
            }
        }
        let shape = [rows as i64, cols as i64];
        let mut inputs = vec![
            (
                "input_ids",
                Tensor::from_array((shape, input_ids)).map_err(|e| infer(&e))?,
            ),
            (
                "attention_mask",
                Tensor::from_array((shape, mask.clone())).map_err(|e| infer(&e))?,
            ),
        ];
        if self.input_names.iter().any(|n| n == "token_type_ids") {
            inputs.push((
                "token_type_ids",
                Tensor::from_array((shape, vec![0i64; rows * cols])).map_err(|e| infer(&e))?,
            ));
        }
        let outputs = session.run(inputs).map_err(|e| infer(&e))?;
        let (out_shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| infer(&e))?;
        let dims: Vec<usize> = out_shape.iter().map(|&d| d as usize).collect();
        let mut vectors = Vec::with_capacity(rows);
        match dims.as_slice() {
            // Token vectors: pool them.
            [b, s, d] if *b == rows && *s == cols => {
                for r in 0..rows {
                    let mut v = vec![0f32; *d];
                    match self.config.pooling {
                        Pooling::Cls => v.copy_from_slice(&data[r * s * d..r * s * d + d]),
                        Pooling::Mean => {
                            let n = ids[r].len().max(1);
                            for t in 0..ids[r].len() {
                                let row = &data[(r * s + t) * d..(r * s + t + 1) * d];
                                v.iter_mut().zip(row).for_each(|(acc, x)| *acc += x);
                            }
                            v.iter_mut().for_each(|x| *x /= n as f32);
                        }
                    }
                    vectors.push(v);
                }
            }
            // Already a sentence vector (models exported with pooling inside).
            [b, d] if *b == rows => {
                for r in 0..rows {
                    vectors.push(data[r * d..(r + 1) * d].to_vec());
                }
            }
            other => {
                return Err(EmbedError::Inference(format!(
                    "unexpected model output shape {other:?}"
                )));
            }
        }
        if self.config.normalize {
            vectors.iter_mut().for_each(|v| normalize(v));
        }
        Ok(vectors)
    }
}

/// One session of `threads` intra-op threads with the configured execution provider. A provider the
/// installed ONNX Runtime cannot register is an error, never a silent fall-back to the CPU.
fn session(
    env: &Environment,
    config: &EmbedderConfig,
    inputs: &[String],
    threads: usize,
    version: &str,
) -> Result<Session, EmbedError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| EmbedError::Setup(format!("{what}: {e}"));
    let mut builder = Session::builder(env)
        .map_err(|e| setup("cannot create an ONNX Runtime session", &e))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| setup("cannot set the graph optimisation level", &e))?
        .with_intra_threads(threads)
        .map_err(|e| setup("cannot set ONNX Runtime threads", &e))?
        .with_inter_threads(1)
        .map_err(|e| setup("cannot set ONNX Runtime threads", &e))?;
    if config.device == Device::Cpu {
        // Texts vary in length, so every batch has a new shape and the memory pattern ONNX Runtime
        // plans per shape is rarely reused, yet each plan holds its own arena: off, a session's peak
        // RSS drops by 20-110 MB (more with a pool of sessions) at the same speed (BENCHMARKS.md).
        builder = builder
            .with_memory_pattern(false)
            .map_err(|e| setup("cannot turn off ONNX Runtime's memory pattern", &e))?;
    }
    let providers = providers::dispatch(config, inputs);
    if !providers.is_empty() {
        builder = builder.with_execution_providers(providers).map_err(|e| {
            let e = e.to_string();
            EmbedError::Setup(format!(
                "the {} execution provider could not be registered: {}. It needs the GPU build of ONNX \
                 Runtime (the `onnxruntime-gpu` wheel's libonnxruntime.so, set as DOCVEC_ORT_LIBRARY) with \
                 its CUDA/cuDNN{} libraries on the library path; use device = \"cpu\" otherwise",
                config.device,
                e.trim_end_matches('.'),
                if config.device == Device::Tensorrt { "/TensorRT" } else { "" }
            ))
        })?;
    }
    announce_tensorrt_build(config);
    builder.commit_from_file(&config.model_path).map_err(|e| {
        let mut what = format!("cannot load the ONNX model {}", config.model_path.display());
        // The int8 default's 8-bit MatMulNBits on a runtime that takes 4 bits only (1.20).
        if e.to_string().contains("MatMulNBits") {
            what += &format!(
                " (an int8 model that ONNX Runtime {version} cannot run: use the runtime tools/setup_models.py \
                 fetches, or the fp32 model, [model] id = \"all-MiniLM-L6-v2\", for a new data directory)"
            );
        }
        setup(&what, &e)
    })
}

/// The model's input names, read by a session without providers or optimisation (TensorRT's options
/// need them before its own session is built).
fn model_inputs(env: &Environment, config: &EmbedderConfig) -> Result<Vec<String>, EmbedError> {
    let fail = |e: &dyn std::fmt::Display| {
        EmbedError::Setup(format!(
            "cannot load the ONNX model {}: {e}",
            config.model_path.display()
        ))
    };
    let session = Session::builder(env)
        .map_err(|e| fail(&e))?
        .with_optimization_level(GraphOptimizationLevel::Disable)
        .map_err(|e| fail(&e))?
        .commit_from_file(&config.model_path)
        .map_err(|e| fail(&e))?;
    Ok(session
        .inputs()
        .iter()
        .map(|i| i.name().to_string())
        .collect())
}

/// Make TensorRT's cache folder. A folder that cannot be made (read-only media) leaves the cache off,
/// with a warning: the engine is then built at every start, but the model still runs.
fn prepare_tensorrt_cache(mut config: EmbedderConfig) -> EmbedderConfig {
    if config.device != Device::Tensorrt {
        return config;
    }
    if let Some(dir) = &config.gpu.tensorrt_cache
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        tracing::warn!(
            "cannot create the TensorRT cache folder {}: {e}; the engine is built at every start",
            dir.display()
        );
        config.gpu.tensorrt_cache = None;
    }
    config
}

/// Say so when this start builds TensorRT's engine (minutes on a Jetson): called once the provider
/// is registered, just before the session is created, which is when TensorRT builds.
fn announce_tensorrt_build(config: &EmbedderConfig) {
    if config.device != Device::Tensorrt {
        return;
    }
    let cache = config.gpu.tensorrt_cache.as_deref();
    if cache.is_some_and(|dir| providers::engine_cached(dir, &providers::engine_prefix(config))) {
        return;
    }
    let profile = providers::ShapeProfile::for_batches(config);
    tracing::warn!(
        "TensorRT is building its engine for {} ({}, batches up to {}x{} tokens); this takes \
         minutes on a Jetson{}",
        config.model_id,
        if config.gpu.tensorrt_fp16 {
            "fp16"
        } else {
            "fp32"
        },
        profile.max[0],
        profile.max[1],
        match cache {
            Some(dir) => format!(" and is cached in {} for later starts", dir.display()),
            None => String::new(),
        }
    );
}

impl TokenCounter for OnnxEmbedder {
    fn count_tokens(&self, text: &str) -> usize {
        self.counter
            .encode(text, false)
            .map(|e| e.len())
            .unwrap_or_else(|_| text.split_whitespace().count())
    }
}

impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.config.model_id
    }

    fn dimension(&self) -> usize {
        self.config.dimension
    }

    fn max_tokens(&self) -> usize {
        self.config.max_tokens
    }

    fn token_counts(&self) -> TokenCounts {
        self.tally.counts()
    }

    fn runtime(&self) -> Option<RuntimeInfo> {
        Some(self.runtime.clone())
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = texts
            .iter()
            .map(|t| self.encoder.encode(*t, true))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EmbedError::Inference(format!("tokenizer: {e}")))?;
        // Longest first, so each batch holds similar lengths, cut where padding would cost more
        // than another call (`batching::plan`).
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].len()));
        let lengths: Vec<usize> = order.iter().map(|&i| encodings[i].len()).collect();
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let plan = batching::spread(
            batching::plan(&lengths, self.config.batch_tokens, self.config.batch_rows),
            self.sessions.len(),
        );
        let ids = |k: usize| -> Vec<&[u32]> {
            order[plan[k].clone()]
                .iter()
                .map(|&i| encodings[i].get_ids())
                .collect()
        };
        let results = self.sessions.for_each_batch(plan.len(), |session, k| {
            let batch = ids(k);
            let vectors = self.run_batch(session, &batch)?;
            self.tally.add_call(batch.iter().map(|ids| ids.len()));
            Ok(vectors)
        })?;
        for (range, vectors) in plan.into_iter().zip(results) {
            for (&i, v) in order[range].iter().zip(vectors) {
                out[i] = Some(v);
            }
        }
        Ok(out
            .into_iter()
            .map(|v| v.expect("every input was embedded"))
            .collect())
    }
}
