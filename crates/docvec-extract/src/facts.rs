//! Facts with evidence: numeric table cells keyed by their column header and about their row's label,
//! and `Label: value` lines in prose. Each fact points back to where it stands: sheet, row and column for
//! a cell; line and character span for a line, counted in the file's text where docvec has it (text,
//! Markdown), else in the page's (PDF) or the section's extracted text.

use std::sync::OnceLock;

use docvec_types::{
    BlockKind, ColumnType, Evidence, Fact, FactKind, ParsedDocument, SpanScope, Table, TextSource,
};
use regex::Regex;

/// Longest value a `Label: value` line may have: longer ones are prose with a colon in it.
const MAX_VALUE_CHARS: usize = 120;
const MAX_VALUE_WORDS: usize = 15;
const MAX_LABEL_WORDS: usize = 6;
const MAX_SNIPPET_CHARS: usize = 300;

fn label_line() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        // An optional list marker and Markdown emphasis around the label, a label starting with a
        // letter, a colon, then the value. The label ends at the first colon.
        Regex::new(
            r"^\s*(?:[-*+•]\s+)?(?:\*\*|__)?(?P<label>\p{L}[^:\n]{0,60}?)(?:\*\*|__)?\s*:(?:\*\*|__)?\s+(?P<value>\S.*?)\s*$",
        )
        .expect("valid regex")
    })
}

fn number_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"^(?P<cur>[$€£¥])?\s*(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)(?:\s*(?P<unit>%|[\p{L}µ°][\p{L}/°²³]*))?",
        )
        .expect("valid regex")
    })
}

/// The value as a number with its unit, when it is a number (`1,234.5`, `$12`, `45 %`, `3.2 GB`). Dates,
/// times and versions (`2024-03-01`, `12:30`, `1.2.3`) are not numbers.
pub fn parse_number(value: &str) -> Option<(f64, Option<String>)> {
    let value = value.trim();
    let c = number_re().captures(value)?;
    let end = c.get(0)?.end();
    let rest = &value[end..];
    if rest
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_digit() || matches!(ch, '-' | ':' | '/' | '.' | ','))
    {
        return None;
    }
    // A long sentence that starts with a number is not a numeric value.
    if rest.split_whitespace().count() > 3 {
        return None;
    }
    let mut number: f64 = c["num"].replace(',', "").parse().ok()?;
    let mut unit = c.name("unit").map(|m| m.as_str().to_string());
    // "4.2 million" is 4,200,000; the unit is then the currency, or the word after the scale.
    if let Some(scale) = unit.as_deref().and_then(scale_of) {
        number *= scale;
        unit = rest.split_whitespace().next().map(str::to_string);
    }
    if let Some(cur) = c.name("cur") {
        unit = Some(cur.as_str().to_string());
    }
    Some((number, unit))
}

fn scale_of(word: &str) -> Option<f64> {
    match word.to_ascii_lowercase().as_str() {
        "thousand" => Some(1e3),
        "million" | "mn" => Some(1e6),
        "billion" | "bn" => Some(1e9),
        "trillion" => Some(1e12),
        _ => None,
    }
}

/// Every fact of the document, at most `max` of them; the flag tells whether some were left out.
pub fn extract_facts(doc: &ParsedDocument, source: Option<&str>, max: usize) -> (Vec<Fact>, bool) {
    let mut out = Vec::new();
    for (i, table) in doc.tables.iter().enumerate() {
        table_facts(table, i as u32, &mut out, max);
    }
    match (doc.format.text_source(), source) {
        (TextSource::FileLines { markdown }, Some(text)) => {
            line_facts_in_file(text, markdown, &mut out, max)
        }
        (TextSource::Pages, _) => line_facts_by_page(doc, &mut out, max),
        (TextSource::Sections | TextSource::FileLines { .. }, _) => {
            line_facts_by_section(doc, &mut out, max)
        }
        // Logs, API descriptions and tables have structured rows of their own.
        (TextSource::LogMessages | TextSource::Rows, _) => {}
    }
    let truncated = out.len() > max;
    out.truncate(max);
    (out, truncated)
}

/// Numeric cells, keyed by their column header, about the row's label (its first text column).
fn table_facts(table: &Table, index: u32, out: &mut Vec<Fact>, max: usize) {
    let label_col = table
        .column_types
        .iter()
        .position(|t| *t == ColumnType::Text);
    let numeric: Vec<usize> = (0..table.header.len())
        .filter(|&c| Some(c) != label_col)
        .filter(|&c| {
            matches!(
                table.column_types.get(c),
                Some(ColumnType::Integer | ColumnType::Float)
            )
        })
        .collect();
    if numeric.is_empty() {
        return;
    }
    let csv = table.delimiter.is_some();
    for (r, row) in table.rows.iter().enumerate() {
        let subject = label_col
            .and_then(|c| row.get(c))
            .filter(|s| !s.is_empty())
            .cloned();
        let source_row = table.source_rows.get(r).copied();
        for &c in &numeric {
            let Some(value) = row.get(c).filter(|v| !v.is_empty()) else {
                continue;
            };
            if out.len() > max {
                return;
            }
            let key = &table.header[c];
            let (number, unit) = match parse_number(value) {
                Some((n, u)) => (Some(n), u),
                None => (None, None),
            };
            out.push(Fact {
                key: key.clone(),
                value: value.clone(),
                subject: subject.clone(),
                number,
                unit,
                kind: FactKind::TableCell,
                evidence: Evidence {
                    section: None,
                    page: None,
                    sheet: table.name.clone(),
                    table: Some(index),
                    row: source_row,
                    column: Some(c as u32 + 1),
                    line: if csv { source_row } else { None },
                    char_start: None,
                    char_end: None,
                    scope: csv.then_some(SpanScope::File),
                    snippet: match &subject {
                        Some(s) => format!("{s} | {key}: {value}"),
                        None => format!("{key}: {value}"),
                    },
                },
            });
        }
    }
}

