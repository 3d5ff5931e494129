//! The edge use: searching without the model (keyword, your own vectors), older ONNX Runtime
//! releases, and bundles exported while an ingest runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use docvec_testkit::models_dir;

use super::{assert_success, docvec, docvec_command, json};

/// An ONNX Runtime library fetched by `setup_models.py --ort VERSION`; a skip outside CI, a failure in
/// it (tools/test.sh fetches them).
fn ort_library(version: &str) -> Option<PathBuf> {
    let lib = models_dir().join(format!("onnxruntime-{version}-x86_64/libonnxruntime.so"));
    let what = format!(
        "no ONNX Runtime {version} at {} (python3 tools/setup_models.py --ort {version})",
        lib.display()
    );
    docvec_testkit::require(lib.exists().then_some(lib), what)
}

pub(super) fn samples_dir() -> (tempfile::TempDir, PathBuf) {
    let data = tempfile::tempdir().unwrap();
    let out = docvec(data.path(), &["ingest", "samples"]);
    assert_success(&out);
    let dir = data.path().to_path_buf();
    (data, dir)
}

/// `docvec` with a broken ONNX Runtime path: anything that loads the runtime fails.
fn without_runtime(data: &Path, args: &[&str]) -> std::process::Output {
    docvec_command(data, args)
        .env("DOCVEC_ORT_LIBRARY", "/nonexistent/libonnxruntime.so")
        .output()
        .expect("docvec runs")
}

fn chunk_ids(v: &serde_json::Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h["chunk_id"].as_i64().unwrap())
        .collect()
}

#[test]
fn keyword_search_vectors_and_check_never_load_the_runtime() {
    let (_keep, data) = samples_dir();
    let keyword = without_runtime(
        &data,
        &["search", "sourdough starter", "--mode", "keyword", "--json"],
    );
    assert_success(&keyword);
    let hits = json(&keyword);
    assert!(
        hits[0]["document_path"]
            .as_str()
            .unwrap()
            .ends_with("sourdough-bread.txt")
    );
    let check = without_runtime(&data, &["check", "--json"]);
    assert_success(&check);
    assert_eq!(json(&check)["consistent"], true);
    // Embedding does need it, and says what is missing.
    let text = without_runtime(&data, &["search", "sourdough starter"]);
    assert_eq!(text.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&text.stderr).contains("/nonexistent/libonnxruntime.so"));

    // A stored chunk's own vector, given as the query, finds that chunk first (cosine 1) with no
    // runtime loaded; filters apply as to text queries.
    let (chunk, vector) = stored_vector(&data.join("docvec.db"));
    let file = data.join("query.json");
    std::fs::write(&file, serde_json::to_string(&vector).unwrap()).unwrap();
    let by_vector = without_runtime(
        &data,
        &[
            "search",
            "--vector",
            file.to_str().unwrap(),
            "--json",
            "-k",
            "3",
        ],
    );
    assert_success(&by_vector);
    let by_vector = json(&by_vector);
    assert_eq!(by_vector[0]["chunk_id"], chunk);
    assert!(
        by_vector[0]["score"].as_f64().unwrap() > 0.999,
        "{by_vector}"
    );
    let filtered = json(&without_runtime(
        &data,
        &[
            "search",
            "--vector",
            file.to_str().unwrap(),
            "--json",
            "--format",
            "pdf",
        ],
    ));
    assert!(!filtered.as_array().unwrap().is_empty());
    assert!(
        filtered
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["format"] == "pdf"),
        "{filtered}"
    );

    // Several vectors: .fvecs, one answer each, in order.
    let fvecs = data.join("queries.fvecs");
    let mut bytes = Vec::new();
    for v in [&vector, &vector] {
        bytes.extend(384i32.to_le_bytes());
        v.iter().for_each(|x| bytes.extend(x.to_le_bytes()));
    }
    std::fs::write(&fvecs, bytes).unwrap();
    let many = json(&without_runtime(
        &data,
        &[
            "search",
            "--vector",
            fvecs.to_str().unwrap(),
            "--json",
            "-k",
            "3",
        ],
    ));
    assert_eq!(many.as_array().unwrap().len(), 2);
    assert_eq!(chunk_ids(&many[1]["hits"]), chunk_ids(&by_vector));
}

