//! Plain-text logs: each entry with its timestamp, level, component and message, the raw text and its
//! line numbers. The line format is chosen per file (see [`formats`]); lines that do not start an entry
//! (stack traces, wrapped messages) stay with the entry above them. Files in no known format still
//! ingest: each line is an entry, with a level where a level word stands in it. JSON-lines logs
//! (`.jsonl`, `.ndjson`, or a `.log` whose lines are JSON objects) take their fields from well-known keys,
//! and so do XML logs (log4j, log4j2, java.util.logging, Windows events; see [`xml`]).

mod formats;
mod json;
pub(crate) mod xml;

use std::sync::OnceLock;

use regex::Regex;

use docvec_types::{
    Block, BlockKind, Format, LineIndex, LogEntry, Origin, ParsedDocument, Section,
};

use crate::ParseError;
use formats::{LineFormat, canonical_level, formats};

/// Lines sampled to choose a file's format.
const SAMPLE_LINES: usize = 200;

fn known_formats() -> &'static [LineFormat] {
    static F: OnceLock<Vec<LineFormat>> = OnceLock::new();
    F.get_or_init(formats)
}

fn level_word() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)\b")
            .expect("valid regex")
    })
}

pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let text = crate::decode_text(bytes, Format::Log)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut doc = ParsedDocument::new(Format::Log);
    let head: String = text.chars().take(crate::SNIFF_BYTES).collect();
    let (name, entries) = if xml::sniff(&head) {
        let entries =
            xml::entries(&text, &mut doc.warnings).map_err(|cause| ParseError::Corrupt {
                format: Format::Log,
                cause: format!("XML log: {cause}"),
            })?;
        ("xml", entries)
    } else if json::looks_like_json_lines(&lines) {
        ("json-lines", json::entries(&lines, &mut doc.warnings))
    } else {
        match choose_format(&lines) {
            Some(f) => (f.name, entries_in(&lines, f)),
            None => ("plain", plain_entries(&lines)),
        }
    };
    doc.metadata.insert("log_format".into(), name.into());
    doc.metadata.insert("entries".into(), entries.len().into());
    let mut section = Section::untitled();
    let index = LineIndex::new(&text);
    section.blocks = entries
        .iter()
        .map(|e| Block {
            text: e.raw.clone(),
            kind: BlockKind::Paragraph,
            page: None,
            origin: Origin::bytes(
                index.start(e.line, text.len()),
                index.end(e.end_line, text.len()),
            ),
        })
        .collect();
    doc.sections.push(section);
    doc.log_entries = entries;
    doc.text = Some(text);
    Ok(doc)
}

/// The format matching the most of the first lines, if it matches at least half of them.
fn choose_format(lines: &[&str]) -> Option<&'static LineFormat> {
    let sample: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .take(SAMPLE_LINES)
        .collect();
    if sample.is_empty() {
        return None;
    }
    known_formats()
        .iter()
        .map(|f| (f, sample.iter().filter(|l| f.regex.is_match(l)).count()))
        .filter(|(_, n)| *n * 2 >= sample.len())
        .max_by_key(|(_, n)| *n)
        .map(|(f, _)| f)
}

fn entries_in(lines: &[&str], format: &LineFormat) -> Vec<LogEntry> {
    let mut out: Vec<LogEntry> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let number = i as u32 + 1;
        match format.regex.captures(line) {
            Some(c) => {
                let field = |name: &str| {
                    c.name(name)
                        .map(|m| m.as_str().trim().to_string())
                        .filter(|s| !s.is_empty())
                };
                out.push(LogEntry {
                    line: number,
                    end_line: number,
                    timestamp: (format.timestamp)(&c),
                    level: field("level").map(|l| canonical_level(&l)),
                    component: field("component"),
                    host: field("host"),
                    pid: field("pid"),
                    message: c
                        .name("message")
                        .map(|m| m.as_str().trim_end().to_string())
                        .unwrap_or_default(),
                    raw: line.to_string(),
                });
            }
            None => continue_or_start(&mut out, line, number),
        }
    }
    out
}

/// A line that starts no entry: part of the entry above (stack trace, wrapped text), or, before the
/// first entry, an entry of its own.
fn continue_or_start(out: &mut Vec<LogEntry>, line: &str, number: u32) {
    if line.trim().is_empty() {
        return;
    }
    match out.last_mut() {
        Some(last) => {
            last.end_line = number;
            last.raw.push('\n');
            last.raw.push_str(line);
            last.message.push('\n');
            last.message.push_str(line.trim_end());
        }
        None => out.push(plain_entry(line, number)),
    }
}

fn plain_entry(line: &str, number: u32) -> LogEntry {
    LogEntry {
        line: number,
        end_line: number,
        timestamp: None,
        level: level_word().find(line).map(|m| canonical_level(m.as_str())),
        component: None,
        host: None,
        pid: None,
        message: line.trim_end().to_string(),
        raw: line.to_string(),
    }
}

fn plain_entries(lines: &[&str]) -> Vec<LogEntry> {
    let mut out: Vec<LogEntry> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let number = i as u32 + 1;
        let continuation = line.starts_with([' ', '\t'])
            || line.starts_with("Caused by")
            || line.starts_with("...");
        if continuation && !out.is_empty() {
            continue_or_start(&mut out, line, number);
        } else if !line.trim().is_empty() {
            out.push(plain_entry(line, number));
        }
    }
    out
}

#[cfg(test)]
mod tests;
