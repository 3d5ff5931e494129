use serde::{Deserialize, Serialize};

use crate::{Format, Origin, Span};

/// What a parser makes of one file: its sections in reading order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedDocument {
    pub format: Format,
    /// A title found in the content (first heading, PDF Title); the engine falls back to the file name.
    pub title: Option<String>,
    pub sections: Vec<Section>,
    /// Format-specific facts about the file (page count, PDF producer, encryption ...).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Problems that did not stop the parse (a damaged page, an empty page), for the user to see.
    pub warnings: Vec<String>,
    /// Operations of an API description (OpenAPI, Swagger, Postman), in document order.
    pub endpoints: Vec<ApiEndpoint>,
    /// Entries of a log file, in file order.
    pub log_entries: Vec<LogEntry>,
    /// Tables (a CSV file, the sheets of a workbook), with header, rows and column types.
    pub tables: Vec<Table>,
    /// The text block origins point into: the decoded file for formats read as text; `None` until
    /// the chunker renders the blocks of other formats (PDF, HTML, workbooks) into it.
    #[serde(default)]
    pub text: Option<String>,
}

impl ParsedDocument {
    pub fn new(format: Format) -> Self {
        Self {
            format,
            title: None,
            sections: Vec::new(),
            metadata: Default::default(),
            warnings: Vec::new(),
            endpoints: Vec::new(),
            log_entries: Vec::new(),
            tables: Vec::new(),
            text: None,
        }
    }

    /// True when no section holds any text worth indexing.
    pub fn is_empty(&self) -> bool {
        self.sections
            .iter()
            .all(|s| s.blocks.iter().all(|b| b.text.trim().is_empty()))
    }
}

/// A run of content under one heading (or an untitled run, such as the text before the first heading).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The heading text, if the section has one.
    pub heading: Option<String>,
    /// Heading depth: 1 for `#`, 2 for `##` ...; 0 for untitled sections.
    pub level: u8,
    /// The headings from the top of the document down to this one, for context in hits and embeddings.
    pub heading_path: Vec<String>,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn untitled() -> Self {
        Self {
            heading: None,
            level: 0,
            heading_path: Vec::new(),
            blocks: Vec::new(),
        }
    }
}

/// A paragraph-like unit of text. Chunks are cut between blocks where possible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub text: String,
    pub kind: BlockKind,
    /// 1-based page the block stands on, for paged formats.
    pub page: Option<u32>,
    /// Where the block stands in the source.
    #[serde(default)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    Paragraph,
    /// Code is kept whole where it fits and is never re-flowed.
    Code,
    ListItem,
    Table,
    Quote,
}

/// A piece of a document sized for the embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Stable id from the document, position and text: unchanged content keeps its id across ingests.
    pub key: String,
    /// Position of the chunk in its document, from 0.
    pub ordinal: u32,
    /// Index of the section (in `ParsedDocument::sections`) the chunk comes from.
    pub section: u32,
    /// The chunk's text as shown in hits.
    pub text: String,
    /// Heading context prepended to the text for embedding ("Guide > Preprocessors").
    pub context: String,
    /// First and last page the chunk covers, for paged formats.
    pub page_start: Option<u32>,
    pub page_end: Option<u32>,
    /// Model tokens of `context` + `text` (without special tokens).
    pub token_count: u32,
    /// Where the chunk came from.
    #[serde(default)]
    pub span: Span,
}

impl Chunk {
    /// The text given to the embedding model: heading context, then the chunk itself.
    pub fn embedding_input(&self) -> String {
        if self.context.is_empty() {
            self.text.clone()
        } else {
            format!("{}\n\n{}", self.context, self.text)
        }
    }
}

/// One operation of an API description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiEndpoint {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template (`/users/{id}`); for a webhook, its name; for a Postman request, the URL path.
    pub path: String,
    pub kind: EndpointKind,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub parameters: Vec<ApiParameter>,
    /// Schema name (or type) of the request body.
    pub request_schema: Option<String>,
    /// Status code (or `default`) and the schema name of that response's body, when it has one.
    pub responses: Vec<(String, Option<String>)>,
    /// OpenAPI tags, or the Postman folder path.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    Operation,
    Webhook,
    Request,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiParameter {
    pub name: String,
    /// `path`, `query`, `header`, `cookie`, `body` or `formData`.
    pub location: String,
    pub required: bool,
    pub schema: Option<String>,
}

/// One entry of a log: a line, or a line with its continuation lines (a stack trace stays whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// 1-based line of the entry's first and last line in the file.
    pub line: u32,
    pub end_line: u32,
    /// ISO 8601 (`2008-11-09T20:36:15`, with `Z` or an offset when the log gives a zone); `None` when
    /// the format lacks a date part (syslog has no year) or has no timestamp.
    pub timestamp: Option<String>,
    /// Canonical level: TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, FATAL (Android's one-letter levels and
    /// syslog's names are mapped); other words upper-cased as they are.
    pub level: Option<String>,
    /// The emitting component (class, logger, program), as the log format delimits it.
    pub component: Option<String>,
    /// The host, for formats that name one (syslog).
    pub host: Option<String>,
    /// Process or thread id where the format has one.
    pub pid: Option<String>,
    pub message: String,
    /// The entry's lines exactly as in the file.
    pub raw: String,
}

/// A table: a header, rows of cells as text, and the type each column's values share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Sheet name for workbooks; `None` for a CSV file.
    pub name: Option<String>,
    pub header: Vec<String>,
    /// Every row has `header.len()` cells.
    pub rows: Vec<Vec<String>>,
    pub column_types: Vec<ColumnType>,
    /// 1-based record (CSV) or row (sheet) number of the header in the source.
    pub header_row: u32,
    /// Where each row stands in the source: the 1-based line a CSV record starts on, or the 1-based
    /// sheet row (blank rows are skipped, so rows are not numbered from the header).
    #[serde(default)]
    pub source_rows: Vec<u32>,
    /// The field separator found in a CSV file.
    pub delimiter: Option<char>,
}

/// The narrowest type all non-empty values of a column fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Empty,
    Integer,
    Float,
    Boolean,
    Date,
    Text,
}
