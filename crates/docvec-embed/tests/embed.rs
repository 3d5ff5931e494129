//! The real model against reference vectors from the Python onnxruntime pipeline.
//! Needs `python3 tools/setup_models.py` (the README's test command runs it first).

use std::path::PathBuf;
use std::sync::OnceLock;

use docvec_embed::{Device, Embedder, EmbedderConfig, OnnxEmbedder, Pooling, cosine};
use docvec_types::TokenCounter;

fn config(model_file: &str, device: Device) -> EmbedderConfig {
    let models = docvec_testkit::models_dir();
    EmbedderConfig {
        model_id: "all-MiniLM-L6-v2".into(),
        model_path: models.join("all-MiniLM-L6-v2").join(model_file),
        tokenizer_path: models.join("all-MiniLM-L6-v2/tokenizer.json"),
        ort_library: models.join("onnxruntime/libonnxruntime.so"),
        dimension: 384,
        max_tokens: 256,
        pooling: Pooling::Mean,
        normalize: true,
        device,
        intra_threads: 2,
        sessions: 0,
        batch_tokens: 4096,
        batch_rows: docvec_embed::DEFAULT_BATCH_ROWS,
        gpu: Default::default(),
    }
}

fn embedder() -> &'static OnnxEmbedder {
    static E: OnceLock<OnnxEmbedder> = OnceLock::new();
    E.get_or_init(|| {
        OnnxEmbedder::load(config("model.onnx", Device::Cpu))
            .unwrap_or_else(|e| panic!("{e}\n(run `python3 tools/setup_models.py` first)"))
    })
}

/// One of the files tools/setup_models.py puts in models/all-MiniLM-L6-v2/, on the CPU; a missing one
/// fails naming the command that makes it.
fn load_on_cpu(model_file: &str) -> OnnxEmbedder {
    let cfg = config(model_file, Device::Cpu);
    if !cfg.model_path.exists() {
        panic!(
            "{} missing: run `python3 tools/setup_models.py`",
            cfg.model_path.display()
        );
    }
    OnnxEmbedder::load(cfg).unwrap()
}

