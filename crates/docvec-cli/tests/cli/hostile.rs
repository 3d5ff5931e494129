//! Hostile inputs in one folder beside a good file (issue 8): each bad file fails with a cause that
//! names it, nothing panics, the good file is stored, and the data directory stays consistent.

use std::io::Write;

use super::{assert_success, docvec, json};

#[test]
fn a_folder_of_hostile_files_fails_each_clearly_and_stores_the_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    write(
        "good.md",
        b"# Sourdough\n\nBake the loaf for forty minutes at 230 degrees.\n",
    );
    write("empty.txt", b"");
    write(
        "corrupt.pdf",
        &[b"%PDF-1.7\n".as_slice(), &[0xA5; 8192]].concat(),
    );
    if let Some(corpus) = docvec_testkit::corpus(&["pdf"]) {
        let pdf = std::fs::read(corpus.join("pdf/pdfjs-tracemonkey.pdf")).unwrap();
        write("truncated.pdf", &pdf[..pdf.len() / 3]);
    }
    write(
        "nul.log",
        b"2024-01-01 10:00:00 ERROR disk\0full on /dev/sda\n2024-01-01 10:00:01 INFO \0\0\0 retry\n",
    );
    write(
        "latin.txt",
        b"caf\xe9 cr\xe8me br\xfbl\xe9e \xff\xfe and plain words after the invalid bytes\n",
    );
    let depth = 100_000;
    write(
        "deep.json",
        // An API description (or it is skipped as an unknown .json) whose paths nest 100k deep.
        format!(
            "{{\"openapi\":\"3.0.0\",\"paths\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        )
        .as_bytes(),
    );
    write(
        "laughs.yaml",
        b"openapi: 3.0.0\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n\
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n\
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n\
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\npaths: *i\n",
    );
    {
        // A CSV whose second line is 100 MB long.
        let mut f = std::fs::File::create(d.join("longline.csv")).unwrap();
        f.write_all(b"name,value\n").unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&block).unwrap();
        }
        f.write_all(b",1\n").unwrap();
        // A text file holding one 100 MB word.
        let mut f = std::fs::File::create(d.join("word.txt")).unwrap();
        f.write_all(b"One enormous word follows. ").unwrap();
        for _ in 0..100 {
            f.write_all(&block).unwrap();
        }
        f.write_all(b" The end.\n").unwrap();
    }
    std::fs::create_dir(d.join("loop")).unwrap();
    std::os::unix::fs::symlink(d.join("loop"), d.join("loop/again")).unwrap();

    let data = tempfile::tempdir().unwrap();
    let out = docvec(data.path(), &["ingest", d.to_str().unwrap(), "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let report = json(&out);
    let outcome = |name: &str| {
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f[0].as_str().unwrap().ends_with(name))
            .map(|f| f[1].clone())
            .unwrap_or_else(|| panic!("{name} missing from the report: {report:#}"))
    };
    assert_eq!(outcome("good.md")["status"], "added");
    let failed: Vec<(String, String)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f[1]["status"] == "failed")
        .map(|f| {
            (
                f[0].as_str().unwrap().to_string(),
                f[1]["cause"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (path, cause) in &failed {
        assert!(
            cause.len() > 10,
            "{path}: a cause that says nothing: {cause:?}"
        );
    }
    let cause = |name: &str| outcome(name)["cause"].as_str().unwrap_or("").to_string();
    let assert_cause = |name: &str, needle: &str| {
        let cause = cause(name);
        assert!(cause.contains(needle), "{cause}");
    };
    assert_cause("empty.txt", "no text");
    assert!(
        cause("corrupt.pdf").to_lowercase().contains("pdf"),
        "{}",
        cause("corrupt.pdf")
    );
    assert_cause("deep.json", "nested");
    assert_eq!(outcome("laughs.yaml")["status"], "failed");
    assert_eq!(outcome("longline.csv")["status"], "failed");
    assert_cause("longline.csv", "limit for one cell");
    assert_cause("word.txt", "limit for one word");
    // NUL bytes mark a binary file, whatever its name says; bytes that are not UTF-8 do not.
    assert_cause("nul.log", "NUL");
    assert_eq!(
        outcome("latin.txt")["status"],
        "added",
        "{}",
        cause("latin.txt")
    );
    eprintln!("hostile files and their causes:");
    for (path, cause) in &failed {
        eprintln!("  {path}: {cause}");
    }

    let check = docvec(data.path(), &["check", "--json"]);
    assert_success(&check);
    let hits = json(&docvec(
        data.path(),
        &["search", "how long to bake the loaf", "-k", "1", "--json"],
    ));
    assert!(
        hits[0]["document_path"]
            .as_str()
            .unwrap()
            .ends_with("good.md")
    );
}
