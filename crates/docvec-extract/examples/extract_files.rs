//! Time parsing and extraction per file: `cargo run --release --example extract_files -- FILE...`.
use std::path::Path;
use std::time::Instant;

fn main() {
    for arg in std::env::args().skip(1) {
        let path = Path::new(&arg);
        let t = Instant::now();
        let Ok((format, doc)) = docvec_parse::parse_file(path, &Default::default()) else {
            println!("{arg}: not parsed");
            continue;
        };
        let parsed = t.elapsed();
        let source = std::fs::read_to_string(path).ok();
        let t = Instant::now();
        let out = docvec_extract::extract(&doc, &[], source.as_deref(), &[], &Default::default());
        println!(
            "{arg}: {format} parse {:.0} ms, extract {:.0} ms, {} tags, {} facts",
            parsed.as_secs_f64() * 1000.0,
            t.elapsed().as_secs_f64() * 1000.0,
            out.document_tags.len(),
            out.facts.len()
        );
    }
}
