use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The closed set of input formats docvec understands. New formats are added here and in
/// `docvec-parse`'s registry; nothing else in the pipeline matches on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Markdown,
    Html,
    Pdf,
    /// OpenAPI 3.x or Swagger 2.0, JSON or YAML (recognised by content, not extension).
    Openapi,
    /// Postman collection v1, v2.0 or v2.1 (recognised by content).
    Postman,
    /// Plain-text logs (syslog, Apache, Hadoop-style `date time level component: message`, ...).
    Log,
    /// Delimited text tables: CSV, TSV, semicolon- or pipe-separated (separator and encoding detected).
    Csv,
    /// Workbooks: XLSX, XLSM, XLSB, XLS, ODS (every sheet).
    Spreadsheet,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Text,
        Format::Markdown,
        Format::Html,
        Format::Pdf,
        Format::Openapi,
        Format::Postman,
        Format::Log,
        Format::Csv,
        Format::Spreadsheet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Openapi => "openapi",
            Format::Postman => "postman",
            Format::Log => "log",
            Format::Csv => "csv",
            Format::Spreadsheet => "spreadsheet",
        }
    }

    /// File extensions (lowercase, without the dot) that map to this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Text => &["txt", "text"],
            Format::Markdown => &["md", "markdown", "mdown", "mkd"],
            Format::Html => &["html", "htm", "xhtml"],
            Format::Pdf => &["pdf"],
            // JSON and YAML files are sniffed: only API descriptions are read.
            Format::Openapi | Format::Postman => &[],
            Format::Log => &["log", "jsonl", "ndjson"],
            Format::Csv => &["csv", "tsv", "tab", "psv"],
            Format::Spreadsheet => &["xlsx", "xlsm", "xlsb", "xls", "ods"],
        }
    }

    /// The format a path's extension names, if docvec reads it.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.extensions().contains(&ext.as_str()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown format `{s}` (known: text, markdown, html, pdf, openapi, postman, log, csv, spreadsheet)"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_extension() {
        assert_eq!(Format::from_path(Path::new("a/B.PDF")), Some(Format::Pdf));
        assert_eq!(Format::from_path(Path::new("x.md")), Some(Format::Markdown));
        assert_eq!(Format::from_path(Path::new("x.txt")), Some(Format::Text));
        assert_eq!(Format::from_path(Path::new("faq.HTML")), Some(Format::Html));
        assert_eq!(Format::from_path(Path::new("x.exe")), None);
        assert_eq!(Format::from_path(Path::new("Makefile")), None);
    }

    #[test]
    fn formats_round_trip_through_strings() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), *f);
        }
        assert!("docx".parse::<Format>().is_err());
    }
}
