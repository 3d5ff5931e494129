//! The PDF parser against the corpus PDFs: words as pdftotext reads them, encrypted files, outlines as
//! sections, and every corpus file read or refused without a panic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use docvec_parse::{ParseError, ParseFileError, ParseOptions, parse_file};
use docvec_types::ParsedDocument;
use unicode_normalization::UnicodeNormalization;

fn corpus() -> Option<PathBuf> {
    docvec_testkit::corpus(&["pdf"]).map(|c| c.join("pdf"))
}

fn text(doc: &ParsedDocument) -> String {
    let blocks = doc.sections.iter().flat_map(|s| &s.blocks);
    blocks
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words as the reference counts them: NFKC, lower case, runs of letters, digits and `_`.
fn words(text: &str) -> HashMap<String, usize> {
    let text: String = text.nfkc().collect::<String>().to_lowercase();
    let mut counts = HashMap::new();
    for w in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if !w.is_empty() {
            *counts.entry(w.to_string()).or_default() += 1;
        }
    }
    counts
}

/// pdftotext's words for `pdf` (poppler-utils; `tools/test.sh` installs it), or `None` with a
/// message when it is missing (a failure under CI).
fn reference(pdf: &Path) -> Option<HashMap<String, usize>> {
    // An emulated test (qemu) runs the host's pdftotext: the target's library path must not reach it.
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .env_remove("LD_LIBRARY_PATH")
        .output();
    match out {
        Ok(out) if out.status.success() => Some(words(&String::from_utf8_lossy(&out.stdout))),
        Ok(out) => panic!("pdftotext {}: {:?}", pdf.display(), out.status),
        Err(e) => docvec_testkit::require(
            None,
            format_args!("pdftotext ({e}; apt-get install poppler-utils)"),
        ),
    }
}

/// Token F1 of `ours` against `reference` (multisets of words).
fn f1(ours: &HashMap<String, usize>, reference: &HashMap<String, usize>) -> f64 {
    let common: usize = ours
        .iter()
        .map(|(w, n)| (*n).min(reference.get(w).copied().unwrap_or(0)))
        .sum();
    let (found, wanted): (usize, usize) = (ours.values().sum(), reference.values().sum());
    if common == 0 {
        return 0.0;
    }
    let (p, r) = (common as f64 / found as f64, common as f64 / wanted as f64);
    2.0 * p * r / (p + r)
}

#[test]
fn tex_made_pdfs_read_word_for_word_like_pdftotext() {
    let Some(dir) = corpus() else { return };
    let stems = [
        "texlive-llncs-llncsdoc",
        "texlive-beamer-verona",
        "texlive-afthesis-usethesis",
        "texlive-ieeetran-testflow_ctl_A4",
    ];
    let mut scores = Vec::new();
    for stem in stems {
        let path = dir.join(format!("{stem}.pdf"));
        let Some(reference) = reference(&path) else {
            return;
        };
        let (_, doc) =
            parse_file(&path, &ParseOptions::default()).unwrap_or_else(|e| panic!("{stem}: {e}"));
        scores.push((stem, f1(&words(&text(&doc)), &reference)));
    }
    eprintln!("token F1 against pdftotext: {scores:?}");
    for (stem, score) in scores {
        assert!(score >= 0.9, "{stem}: token F1 {score:.3} < 0.9");
    }
    // The words the issue found glued together now stand apart.
    let (_, doc) = parse_file(
        &dir.join("texlive-llncs-llncsdoc.pdf"),
        &ParseOptions::default(),
    )
    .unwrap();
    let text = text(&doc);
    for phrase in [
        "Instructions for Using Springer",
        "Computer Science Proceedings",
        "Working with the",
    ] {
        assert!(text.contains(phrase), "no {phrase:?} in llncsdoc");
    }
}

#[test]
fn encrypted_pdfs_open_with_the_configured_password() {
    let Some(dir) = corpus() else { return };
    let with = |password: Option<&str>| ParseOptions {
        pdf_password: password.map(str::to_string),
        ..ParseOptions::default()
    };
    for (file, password, expect) in [
        ("pypdf-libreoffice-writer-password.pdf", "openpassword", ""),
        (
            "qpdf-enc-R3-V2-RC4-user_view-owner_master.pdf",
            "view",
            "Potato",
        ),
    ] {
        let path = dir.join(file);
        let err = parse_file(&path, &with(None)).unwrap_err();
        assert!(
            matches!(err, ParseFileError::Parse(ParseError::PasswordRequired)),
            "{file}: {err}"
        );
        let err = parse_file(&path, &with(Some("not it"))).unwrap_err();
        assert!(
            matches!(err, ParseFileError::Parse(ParseError::WrongPassword)),
            "{file}: {err}"
        );
        let (_, doc) =
            parse_file(&path, &with(Some(password))).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(doc.metadata.get("encrypted"), Some(&true.into()), "{file}");
        assert!(text(&doc).contains(expect), "{file}: no {expect:?}");
    }
    // The file whose user password is empty opens without one.
    let (_, doc) = parse_file(
        &dir.join("qpdf-enc-R3-V2-RC4-owner_master-no-user-pw.pdf"),
        &with(None),
    )
    .unwrap();
    assert!(text(&doc).contains("Potato"));
}

#[test]
fn outline_entries_become_sections() {
    let Some(dir) = corpus() else { return };
    for file in [
        "pypdf-pdflatex-outline.pdf",
        "texlive-llncs-llncsdoc.pdf",
        "texlive-acmart-sample-sigconf.pdf",
        "debian-gnuplot-manual.pdf",
    ] {
        let (_, doc) = parse_file(&dir.join(file), &ParseOptions::default()).unwrap();
        let count = |key: &str| doc.metadata.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
        let (total, placed) = (count("outline_entries"), count("outline_entries_placed"));
        let titled = doc.sections.iter().filter(|s| s.heading.is_some()).count() as u64;
        eprintln!("{file}: {placed} of {total} outline entries placed, {titled} titled sections");
        assert!(
            total > 0 && placed * 10 >= total * 9,
            "{file}: {placed} of {total} entries placed"
        );
        // Entries sharing a spot (a chapter and its first section) share one section.
        assert!(
            titled * 10 >= placed * 8,
            "{file}: {titled} sections for {placed} entries"
        );
        assert!(
            doc.sections
                .iter()
                .all(|s| s.blocks.iter().all(|b| b.page.is_some()))
        );
    }
}

#[test]
fn every_corpus_pdf_is_read_or_refused_with_a_cause() {
    let Some(dir) = corpus() else { return };
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pdf") {
            continue;
        }
        match parse_file(&path, &ParseOptions::default()) {
            Ok((_, doc)) => {
                read += 1;
                assert!(!text(&doc).trim().is_empty(), "{}: no text", path.display());
            }
            Err(e) => assert!(!e.to_string().is_empty(), "{}", path.display()),
        }
    }
    assert!(read >= 17, "only {read} corpus PDFs read");
}