struct Reference {
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

fn references() -> Vec<Reference> {
    let raw = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference_vectors.json"),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&raw).unwrap();
    json["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Reference {
            text: s["text"].as_str().unwrap().to_string(),
            tokens: s["tokens"].as_u64().unwrap() as usize,
            vector: s["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

#[test]
fn vectors_match_the_python_reference_one_by_one_and_batched() {
    let refs = references();
    assert_eq!(refs.len(), 20);
    let e = embedder();
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let batched = e.embed(&texts).unwrap();
    for (r, v) in refs.iter().zip(&batched) {
        assert_eq!(v.len(), 384);
        let c = cosine(&r.vector, v);
        assert!(c >= 0.9999, "batched cosine {c} for {:?}", r.text);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not unit length: {norm}");
    }
    for r in refs.iter().take(5) {
        let alone = e.embed(&[r.text.as_str()]).unwrap();
        assert!(
            cosine(&r.vector, &alone[0]) >= 0.9999,
            "alone: {:?}",
            r.text
        );
    }
}

#[test]
fn token_counts_match_the_reference_tokenizer_without_truncation() {
    let e = embedder();
    for r in references() {
        // The reference counts include [CLS] and [SEP] and are truncated at 256.
        let counted = (e.count_tokens(&r.text) + 2).min(256);
        assert_eq!(counted, r.tokens, "{:?}", r.text);
    }
    let long = "word ".repeat(1000);
    assert_eq!(e.count_tokens(&long), 1000, "counting must not truncate");
}

#[test]
fn a_paraphrase_ranks_above_unrelated_text() {
    let e = embedder();
    let v = e
        .embed(&[
            "How do I reset my password?",
            "Steps to change a forgotten login password",
            "The recipe needs two cups of flour and an egg.",
            "Stock markets fell sharply on Monday.",
        ])
        .unwrap();
    let para = cosine(&v[0], &v[1]);
    assert!(
        para > cosine(&v[0], &v[2]) + 0.2,
        "paraphrase {para} vs unrelated"
    );
    assert!(
        para > cosine(&v[0], &v[3]) + 0.2,
        "paraphrase {para} vs unrelated"
    );
}

#[test]
fn the_int8_weight_fallback_stays_close_to_fp32() {
    let q = load_on_cpu("model-int8w.onnx");
    for r in references() {
        let v = q.embed(&[r.text.as_str()]).unwrap();
        assert!(
            cosine(&r.vector, &v[0]) >= 0.999,
            "{:?}: {}",
            r.text,
            cosine(&r.vector, &v[0])
        );
    }
}

/// The default model (`tools/quantize_model.py --blockwise`): close to fp32, and each text's vector
/// its own whatever is batched beside it. The dynamic int8 model scales activations over the whole
/// batch (cosine down to 0.983 between a query alone and batched, BENCHMARKS.md); this one scales
/// each row apart.
#[test]
fn the_int8_default_stays_close_to_fp32_and_does_not_depend_on_its_batch() {
    assert_close_to_fp32_alone_and_batched("model-int8-block.onnx", 0.997, 0.9995);
}

/// Every reference sentence embedded alone by the build in `model_file` is within cosine `to_fp32` of
/// its fp32 reference vector and within `to_batch` of its own vector from one call of all of them.
fn assert_close_to_fp32_alone_and_batched(model_file: &str, to_fp32: f32, to_batch: f32) {
    let q = load_on_cpu(model_file);
    let refs = references();
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let batched = q.embed(&texts).unwrap();
    for (r, together) in refs.iter().zip(&batched) {
        let alone = &q.embed(&[r.text.as_str()]).unwrap()[0];
        let (c_fp32, c_batch) = (cosine(&r.vector, alone), cosine(alone, together));
        assert!(
            c_fp32 >= to_fp32,
            "{model_file}, {:?}: cosine {c_fp32} to fp32",
            r.text
        );
        assert!(
            c_batch >= to_batch,
            "{model_file}, {:?}: cosine {c_batch} alone vs batched",
            r.text
        );
    }
}

/// The per-row int8 build's file on this CPU, as docvec's engine picks it (`Builtin::file_on`): its
/// unsigned twin on x86-64 without int8 dot products, where ONNX Runtime's uint8 x int8 kernel
/// (VPMADDUBSW) adds pairs of products in 16 bits and saturates on this build's activations.
fn per_row_file_on_this_cpu() -> &'static str {
    if cfg!(target_arch = "x86_64")
        && docvec_embed::int8_support() == docvec_embed::Int8Support::None
    {
        "model-int8-rows-u8.onnx"
    } else {
        "model-int8-rows.onnx"
    }
}

/// The per-row int8 build (`tools/quantize_model.py --rows`, the default with AMX): close to fp32,
/// and each token row quantized with its own scale, so a text's vector is the same alone or batched
/// beside longer texts (their padding included). Checked on every CPU, not only AMX ones: a data
/// directory keeps its build wherever it is opened.
#[test]
fn the_per_row_int8_build_stays_close_to_fp32_and_does_not_depend_on_its_batch() {
    assert_close_to_fp32_alone_and_batched(per_row_file_on_this_cpu(), 0.995, 0.99999);
}

/// The unsigned twin (`--rows-unsigned`) stores the per-row build's int8 weights as uint8 around 128:
/// the same integer products on a kernel that widens before it adds, so the same vectors, bit for
/// bit, wherever the per-row build's own kernel is exact too (int8 dot products, AMX, Arm).
#[test]
fn the_unsigned_twin_embeds_exactly_as_the_per_row_build() {
    if per_row_file_on_this_cpu() != "model-int8-rows.onnx" {
        eprintln!(
            "SKIPPED: on this x86-64 CPU without int8 dot products the per-row file's own kernel saturates, so \
             the two differ; the twin is checked against fp32 instead"
        );
        return;
    }
    let (rows, twin) = (
        load_on_cpu("model-int8-rows.onnx"),
        load_on_cpu("model-int8-rows-u8.onnx"),
    );
    let refs = references();
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(rows.embed(&texts).unwrap(), twin.embed(&texts).unwrap());
    for t in &texts {
        assert_eq!(
            rows.embed(&[t]).unwrap(),
            twin.embed(&[t]).unwrap(),
            "{t:?}"
        );
    }
}

/// Sessions side by side (`sessions = 2`, batches cut small so a call has many): each text gets the
/// vector one session gives it, in input order, and calls made at once from several threads each get
/// their own texts' vectors.
#[test]
fn sessions_side_by_side_give_each_text_its_own_vector() {
    let mut cfg = config("model-int8-block.onnx", Device::Cpu);
    cfg.batch_tokens = 256;
    let one = OnnxEmbedder::load(cfg.clone()).unwrap();
    cfg.sessions = 2;
    let pool = OnnxEmbedder::load(cfg).unwrap();
    let refs = references();
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let expected = one.embed(&texts).unwrap();
    let calls_before = pool.token_counts().calls;
    let got = pool.embed(&texts).unwrap();
    assert!(
        pool.token_counts().calls - calls_before >= 4,
        "the call should be cut into several batches"
    );
    for ((r, a), b) in refs.iter().zip(&expected).zip(&got) {
        assert!(cosine(a, b) >= 0.9999, "{:?}: {}", r.text, cosine(a, b));
    }
    // A call of one batch of several texts is halved over the two sessions, and still in order. Its
    // batches differ from the reference call's, so the int8 model's batch tolerance applies.
    let pair = pool.embed(&texts[..2]).unwrap();
    for (i, v) in pair.iter().enumerate() {
        assert!(cosine(v, &expected[i]) >= 0.9995, "text {i}");
    }
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..3)
            .map(|t| {
                let (pool, texts) = (&pool, &texts);
                scope.spawn(move || pool.embed(&texts[t * 5..t * 5 + 8]).unwrap())
            })
            .collect();
        for (t, call) in calls.into_iter().enumerate() {
            for (i, v) in call.join().unwrap().iter().enumerate() {
                let c = cosine(v, &expected[t * 5 + i]);
                assert!(c >= 0.9995, "call {t}, text {i}: {c}");
            }
        }
    });
}