/// A `Label: value` statement in one line: (label, value, char start, char end) with the span counted
/// in characters of the line.
fn label_value(line: &str) -> Option<(String, String, usize, usize)> {
    let c = label_line().captures(line)?;
    let label = c["label"].trim().trim_end_matches(['*', '_']).trim();
    let value = c["value"].trim().trim_end_matches(['*', '_']).trim();
    if label.is_empty()
        || value.is_empty()
        || label.split_whitespace().count() > MAX_LABEL_WORDS
        || value.chars().count() > MAX_VALUE_CHARS
        || value.split_whitespace().count() > MAX_VALUE_WORDS
        || value.ends_with(':')
        || label.contains("http")
        || value.starts_with("//")
    {
        return None;
    }
    let start = leading_space(line);
    let end = line.trim_end().chars().count();
    Some((label.to_string(), value.to_string(), start, end))
}

fn leading_space(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).count()
}

fn push_line_fact(
    out: &mut Vec<Fact>,
    line: &str,
    (label, value, start, end): (String, String, usize, usize),
    at: Evidence,
) {
    let (number, unit) = match parse_number(&value) {
        Some((n, u)) => (Some(n), u),
        None => (None, None),
    };
    out.push(Fact {
        key: label,
        value,
        subject: None,
        number,
        unit,
        kind: FactKind::LabelValue,
        evidence: Evidence {
            char_start: Some(at.char_start.unwrap_or(0) + start as u32),
            char_end: Some(at.char_start.unwrap_or(0) + end as u32),
            snippet: line.trim().chars().take(MAX_SNIPPET_CHARS).collect(),
            ..at
        },
    });
}

fn blank_evidence() -> Evidence {
    Evidence {
        section: None,
        page: None,
        sheet: None,
        table: None,
        row: None,
        column: None,
        line: None,
        char_start: None,
        char_end: None,
        scope: None,
        snippet: String::new(),
    }
}

/// Lines of the file itself, so line numbers and spans are the file's (code blocks skipped in
/// Markdown).
fn line_facts_in_file(text: &str, markdown: bool, out: &mut Vec<Fact>, max: usize) {
    let mut offset = 0usize; // characters before the current line
    let mut in_fence = false;
    for (i, line) in text.split('\n').enumerate() {
        let chars = line.chars().count() + 1;
        let trimmed = line.trim_start();
        let code = markdown && line.starts_with("    ");
        if markdown && (trimmed.starts_with("```") || trimmed.starts_with("~~~")) {
            in_fence = !in_fence;
        } else if let Some(found) = (!in_fence && !code)
            .then(|| label_value(line.trim_end_matches('\r')))
            .flatten()
        {
            let at = Evidence {
                line: Some(i as u32 + 1),
                char_start: Some(offset as u32),
                scope: Some(SpanScope::File),
                ..blank_evidence()
            };
            push_line_fact(out, line, found, at);
            if out.len() > max {
                return;
            }
        }
        offset += chars;
    }
}

/// Lines of each page's text: the page's blocks in reading order, joined by line breaks.
fn line_facts_by_page(doc: &ParsedDocument, out: &mut Vec<Fact>, max: usize) {
    let mut pages: Vec<(u32, String)> = Vec::new();
    for block in doc.sections.iter().flat_map(|s| &s.blocks) {
        let Some(page) = block.page else { continue };
        match pages.last_mut() {
            Some((p, text)) if *p == page => {
                text.push('\n');
                text.push_str(&block.text);
            }
            _ => pages.push((page, block.text.clone())),
        }
    }
    for (page, text) in pages {
        let at = Evidence {
            page: Some(page),
            scope: Some(SpanScope::Page),
            ..blank_evidence()
        };
        scan_lines(&text, at, out, max);
        if out.len() > max {
            return;
        }
    }
}

/// Lines of each section's text (prose blocks only; code is not statements).
fn line_facts_by_section(doc: &ParsedDocument, out: &mut Vec<Fact>, max: usize) {
    for (i, section) in doc.sections.iter().enumerate() {
        let text = section
            .blocks
            .iter()
            .map(|b| {
                if b.kind == BlockKind::Code {
                    // Kept as blank lines so spans still count the section's whole text.
                    "\n".repeat(b.text.matches('\n').count())
                } else {
                    b.text.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let at = Evidence {
            section: Some(i as u32),
            scope: Some(SpanScope::Section),
            ..blank_evidence()
        };
        scan_lines(&text, at, out, max);
        if out.len() > max {
            return;
        }
    }
}

fn scan_lines(text: &str, at: Evidence, out: &mut Vec<Fact>, max: usize) {
    let mut offset = 0usize;
    for (i, line) in text.split('\n').enumerate() {
        if let Some(found) = label_value(line) {
            let here = Evidence {
                line: Some(i as u32 + 1),
                char_start: Some(offset as u32),
                ..at.clone()
            };
            push_line_fact(out, line, found, here);
            if out.len() > max {
                return;
            }
        }
        offset += line.chars().count() + 1;
    }
}
