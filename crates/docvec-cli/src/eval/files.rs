//! The collection's documents as files to ingest, and the way back from a hit's document path to the
//! collection's id.
//!
//! Each document becomes `<name>.txt`, or `<name>.html` when it has a title: the title goes in `<title>`,
//! where the HTML reader takes a document's title from, so it heads every chunk of the document (what
//! the model embeds and the keyword index holds) as a user's titled page would. The name is the id made
//! safe: lowercase ASCII letters, digits and `-` stay, every other byte becomes `_` and two lowercase
//! hex digits. So a name holds no separator, no dot and nothing a file system rejects, and two ids never
//! share a name, even where the file system folds case (`A` is `_41`, `a` stays `a`). Ids are found
//! again through the table of names written, not by decoding, so every id comes back exactly, however
//! long, and a file in the folder from elsewhere (an earlier run's `--keep` directory) is unjudged.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

/// Longest name kept whole: file systems allow 255 bytes, and an id of many escaped bytes triples.
const MAX_NAME: usize = 200;

/// The files written for a collection's documents, by file name.
#[derive(Debug, Default)]
pub(crate) struct CorpusFiles {
    ids: HashMap<String, String>,
    /// Documents left out because they hold no text.
    pub(crate) empty: usize,
}

impl CorpusFiles {
    /// Write each document (id, title, text) into `dir`, but for those without any text. A repeated id
    /// rewrites its file, so the last document of that id is the one ingested.
    pub(crate) fn write(
        documents: &[(String, String, String)],
        dir: &Path,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("I/O error on {}", dir.display()))?;
        let mut names: HashMap<&str, String> = HashMap::new();
        let mut files = CorpusFiles::default();
        for (id, title, text) in documents {
            let next = names.len();
            let stem = names
                .entry(id)
                .or_insert_with(|| file_name(id, next))
                .clone();
            // A document without a word (Cranfield's 471) cannot be stored or found; left out, it
            // still counts in the ideal ranking of any query that judges it relevant.
            if title.trim().is_empty() && text.trim().is_empty() {
                files.empty += 1;
                continue;
            }
            // A repeated id rewrites its document, whichever of the two kinds the last one is.
            for ext in ["txt", "html"] {
                let old = format!("{stem}.{ext}");
                let _ = std::fs::remove_file(dir.join(&old));
                files.ids.remove(&old);
            }
            let (name, body) = if title.trim().is_empty() {
                (format!("{stem}.txt"), text.clone())
            } else if text.trim().is_empty() {
                (format!("{stem}.txt"), title.clone())
            } else {
                (format!("{stem}.html"), html(title, text))
            };
            let path = dir.join(&name);
            std::fs::write(&path, body)
                .with_context(|| format!("I/O error on {}", path.display()))?;
            files.ids.insert(name, id.clone());
        }
        Ok(files)
    }

    /// The collection id of the document stored from `document_path`, if it is one of these files.
    pub(crate) fn id_of(&self, document_path: &str) -> Option<&str> {
        let name = Path::new(document_path).file_name()?.to_str()?;
        self.ids.get(name).map(String::as_str)
    }
}

/// A page of `title` and `text`, each paragraph of the text (blank-line separated) a `<p>`.
fn html(title: &str, text: &str) -> String {
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n",
        escape(title)
    );
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let _ = writeln!(page, "<p>{}</p>", escape(paragraph));
    }
    page + "</body></html>\n"
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `<id made safe>`, to which the extension is added; an empty or very long id gets `_~` and the `serial` of its id instead of (the
/// rest of) its name, which no escaped id can hold.
fn file_name(id: &str, serial: usize) -> String {
    let mut name = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' {
            name.push(char::from(b));
        } else {
            let _ = write!(name, "_{b:02x}");
        }
    }
    if name.is_empty() || name.len() > MAX_NAME {
        name.truncate(MAX_NAME / 2);
        let _ = write!(name, "_~{serial}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_round_trips_through_its_file() {
        let long = "é".repeat(150);
        let ids = [
            "1",
            "MED-10",
            "doc/7 b",
            "../up",
            "Ünïcødé",
            "日本語",
            "a",
            "A",
            "x-41",
            "_41",
            "",
            "a.b",
            &long,
        ];
        let documents: Vec<(String, String, String)> = ids
            .iter()
            .map(|id| (id.to_string(), String::new(), format!("text of {id}")))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let files = CorpusFiles::write(&documents, dir.path()).unwrap();
        let mut written: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| std::fs::canonicalize(e.unwrap().path()).unwrap())
            .collect();
        written.sort();
        // One file per id, all in the folder (no id climbed out or made a subfolder), none hidden.
        assert_eq!(written.len(), ids.len());
        let mut found = Vec::new();
        for path in &written {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(!name.starts_with('.') && name.len() <= 255, "{name}");
            let id = files.id_of(path.to_str().unwrap()).expect("a written file");
            assert_eq!(
                std::fs::read_to_string(path).unwrap(),
                format!("text of {id}")
            );
            found.push(id.to_string());
        }
        found.sort();
        let mut expected: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(found, expected);
        assert_eq!(files.id_of("/elsewhere/other.txt"), None);
    }

    #[test]
    fn names_keep_plain_ids_and_differ_beyond_case() {
        assert_eq!(file_name("11429", 0), "11429");
        assert_eq!(file_name("med-10", 0), "med-10");
        assert_eq!(file_name("A", 0), "_41");
        assert_eq!(file_name("é", 0), "_c3_a9");
        assert_eq!(file_name("", 3), "_~3");
    }

    #[test]
    fn a_repeated_id_is_one_file_holding_its_last_document() {
        let documents = [("d", "", "first"), ("d", "T & <U>", "second")]
            .map(|(i, t, x)| (i.to_string(), t.to_string(), x.to_string()));
        let dir = tempfile::tempdir().unwrap();
        let files = CorpusFiles::write(&documents, dir.path()).unwrap();
        let path = dir.path().join("d.html");
        let page = std::fs::read_to_string(&path).unwrap();
        assert!(page.contains("<title>T &amp; &lt;U&gt;</title>"), "{page}");
        assert!(page.contains("<p>second</p>"), "{page}");
        assert_eq!(files.id_of(path.to_str().unwrap()), Some("d"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_document_without_text_is_left_out_and_counted() {
        let documents = [("471", "", " \n"), ("472", "", "lift")]
            .map(|(i, t, x)| (i.to_string(), t.to_string(), x.to_string()));
        let dir = tempfile::tempdir().unwrap();
        let files = CorpusFiles::write(&documents, dir.path()).unwrap();
        assert_eq!(files.empty, 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(!dir.path().join("471.txt").exists());
    }
}