#[test]
fn an_unavailable_gpu_provider_is_a_plain_error() {
    if std::env::var_os("DOCVEC_TEST_GPU").is_some() {
        return; // On a GPU machine the provider may register; the GPU test below covers it.
    }
    let err = OnnxEmbedder::load(config("model.onnx", Device::Cuda))
        .err()
        .expect("the CPU build has no CUDA provider");
    let msg = err.to_string();
    assert!(
        msg.contains("cuda execution provider could not be registered"),
        "{msg}"
    );
}

#[test]
fn an_unavailable_tensorrt_provider_is_a_plain_error() {
    if std::env::var_os("DOCVEC_TEST_GPU").is_some() {
        return;
    }
    let cache = std::env::temp_dir().join(format!("docvec-trt-cache-{}", std::process::id()));
    let mut cfg = config("model.onnx", Device::Tensorrt);
    cfg.gpu.tensorrt_cache = Some(cache.join("nested"));
    let msg = OnnxEmbedder::load(cfg)
        .err()
        .expect("no TensorRT here")
        .to_string();
    assert!(
        msg.contains("tensorrt execution provider could not be registered")
            && msg.contains("CUDA/cuDNN/TensorRT"),
        "{msg}"
    );
    assert!(
        cache.join("nested").is_dir(),
        "the engine cache folder is made first"
    );
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
fn the_runtime_reports_the_library_version_and_the_providers_in_use() {
    let info = embedder()
        .runtime()
        .expect("a loaded ONNX model reports its runtime");
    // The setup script installs libonnxruntime.so -> libonnxruntime.so.VERSION.
    let file = std::fs::canonicalize(&info.library).unwrap();
    let suffix = file.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        suffix,
        format!("libonnxruntime.so.{}", info.onnxruntime_version),
        "{info:?}"
    );
    assert_eq!(info.device, Device::Cpu);
    assert_eq!(info.device_id, None);
    assert_eq!(info.execution_providers, ["CPUExecutionProvider"]);
    assert!(
        info.available_providers
            .iter()
            .any(|p| p == "CPUExecutionProvider")
            && !info
                .available_providers
                .iter()
                .any(|p| p == "CUDAExecutionProvider"),
        "the CPU wheel's library: {info:?}"
    );
}

#[test]
fn missing_model_files_are_named() {
    let mut cfg = config("model.onnx", Device::Cpu);
    cfg.model_path = docvec_testkit::models_dir().join("nope.onnx");
    let msg = OnnxEmbedder::load(cfg).err().unwrap().to_string();
    assert!(
        msg.contains("nope.onnx") && msg.contains("not found"),
        "{msg}"
    );
}

#[test]
fn a_wrong_dimension_is_refused_at_load() {
    let mut cfg = config("model.onnx", Device::Cpu);
    cfg.dimension = 1024;
    let msg = OnnxEmbedder::load(cfg).err().unwrap().to_string();
    assert!(
        msg.contains("384-dimensional") && msg.contains("1024"),
        "{msg}"
    );
}

/// Opt-in on a GPU machine: `DOCVEC_TEST_GPU=cuda DOCVEC_ORT_LIBRARY=/path/to/gpu/libonnxruntime.so
/// cargo test -p docvec-embed -- --ignored gpu`.
#[test]
#[ignore = "needs a GPU and the GPU build of ONNX Runtime (DOCVEC_TEST_GPU=cuda|tensorrt)"]
fn gpu_vectors_match_the_reference() {
    let device = std::env::var("DOCVEC_TEST_GPU").unwrap_or_else(|_| "cuda".into());
    let mut cfg = config("model.onnx", device.parse().unwrap());
    if let Some(lib) = std::env::var_os("DOCVEC_ORT_LIBRARY") {
        cfg.ort_library = lib.into();
    }
    let gpu = OnnxEmbedder::load(cfg).unwrap();
    let info = gpu.runtime().unwrap();
    assert_eq!(
        info.execution_providers.last().unwrap(),
        "CPUExecutionProvider"
    );
    assert!(info.execution_providers.len() >= 2, "{info:?}");
    for r in references() {
        let v = gpu.embed(&[r.text.as_str()]).unwrap();
        assert!(cosine(&r.vector, &v[0]) >= 0.999, "{:?}", r.text);
    }
}
