//! PDF text extraction speed: `benches/pdf.sh` runs this beside pypdf, pdfminer.six and PyMuPDF.
//!
//!     pdf_bench OUT_DIR THREADS ROUNDS FILE.pdf...
//!
//! Parses every file as an ingest does (blocks in sections, running heads dropped), on THREADS
//! threads taking files from a shared queue, best of ROUNDS. Writes each file's text to
//! OUT_DIR/NAME.txt for the similarity check against pdftotext and its sections and outline counts
//! to OUT_DIR/NAME.meta.json, and prints one JSON object. `DOCVEC_PDF_PASSWORD` is the password for
//! encrypted files, as for `docvec ingest`.
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// One file's text, page count and section figures, or why it could not be read.
type Extracted = Result<(String, u64, serde_json::Value), String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: pdf_bench OUT_DIR THREADS ROUNDS FILE.pdf...");
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[0]);
    let threads: usize = args[1].parse().expect("THREADS");
    let rounds: usize = args[2].parse().expect("ROUNDS");
    let files: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
    std::fs::create_dir_all(&out).unwrap();
    let opts = docvec_parse::ParseOptions {
        pdf_password: std::env::var("DOCVEC_PDF_PASSWORD").ok(),
        ..docvec_parse::ParseOptions::default()
    };
    let mut best = f64::INFINITY;
    let results: Mutex<Vec<(usize, Extracted)>> = Mutex::new(Vec::new());
    for _ in 0..rounds {
        results.lock().unwrap().clear();
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let r = docvec_parse::parse_file(path, &opts)
                            .map(|(_, doc)| {
                                let pages = doc.metadata.get("pages").and_then(|p| p.as_u64());
                                let text: Vec<&str> = doc
                                    .sections
                                    .iter()
                                    .flat_map(|s| &s.blocks)
                                    .map(|b| b.text.as_str())
                                    .collect();
                                let meta = serde_json::json!({
                                    "sections": doc.sections.len(),
                                    "titled_sections": doc.sections.iter().filter(|s| s.heading.is_some()).count(),
                                    "outline_entries": doc.metadata.get("outline_entries"),
                                    "outline_entries_placed": doc.metadata.get("outline_entries_placed"),
                                });
                                (text.join("\n"), pages.unwrap_or(0), meta)
                            })
                            .map_err(|e| e.to_string());
                        results.lock().unwrap().push((i, r));
                    }
                });
            }
        });
        best = best.min(started.elapsed().as_secs_f64());
    }
    let mut pages = 0;
    let mut failed = Vec::new();
    for (i, r) in results.into_inner().unwrap() {
        let name = files[i].file_stem().unwrap().to_string_lossy().into_owned();
        match r {
            Ok((text, n, meta)) => {
                pages += n;
                std::fs::write(out.join(format!("{name}.txt")), text).unwrap();
                std::fs::write(out.join(format!("{name}.meta.json")), meta.to_string()).unwrap();
            }
            Err(e) => failed.push(serde_json::json!({"file": name, "error": e})),
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "engine": "docvec", "threads": threads, "files": files.len(), "pages": pages,
            "seconds": best, "failed": failed,
        })
    );
}
