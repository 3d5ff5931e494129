//! What the extract stage adds to a parsed document: tags (format, given at ingest, keyphrases) and
//! facts with the evidence that locates them in the source.

use serde::{Deserialize, Serialize};

/// Where a tag comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagKind {
    /// The document's format (`pdf`, `log` ...).
    Format,
    /// Given by the user at ingest (`--tag`).
    User,
    /// Extracted from the text by a statistical keyphrase method (YAKE).
    Keyphrase,
}

impl TagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::Format => "format",
            TagKind::User => "user",
            TagKind::Keyphrase => "keyphrase",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "format" => Some(TagKind::Format),
            "user" => Some(TagKind::User),
            "keyphrase" => Some(TagKind::Keyphrase),
            _ => None,
        }
    }
}

/// A tag on a document or a chunk. Names are lower case, with single spaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    pub kind: TagKind,
    /// Keyphrase relevance in (0, 1], higher is more relevant; `None` for other kinds.
    pub score: Option<f32>,
}

/// How a fact was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// A table cell, keyed by its column header, about the row's label.
    TableCell,
    /// A `Label: value` line.
    LabelValue,
}

impl FactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::TableCell => "table_cell",
            FactKind::LabelValue => "label_value",
        }
    }
}

/// A label/value statement found in a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// The label or column header, as written.
    pub key: String,
    /// The value, as written.
    pub value: String,
    /// What the fact is about: the row's label for a table cell (its first text column).
    pub subject: Option<String>,
    /// The value as a number when it is one (`1,234.5`, `$12`, `45%`, `3.2 GB`).
    pub number: Option<f64>,
    /// What follows the number (`GB`, `%`, `ms`), or the currency sign before it.
    pub unit: Option<String>,
    pub kind: FactKind,
    pub evidence: Evidence,
}

/// What a character span counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanScope {
    /// The file's decoded text (text, Markdown, CSV): `line` is the file's line.
    File,
    /// The page's extracted text (PDF): `line` counts lines of that page.
    Page,
    /// The section's extracted text (HTML and other formats without source lines).
    Section,
}

/// Where exactly a fact stands in its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Index of the section in the parsed document.
    pub section: Option<u32>,
    /// 1-based page (PDF).
    pub page: Option<u32>,
    /// Sheet name (workbooks).
    pub sheet: Option<String>,
    /// Index of the table in the document (tables only).
    pub table: Option<u32>,
    /// 1-based source row (sheet row, or the line a CSV record starts on) and column.
    pub row: Option<u32>,
    pub column: Option<u32>,
    /// 1-based line, in the text `scope` names.
    pub line: Option<u32>,
    /// Character offsets (Unicode scalar values, end exclusive) of the statement in `scope`'s text.
    pub char_start: Option<u32>,
    pub char_end: Option<u32>,
    pub scope: Option<SpanScope>,
    /// The statement as it stands in the source (the line, or "row label | header: value").
    pub snippet: String,
}
