//! Switching a data directory to another configured model with a rebuild: the int8-weight build of
//! all-MiniLM-L6-v2 that tools/setup_models.py fetches beside the exact one is a real second model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use docvec_engine::{Access, Builtin, Config, Engine, EngineError, RebuildEvent, RebuildOptions};

use docvec_testkit::samples_dir;

use super::{ingest, top_path};

/// The id of the model a fresh data directory gets on this CPU with the bundled runtime: the int8
/// build where the CPU has int8 dot products, else fp32.
pub(crate) fn default_id() -> &'static str {
    Builtin::default_on_this_cpu().id()
}

/// A docvec.toml naming the int8-weight model as `[models.int8]`.
pub(crate) fn two_model_file(dir: &Path) -> PathBuf {
    let int8 = docvec_testkit::models_dir().join("all-MiniLM-L6-v2/model-int8w.onnx");
    assert!(
        int8.exists(),
        "{} is missing: run `python3 tools/setup_models.py`",
        int8.display()
    );
    let file = dir.join("docvec.toml");
    std::fs::write(
        &file,
        format!("[models.int8]\npath = {:?}\n", int8.display().to_string()),
    )
    .unwrap();
    file
}

/// Writes `extra.md`, a document on the tides, in `dir` and ingests it.
async fn ingest_tides(engine: &Engine, dir: &Path) {
    let extra = dir.join("extra.md");
    std::fs::write(
        &extra,
        "# Tides\n\nThe moon's pull raises the tides twice a day.\n",
    )
    .unwrap();
    ingest(engine, &[extra]).await;
}

