//! Parsers against real files from `../shared/corpus` (skipped with a message when the corpus is
//! absent, a failure under CI): logs against loghub's structured ground truth, PDFs against
//! pdftotext.

mod logs;
mod pdf;

use std::path::PathBuf;

/// The corpus folder `sub` (`DOCVEC_CORPUS` or `../shared/corpus` beside the repository), or `None`
/// with a message when it is absent. Under CI a missing prerequisite fails the run.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DOCVEC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join(sub).is_dir() {
        return Some(dir);
    }
    missing(&format!(
        "no corpus at {} (set DOCVEC_CORPUS or check out ../shared)",
        dir.join(sub).display()
    ));
    None
}

/// Report a missing prerequisite: a failure under CI, else a loud skip.
pub fn missing(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "under CI a missing prerequisite fails the run: {what}"
    );
    eprintln!("SKIPPED: {what}");
}
