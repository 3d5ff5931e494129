use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The closed set of input formats docvec understands. A new format is a variant here, a row in
/// [`FORMATS`] and an arm in `docvec-parse`'s registry; everything else reads the table.
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

/// Where the extractor finds a format's running text, for facts' locations and keyphrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSource {
    /// The file itself, decoded, so facts cite the file's own line numbers (`markdown`: skip fenced and
    /// indented code). Without the decoded file the parser's sections stand in.
    FileLines { markdown: bool },
    /// The parser's pages: facts cite a page (PDF).
    Pages,
    /// The parser's sections: the file's lines are markup, not text (HTML).
    Sections,
    /// Log entries: keyphrases from their messages only, so timestamps and ids do not crowd out topics.
    LogMessages,
    /// Structured rows of its own (API endpoints, tables): no line facts.
    Rows,
}

/// Everything docvec knows about one format that is not parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatFacts {
    pub format: Format,
    /// The name everywhere: `Display`, the store's `format` column, the CLI's `--format`, HTTP
    /// filters and the format tag.
    pub name: &'static str,
    /// Extensions (lowercase, without the dot) that name this format outright.
    pub extensions: &'static [&'static str],
    /// Extensions whose files are this format only when their first bytes say so (the parser sniffs).
    pub sniffed_extensions: &'static [&'static str],
    /// Media types of source files where the extension decides (TSV against CSV, XLS against XLSX) ...
    pub media_types_by_extension: &'static [(&'static str, &'static str)],
    /// ... and for every other extension.
    pub media_type: &'static str,
    pub text_source: TextSource,
}

