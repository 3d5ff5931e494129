//! Parse files and print what docvec-parse makes of them: `cargo run --example parse_files -- FILE...`.
use std::time::Instant;

fn main() {
    let opts = docvec_parse::ParseOptions::default();
    for path in std::env::args().skip(1) {
        let started = Instant::now();
        match docvec_parse::parse_file(path.as_ref(), &opts) {
            Ok((format, doc)) => {
                let blocks: usize = doc.sections.iter().map(|s| s.blocks.len()).sum();
                let chars: usize = doc
                    .sections
                    .iter()
                    .flat_map(|s| &s.blocks)
                    .map(|b| b.text.len())
                    .sum();
                println!(
                    "{path}: {format}, {} sections, {blocks} blocks, {chars} chars, {} endpoints, {} warnings, {:?}",
                    doc.sections.len(),
                    doc.endpoints.len(),
                    doc.warnings.len(),
                    started.elapsed()
                );
                for t in &doc.tables {
                    println!(
                        "    table {:?}: {} rows x {} columns, header at {}, {:?}",
                        t.name,
                        t.rows.len(),
                        t.header.len(),
                        t.header_row,
                        t.column_types
                    );
                }
                let titled = doc.sections.iter().filter(|s| s.heading.is_some());
                for s in titled.take(12) {
                    println!("    section: {:.100}", s.heading_path.join(" > "));
                }
                if let Some(b) = doc.sections.iter().flat_map(|s| &s.blocks).next() {
                    println!("    first block: {:.200}", b.text);
                }
            }
            Err(e) => println!("{path}: ERROR {e} ({:?})", started.elapsed()),
        }
    }
}