#[test]
fn a_vector_of_the_wrong_dimension_is_a_usage_error_naming_both() {
    let (_keep, data) = samples_dir();
    let file = data.join("short.json");
    std::fs::write(&file, serde_json::to_string(&vec![0.5f32; 100]).unwrap()).unwrap();
    let out = without_runtime(&data, &["search", "--vector", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("100 dimensions") && err.contains("384-dimensional"),
        "{err}"
    );
    std::fs::write(&file, "[0.1, \"x\"]").unwrap();
    let out = without_runtime(&data, &["search", "--vector", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("short.json"));
    // Keyword search needs words.
    std::fs::write(&file, serde_json::to_string(&vec![0.5f32; 384]).unwrap()).unwrap();
    let out = without_runtime(
        &data,
        &[
            "search",
            "--vector",
            file.to_str().unwrap(),
            "--mode",
            "keyword",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first stored chunk of a markdown document and its vector (little-endian f32), read with
/// Python's sqlite3, as an app holding its own vectors would have them.
fn stored_vector(db: &Path) -> (i64, Vec<f32>) {
    let script = "import sqlite3,struct,sys,json\n\
        r=sqlite3.connect(sys.argv[1]).execute(\"select e.chunk_id, e.vector from chunk_embeddings e \
        join search_chunks c on c.id=e.chunk_id join documents d on d.id=c.document_id \
        where d.format='markdown' order by e.chunk_id limit 1\").fetchone()\n\
        print(json.dumps([r[0], struct.unpack('<%df'%(len(r[1])//4), r[1])]))";
    let out = Command::new("python3")
        .args(["-c", script, db.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert_success(&out);
    let (id, v): (i64, Vec<f32>) = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.len(), 384);
    (id, v)
}

#[test]
fn onnx_runtime_1_20_gives_the_same_hits_and_1_19_is_refused() {
    let (Some(v120), Some(v119)) = (ort_library("1.20.1"), ort_library("1.19.2")) else {
        return;
    };
    // The int8 default's 8-bit MatMulNBits needs a newer runtime than 1.20 (4 bits only there), so
    // the directory 1.20 searches is one of the fp32 build, as a JetPack user makes with its runtime.
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().to_path_buf();
    let made = docvec_command(&data, &["ingest", "samples"])
        .env("DOCVEC_MODEL_ID", docvec_engine::Builtin::Fp32.id())
        .output()
        .unwrap();
    assert_success(&made);
    let query = [
        "search",
        "how do I bake bread",
        "--mode",
        "vector",
        "--json",
        "-k",
        "4",
    ];
    let current = json(&docvec(&data, &query));
    let with = |lib: &Path| {
        docvec_command(&data, &query)
            .env("DOCVEC_ORT_LIBRARY", lib)
            .output()
            .unwrap()
    };
    let old = with(&v120);
    assert_success(&old);
    let old = json(&old);
    assert_eq!(chunk_ids(&old), chunk_ids(&current));
    for (a, b) in old
        .as_array()
        .unwrap()
        .iter()
        .zip(current.as_array().unwrap())
    {
        let (a, b) = (a["score"].as_f64().unwrap(), b["score"].as_f64().unwrap());
        assert!((a - b).abs() < 1e-4, "scores {a} and {b}");
    }
    // `docvec status` names the runtime that really ran, and a GPU this machine lacks plainly.
    let status = docvec_command(&data, &["status", "--json"])
        .env("DOCVEC_ORT_LIBRARY", &v120)
        .output()
        .unwrap();
    assert_success(&status);
    let model = &json(&status)["model"];
    assert_eq!(model["runtime"]["onnxruntime_version"], "1.20.1", "{model}");
    assert_eq!(
        model["runtime"]["execution_providers"],
        serde_json::json!(["CPUExecutionProvider"])
    );
    let status = docvec_command(&data, &["status", "--json"])
        .env("DOCVEC_DEVICE", "cuda")
        .output()
        .unwrap();
    assert_success(&status);
    let model = &json(&status)["model"];
    assert_eq!(model["device"], "cuda");
    assert!(model["runtime"].is_null(), "{model}");
    let error = model["error"].as_str().unwrap();
    assert!(
        error.contains("cuda execution provider could not be registered"),
        "{error}"
    );
    let refused = with(&v119);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("1.19.2") && err.contains("1.20"), "{err}");
    // A directory of the int8 build (the default on a CPU with int8 dot products, named here so the
    // test means the same on every CPU) keeps its model on 1.20, which cannot run it: a plain error
    // naming the runtime and the way out, not a wrong answer from another model.
    let int8_data = tempfile::tempdir().unwrap();
    let made = docvec_command(int8_data.path(), &["ingest", "samples"])
        .env("DOCVEC_MODEL_ID", docvec_engine::Builtin::Int8Block.id())
        .output()
        .unwrap();
    assert_success(&made);
    let out = docvec_command(int8_data.path(), &query)
        .env("DOCVEC_ORT_LIBRARY", &v120)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("int8 model that ONNX Runtime 1.20.1 cannot run") && err.contains("fp32"),
        "{err}"
    );
}

#[test]
fn a_bundle_exported_during_an_ingest_is_whole_and_answers_as_the_source() {
    let Some(corpus) = docvec_testkit::corpus(&["docs", "logs"]) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let first = docvec(data.path(), &["ingest", "samples"]);
    assert!(first.status.success());
    // A long ingest in another process while the bundle is written: over a thousand chunks, so it
    // commits in several batches and the export starts after the first.
    let mut ingest = docvec_command(data.path(), &["ingest", "--events"])
        .arg(corpus.join("docs"))
        .arg(corpus.join("logs/Apache/Apache_2k.log"))
        .arg(corpus.join("logs/OpenSSH/OpenSSH_2k.log"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Export once the ingest has committed its first file (its event line), so the copy lands mid-run.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(ingest.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let bundle = data.path().join("bundle");
    let out = docvec(data.path(), &["export", bundle.to_str().unwrap(), "--json"]);
    assert_success(&out);
    let report = json(&out);
    assert!(ingest.wait().unwrap().success());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("BUNDLE.json")).unwrap()).unwrap();
    assert_eq!(manifest, report["manifest"]);
    assert_eq!(
        manifest["model_id"],
        docvec_engine::Builtin::default_on_this_cpu().id()
    );
    assert_eq!(manifest["model_sha256"].as_str().unwrap().len(), 64);
    let check = json(&docvec(&bundle, &["check", "--json"]));
    assert_eq!(check["consistent"], true, "{check}");
    assert_eq!(check["bundle"]["model_verified"], true, "{check}");
    assert_eq!(check["store"]["chunks"], manifest["chunks"]);

    // The bundle answers as its own store says: every hit's chunk is in the bundle, and a keyword
    // search for a sample answers as the source directory does.
    let q = ["search", "sourdough starter", "--json", "-k", "3"];
    let from_bundle = json(&docvec(&bundle, &q));
    let from_source = json(&docvec(data.path(), &q));
    assert_eq!(from_bundle[0]["chunk_id"], from_source[0]["chunk_id"]);
    let out = docvec(data.path(), &["export", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an empty folder"));
}