/// One row per format, in the order of the enum's variants (`Format::facts` indexes it).
pub const FORMATS: &[FormatFacts] = &[
    FormatFacts {
        format: Format::Text,
        name: "text",
        extensions: &["txt", "text"],
        sniffed_extensions: &[],
        media_types_by_extension: &[],
        media_type: "text/plain",
        text_source: TextSource::FileLines { markdown: false },
    },
    FormatFacts {
        format: Format::Markdown,
        name: "markdown",
        extensions: &["md", "markdown", "mdown", "mkd"],
        sniffed_extensions: &[],
        media_types_by_extension: &[],
        media_type: "text/markdown",
        text_source: TextSource::FileLines { markdown: true },
    },
    FormatFacts {
        format: Format::Html,
        name: "html",
        extensions: &["html", "htm", "xhtml"],
        sniffed_extensions: &[],
        media_types_by_extension: &[],
        media_type: "text/html",
        text_source: TextSource::Sections,
    },
    FormatFacts {
        format: Format::Pdf,
        name: "pdf",
        extensions: &["pdf"],
        sniffed_extensions: &[],
        media_types_by_extension: &[],
        media_type: "application/pdf",
        text_source: TextSource::Pages,
    },
    // JSON and YAML files are sniffed: only API descriptions are read.
    FormatFacts {
        format: Format::Openapi,
        name: "openapi",
        extensions: &[],
        sniffed_extensions: &["json", "yaml", "yml"],
        media_types_by_extension: &[("yaml", "application/yaml"), ("yml", "application/yaml")],
        media_type: "application/json",
        text_source: TextSource::Rows,
    },
    FormatFacts {
        format: Format::Postman,
        name: "postman",
        extensions: &[],
        sniffed_extensions: &["json", "yaml", "yml"],
        media_types_by_extension: &[("yaml", "application/yaml"), ("yml", "application/yaml")],
        media_type: "application/json",
        text_source: TextSource::Rows,
    },
    FormatFacts {
        format: Format::Log,
        name: "log",
        extensions: &["log", "jsonl", "ndjson"],
        // XML files are sniffed for log layouts (log4j, logback, java.util.logging, Windows events).
        sniffed_extensions: &["xml"],
        media_types_by_extension: &[
            ("jsonl", "application/x-ndjson"),
            ("ndjson", "application/x-ndjson"),
            ("xml", "application/xml"),
        ],
        media_type: "text/plain",
        text_source: TextSource::LogMessages,
    },
    FormatFacts {
        format: Format::Csv,
        name: "csv",
        extensions: &["csv", "tsv", "tab", "psv"],
        sniffed_extensions: &[],
        media_types_by_extension: &[
            ("tsv", "text/tab-separated-values"),
            ("tab", "text/tab-separated-values"),
        ],
        media_type: "text/csv",
        text_source: TextSource::Rows,
    },
    FormatFacts {
        format: Format::Spreadsheet,
        name: "spreadsheet",
        extensions: &["xlsx", "xlsm", "xlsb", "xls", "ods"],
        sniffed_extensions: &[],
        media_types_by_extension: &[
            ("xls", "application/vnd.ms-excel"),
            ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
            (
                "xlsb",
                "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
            ),
            ("xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
        ],
        media_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        text_source: TextSource::Rows,
    },
];

/// A path's extension, lowercased ("" without one).
fn extension_of(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

impl Format {
    /// Every format, in the table's order.
    pub const ALL: &'static [Format] = &{
        let mut all = [Format::Text; FORMATS.len()];
        let mut i = 0;
        while i < FORMATS.len() {
            all[i] = FORMATS[i].format;
            i += 1;
        }
        all
    };

    /// This format's row of [`FORMATS`].
    pub fn facts(self) -> &'static FormatFacts {
        &FORMATS[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.facts().name
    }

    /// File extensions (lowercase, without the dot) that map to this format.
    pub fn extensions(self) -> &'static [&'static str] {
        self.facts().extensions
    }

    pub fn text_source(self) -> TextSource {
        self.facts().text_source
    }

    /// The format a path's extension names, if docvec reads it.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        FORMATS
            .iter()
            .find(|f| f.extensions.contains(&ext.as_str()))
            .map(|f| f.format)
    }

    /// Whether files with this extension (lowercase) may be this format, told by their content.
    pub fn sniffs(self, ext: &str) -> bool {
        self.facts().sniffed_extensions.contains(&ext)
    }

    /// Whether some format is told by content among files with this extension (lowercase).
    pub fn is_sniffed_extension(ext: &str) -> bool {
        FORMATS.iter().any(|f| f.sniffed_extensions.contains(&ext))
    }

    /// The media type of a source file of this format, from its extension (the format alone cannot
    /// tell XLS from XLSX).
    pub fn media_type(self, path: &Path) -> &'static str {
        let ext = extension_of(path);
        let facts = self.facts();
        facts
            .media_types_by_extension
            .iter()
            .find(|(e, _)| *e == ext)
            .map_or(facts.media_type, |(_, media)| media)
    }

    /// The names, comma-separated, for help texts and error messages.
    pub fn names() -> String {
        FORMATS
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
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
        FORMATS
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(s))
            .map(|f| f.format)
            .ok_or_else(|| format!("unknown format `{s}` (known: {})", Format::names()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_variant_in_order() {
        // Exhaustive: a new variant does not compile here until it has a row.
        let row_of = |f: Format| match f {
            Format::Text
            | Format::Markdown
            | Format::Html
            | Format::Pdf
            | Format::Openapi
            | Format::Postman
            | Format::Log
            | Format::Csv
            | Format::Spreadsheet => FORMATS.iter().position(|r| r.format == f),
        };
        for (i, row) in FORMATS.iter().enumerate() {
            assert_eq!(row.format as usize, i, "{} is out of place", row.name);
            assert_eq!(row_of(row.format), Some(i));
            assert_eq!(row.format.facts(), row);
        }
        assert_eq!(Format::ALL.len(), FORMATS.len());
    }

    #[test]
    fn names_round_trip_through_strings_and_serde() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), *f);
            assert_eq!(f.as_str().to_uppercase().parse::<Format>().unwrap(), *f);
            assert_eq!(f.to_string(), f.as_str());
            // The serde name (stored in JSON) is the table's name too.
            let json = serde_json::to_string(f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
            assert_eq!(serde_json::from_str::<Format>(&json).unwrap(), *f);
        }
        let err = "docx".parse::<Format>().unwrap_err();
        assert_eq!(
            err,
            "unknown format `docx` (known: text, markdown, html, pdf, openapi, postman, log, csv, spreadsheet)"
        );
    }

    #[test]
    fn extensions_belong_to_one_format_each() {
        let mut seen = std::collections::HashSet::new();
        for row in FORMATS {
            for ext in row.extensions {
                assert!(seen.insert(*ext), ".{ext} names two formats");
                assert_eq!(*ext, ext.to_ascii_lowercase());
                assert!(
                    !Format::is_sniffed_extension(ext),
                    ".{ext} is both named and sniffed"
                );
            }
            for (ext, _) in row.media_types_by_extension {
                assert!(
                    row.extensions.contains(ext) || row.sniffed_extensions.contains(ext),
                    "{}: media type for .{ext}, which it never reads",
                    row.name
                );
            }
        }
    }

    #[test]
    fn formats_from_extension() {
        assert_eq!(Format::from_path(Path::new("a/B.PDF")), Some(Format::Pdf));
        assert_eq!(Format::from_path(Path::new("x.md")), Some(Format::Markdown));
        assert_eq!(Format::from_path(Path::new("x.txt")), Some(Format::Text));
        assert_eq!(Format::from_path(Path::new("faq.HTML")), Some(Format::Html));
        assert_eq!(Format::from_path(Path::new("x.ndjson")), Some(Format::Log));
        assert_eq!(
            Format::from_path(Path::new("x.xlsb")),
            Some(Format::Spreadsheet)
        );
        assert_eq!(Format::from_path(Path::new("x.json")), None);
        assert_eq!(Format::from_path(Path::new("x.exe")), None);
        assert_eq!(Format::from_path(Path::new("Makefile")), None);
    }

    #[test]
    fn sniffed_extensions() {
        for ext in ["json", "yaml", "yml"] {
            assert!(Format::Openapi.sniffs(ext) && Format::Postman.sniffs(ext));
            assert!(!Format::Log.sniffs(ext));
        }
        assert!(Format::Log.sniffs("xml") && !Format::Openapi.sniffs("xml"));
        assert!(Format::is_sniffed_extension("yml"));
        assert!(!Format::is_sniffed_extension("md"));
    }

    #[test]
    fn media_types_by_extension() {
        let media = |f: Format, path: &str| f.media_type(Path::new(path));
        assert_eq!(media(Format::Pdf, "a.pdf"), "application/pdf");
        assert_eq!(media(Format::Pdf, "no-extension"), "application/pdf");
        assert_eq!(media(Format::Markdown, "a.md"), "text/markdown");
        assert_eq!(media(Format::Html, "a.htm"), "text/html");
        assert_eq!(media(Format::Text, "a.txt"), "text/plain");
        assert_eq!(media(Format::Csv, "a.TSV"), "text/tab-separated-values");
        assert_eq!(media(Format::Csv, "a.tab"), "text/tab-separated-values");
        assert_eq!(media(Format::Csv, "a.psv"), "text/csv");
        assert_eq!(
            media(Format::Spreadsheet, "a.xls"),
            "application/vnd.ms-excel"
        );
        assert_eq!(
            media(Format::Spreadsheet, "a.ods"),
            "application/vnd.oasis.opendocument.spreadsheet"
        );
        assert_eq!(
            media(Format::Spreadsheet, "a.xlsb"),
            "application/vnd.ms-excel.sheet.binary.macroEnabled.12"
        );
        assert_eq!(
            media(Format::Spreadsheet, "a.xlsm"),
            "application/vnd.ms-excel.sheet.macroEnabled.12"
        );
        assert_eq!(
            media(Format::Spreadsheet, "a.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(media(Format::Openapi, "a.yaml"), "application/yaml");
        assert_eq!(media(Format::Postman, "a.YML"), "application/yaml");
        assert_eq!(media(Format::Openapi, "a.json"), "application/json");
        assert_eq!(media(Format::Log, "a.jsonl"), "application/x-ndjson");
        assert_eq!(media(Format::Log, "a.ndjson"), "application/x-ndjson");
        assert_eq!(media(Format::Log, "a.xml"), "application/xml");
        assert_eq!(media(Format::Log, "a.log"), "text/plain");
    }
}