fn switch_to(name: &str) -> RebuildOptions {
    RebuildOptions {
        model: Some(name.to_string()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_switches_to_another_configured_model_while_searches_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = Config::load(Some(&two_model_file(dir.path())), Some(&data)).unwrap();
    let engine = Arc::new(Engine::open(cfg.clone(), Access::ReadWrite).await.unwrap());
    ingest(&engine, &[samples_dir()]).await;
    let chunks = engine.stats().await.unwrap().chunks;
    assert_eq!(engine.model_id(), default_id());

    // A client searches nonstop while every chunk is embedded again and the model is switched.
    let stop = Arc::new(AtomicBool::new(false));
    let searcher = {
        let (engine, stop) = (engine.clone(), stop.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            while !stop.load(Ordering::Relaxed) || answered == 0 {
                let top = top_path(&engine, "baking a loaf with wild yeast").await;
                assert!(
                    top.ends_with("sourdough-bread.txt"),
                    "answer {answered}: {top:?}"
                );
                answered += 1;
            }
            answered
        })
    };
    let phases = Mutex::new(Vec::new());
    let report = engine
        .rebuild_index(
            &switch_to("int8"),
            &|e: RebuildEvent| {
                let mut p = phases.lock().unwrap();
                if p.last() != Some(&e.phase) {
                    p.push(e.phase);
                }
            },
            &AtomicBool::new(false),
        )
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(searcher.await.unwrap() > 0);
    assert_eq!(*phases.lock().unwrap(), ["embed", "index", "text"]);
    assert_eq!(report.model, "int8");
    assert_eq!(report.reembedded, chunks as u64);
    assert_eq!(report.vectors, chunks as usize);
    assert_eq!(engine.model_id(), "int8");
    assert_eq!(
        engine.stats().await.unwrap().models,
        [("int8".to_string(), chunks)]
    );
    let query = engine.embed_query("wild yeast").await.unwrap();
    assert_eq!(query.model_id, "int8");
    assert!(
        top_path(&engine, "which moon is bigger than a planet")
            .await
            .ends_with("solar-system.pdf")
    );
    // New documents are embedded by the model switched to.
    ingest_tides(&engine, dir.path()).await;
    let grown = engine.stats().await.unwrap();
    assert!(grown.chunks > chunks);
    assert_eq!(grown.models, [("int8".to_string(), grown.chunks)]);
    Arc::into_inner(engine).unwrap().close().await.unwrap();

    // The next start finds the switched model among the configured ones.
    let engine = Engine::open(cfg.clone(), Access::ReadWrite).await.unwrap();
    assert_eq!(engine.model_id(), "int8");
    assert_eq!(engine.index_len(), grown.chunks as usize);
    assert!(
        top_path(&engine, "what raises the sea twice daily")
            .await
            .ends_with("extra.md")
    );
    engine.close().await.unwrap();

    // A configuration without that model is refused with the way out.
    let plain = Config::load(Some(Path::new("/dev/null")), Some(&data)).unwrap();
    let err = Engine::open(plain, Access::ReadOnly).await.err().unwrap();
    assert!(matches!(err, EngineError::ModelMismatch { .. }), "{err}");
    assert!(err.to_string().contains("docvec rebuild --model"), "{err}");

    // And back to [model].
    let engine = Engine::open(cfg, Access::ReadWrite).await.unwrap();
    let report = engine
        .rebuild_index(&switch_to("default"), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert_eq!(report.model, default_id());
    assert_eq!(engine.model_id(), default_id());
    assert!(
        top_path(&engine, "baking a loaf with wild yeast")
            .await
            .ends_with("sourdough-bread.txt")
    );
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_or_cancelled_switch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = Config::load(Some(&two_model_file(dir.path())), Some(&data)).unwrap();
    let engine = Engine::open(cfg, Access::ReadWrite).await.unwrap();
    ingest(&engine, &[samples_dir()]).await;
    let stats = engine.stats().await.unwrap();

    let err = engine
        .rebuild_index(&switch_to("nope"), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no model `nope` is configured"),
        "{err}"
    );
    assert!(err.to_string().contains("default, int8"), "{err}");
    assert!(matches!(err, EngineError::InvalidRequest(_)), "{err}");

    // Stop once the first page is staged: the old model's vectors, index and model stay.
    let cancel = AtomicBool::new(false);
    let staged = AtomicUsize::new(0);
    let err = engine
        .rebuild_index(
            &switch_to("int8"),
            &|e: RebuildEvent| {
                if e.phase == "embed" && e.done > 0 {
                    staged.store(e.done as usize, Ordering::Relaxed);
                    cancel.store(true, Ordering::Relaxed);
                }
            },
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err}");
    assert!(staged.load(Ordering::Relaxed) > 0);
    assert_eq!(engine.model_id(), default_id());
    assert_eq!(engine.stats().await.unwrap().models, stats.models);
    assert!(
        top_path(&engine, "baking a loaf with wild yeast")
            .await
            .ends_with("sourdough-bread.txt")
    );

    // Ingests are not held up by the stopped switch, and the next switch covers what they added.
    ingest_tides(&engine, dir.path()).await;
    let chunks = engine.stats().await.unwrap().chunks;
    assert!(chunks > stats.chunks);
    let report = engine
        .rebuild_index(&switch_to("int8"), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert_eq!(report.reembedded, chunks as u64);
    assert_eq!(
        engine.stats().await.unwrap().models,
        [("int8".to_string(), chunks)]
    );
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_switch_never_serves_a_cached_vector_of_the_old_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = Config::load(Some(&two_model_file(dir.path())), Some(&data)).unwrap();
    let engine = Engine::open(cfg, Access::ReadWrite).await.unwrap();
    ingest(&engine, &[samples_dir()]).await;
    let query = "baking a loaf with wild yeast";
    let exact = engine.embed_query(query).await.unwrap();
    assert_eq!(
        engine.embed_query(query).await.unwrap().values,
        exact.values
    );
    let cached = engine.query_cache_stats();
    assert_eq!((cached.hits, cached.misses), (1, 1));

    // Embedding again with the same model keeps the model id; the query is still embedded anew.
    let reembed = RebuildOptions {
        reembed: true,
        ..Default::default()
    };
    engine
        .rebuild_index(&reembed, &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert_eq!(engine.query_cache_stats().entries, 0, "cleared by the swap");
    let again = engine.embed_query(query).await.unwrap();
    assert_eq!(again.model_id, default_id());
    assert_eq!(engine.query_cache_stats().misses, 2);

    // Another model: its own vector, never the cached one.
    engine
        .rebuild_index(&switch_to("int8"), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    let int8 = engine.embed_query(query).await.unwrap();
    assert_eq!(int8.model_id, "int8");
    assert_ne!(int8.values, exact.values);
    let stats = engine.query_cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 3, 1));
    assert!(
        top_path(&engine, query)
            .await
            .ends_with("sourdough-bread.txt")
    );
    engine.close().await.unwrap();
}

/// A data directory made with another build than this CPU's default (fp32 from before int8 became
/// the default, or int8 from a CPU with int8 dot products) keeps being searched and filled with its
/// own build under today's defaults (no model mismatch, no mixed vectors), while a fresh directory
/// gets the default.
#[tokio::test(flavor = "multi_thread")]
async fn a_directory_of_another_build_keeps_it_under_the_default() {
    let other = match Builtin::default_on_this_cpu() {
        Builtin::Fp32 => Builtin::Int8Block,
        _ => Builtin::Fp32,
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut built = super::config(&data);
    built.model.id = Some(other.id().into());
    let engine = Engine::open(built, Access::ReadWrite).await.unwrap();
    ingest(&engine, &[samples_dir()]).await;
    let before = super::nearest(&engine, "baking a loaf with wild yeast", 3).await;
    engine.close().await.unwrap();

    let engine = Engine::open(super::config(&data), Access::ReadWrite)
        .await
        .unwrap();
    assert_eq!(engine.model_id(), other.id());
    let after = super::nearest(&engine, "baking a loaf with wild yeast", 3).await;
    let scores = |hits: &[docvec_engine::SearchHit]| -> Vec<(i64, f32)> {
        hits.iter().map(|h| (h.chunk_id, h.score)).collect()
    };
    assert_eq!(scores(&after), scores(&before));
    ingest_tides(&engine, dir.path()).await;
    assert_eq!(engine.check().await.unwrap().model, None);
    // `docvec rebuild --model <the default's id>` moves it to the default build, no table needed.
    let report = engine
        .rebuild_index(&switch_to(default_id()), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    assert_eq!(report.model, default_id());
    engine.close().await.unwrap();
    let engine = Engine::open(super::config(&data), Access::ReadWrite)
        .await
        .unwrap();
    assert_eq!(engine.model_id(), default_id());
    assert!(
        top_path(&engine, "what raises the sea twice daily")
            .await
            .ends_with("extra.md")
    );
    engine.close().await.unwrap();

    let fresh = Engine::open(super::config(&dir.path().join("fresh")), Access::ReadWrite)
        .await
        .unwrap();
    assert_eq!(fresh.model_id(), default_id());
    assert_ne!(default_id(), other.id());
    fresh.close().await.unwrap();
}
