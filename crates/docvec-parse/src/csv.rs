//! Delimited text tables. The encoding (UTF-8, UTF-16 with a BOM, else Latin-1) and the separator
//! (`,` `;` tab `|` `:`) are detected; quoted fields may hold separators, quotes and newlines. Lines
//! before the header (titles, notes) and after the table (footnotes) are kept as text: the header is the
//! first record with the table's usual field count. Each row is rendered with its headers
//! ("State: AL; Population: 7610") so a question about a value finds its row.

use std::collections::HashMap;

use docvec_types::{Block, BlockKind, ColumnType, Format, Origin, ParsedDocument, Section, Table};

use crate::ParseError;

const DELIMITERS: &[u8] = b",;\t|:";
/// Records read to choose the separator.
const SNIFF_RECORDS: usize = 100;

pub(crate) fn parse(bytes: &[u8], max_rows: usize) -> Result<ParsedDocument, ParseError> {
    let text = crate::decode_text(bytes, Format::Csv)?;
    let delimiter = detect_delimiter(&text);
    let (records, record_lines, record_bytes) = read_records(&text, delimiter, max_rows)?;
    let Some(width) = modal_width(records.iter().map(Vec::len)) else {
        return Err(ParseError::NoText("the file holds no records".into()));
    };
    let first = records.iter().position(|r| r.len() == width).unwrap_or(0);
    let numeric = |r: &[String]| {
        r.iter()
            .any(|c| matches!(value_type(c), ColumnType::Integer | ColumnType::Float))
    };
    let names =
        |r: &[String]| r.iter().filter(|c| !c.trim().is_empty()).count() >= 2 && !numeric(r);
    // A header one field short of its rows (the rows end in a trailing separator, the header does not)
    // stands right above the first full-width record, which then holds numbers where it holds names.
    let header_at = match first.checked_sub(1) {
        Some(above)
            if records[above].len() < width
                && names(&records[above])
                && numeric(&records[first]) =>
        {
            above
        }
        _ => first,
    };
    let header: Vec<String> = records[header_at]
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if h.trim().is_empty() {
                format!("column {}", i + 1)
            } else {
                h.trim().to_string()
            }
        })
        .chain((records[header_at].len()..width).map(|i| format!("column {}", i + 1)))
        .collect();
    // The table runs to the last record of its width; shorter records after it are footnotes.
    let last = records
        .iter()
        .rposition(|r| r.len() == width)
        .unwrap_or(header_at);
    let mut rows = Vec::new();
    let mut source_rows = Vec::new();
    let mut row_bytes = Vec::new();
    for (i, r) in records
        .iter()
        .enumerate()
        .take(last + 1)
        .skip(header_at + 1)
    {
        if r.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut row: Vec<String> = r.iter().map(|c| c.trim().to_string()).collect();
        row.resize(width, String::new());
        rows.push(row);
        source_rows.push(record_lines[i]);
        row_bytes.push(record_bytes[i]);
    }

    let mut doc = ParsedDocument::new(Format::Csv);
    let notes = |rs: &[Vec<String>]| {
        rs.iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.trim())
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let preamble = notes(&records[..header_at]);
    let footer = notes(&records[last + 1..]);
    if !preamble.is_empty() {
        doc.title = preamble.lines().next().map(str::to_string);
    }
    // The notes' bytes run from their first record to their last.
    let bytes_of = |range: std::ops::Range<usize>| {
        let (first, last) = (
            record_bytes.get(range.start)?,
            record_bytes.get(range.end - 1)?,
        );
        Some((first.0, last.1))
    };
    let mut intro = Section::untitled();
    for (text, range) in [(preamble, 0..header_at), (footer, last + 1..records.len())] {
        if text.is_empty() {
            continue;
        }
        intro.blocks.push(Block {
            text,
            kind: BlockKind::Paragraph,
            page: None,
            origin: Origin {
                bytes: bytes_of(range),
                ..Origin::default()
            },
        });
    }
    if !intro.blocks.is_empty() {
        doc.sections.push(intro);
    }
    let table = Table {
        name: None,
        column_types: column_types(&rows, width),
        header,
        rows,
        header_row: header_at as u32 + 1,
        source_rows,
        delimiter: Some(delimiter as char),
    };
    let mut section = table_section(&table, 0, None);
    for block in &mut section.blocks {
        if let Some((_, row)) = block.origin.row {
            block.origin.bytes = row_bytes.get(row as usize).copied();
        }
    }
    doc.sections.push(section);
    doc.metadata.insert("rows".into(), table.rows.len().into());
    doc.metadata.insert("columns".into(), width.into());
    if records.len() >= max_rows {
        doc.warnings.push(format!(
            "only the first {max_rows} records were read (raise max_table_rows)"
        ));
    }
    doc.tables.push(table);
    doc.text = Some(text);
    Ok(doc)
}

/// A section holding one block per row, each row rendered with its headers; `index` is the table's
/// place in the document, for each block's origin.
pub(crate) fn table_section(table: &Table, index: u32, heading: Option<&str>) -> Section {
    let mut section = Section::untitled();
    if let Some(h) = heading {
        section.heading = Some(h.to_string());
        section.level = 1;
        section.heading_path = vec![h.to_string()];
    }
    section.blocks = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let cells: Vec<String> = table
                .header
                .iter()
                .zip(row)
                .filter(|(_, v)| !v.is_empty())
                .map(|(h, v)| format!("{h}: {v}"))
                .collect();
            Block {
                text: cells.join("; "),
                kind: BlockKind::Table,
                page: None,
                origin: Origin {
                    row: Some((index, i as u32)),
                    ..Origin::default()
                },
            }
        })
        .filter(|b| !b.text.is_empty())
        .collect();
    section
}

/// The separator that splits the first records most consistently into the same number (more than
/// one) of fields; ties go to the wider split, then to the earlier candidate (comma first).
fn detect_delimiter(text: &str) -> u8 {
    let mut best = (b',', 0.0f64, 0usize);
    for &d in DELIMITERS {
        let widths: Vec<usize> = reader(text, d)
            .records()
            .take(SNIFF_RECORDS)
            .filter_map(Result::ok)
            .map(|r| r.len())
            .collect();
        let Some(width) = modal_width(widths.iter().copied()) else {
            continue;
        };
        // Share of all records with the modal width, to two decimals so that noise in a preamble does
        // not outweigh a wider table.
        let records = widths.len().max(1);
        let agreeing = widths.iter().filter(|&&w| w == width).count();
        let consistency = (agreeing as f64 / records as f64 * 100.0).round() / 100.0;
        if (consistency, width) > (best.1, best.2) {
            best = (d, consistency, width);
        }
    }
    best.0
}

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
}

/// The records of the file with the 1-based line each starts on.
/// The largest cell read; a larger one makes the file unreadable as a table.
const MAX_CELL_BYTES: usize = 1 << 20;

fn read_records(text: &str, delimiter: u8, max_rows: usize) -> Result<Records, ParseError> {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    let mut starts = Vec::new();
    // The reader's own line count skips blank lines; counting newlines before the record's byte
    // offset gives the line an editor shows.
    let (mut line, mut counted) = (1u32, 0usize);
    for record in reader(text, delimiter).records().take(max_rows) {
        let record = record.map_err(|e| ParseError::Corrupt {
            format: Format::Csv,
            cause: e.to_string(),
        })?;
        let mut byte = record.position().map_or(counted, |p| p.byte() as usize);
        // The position is where the reader resumed, before any blank lines it then skipped.
        while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        if byte > counted {
            line += bytecount(&text.as_bytes()[counted..byte.min(text.len())]);
            counted = byte.min(text.len());
        }
        if let Some(cell) = record.iter().find(|c| c.len() > MAX_CELL_BYTES) {
            // A cell this size is not table data (a runaway quote or a dump): refusing it bounds
            // the memory the tokenizer and the extractors would spend on one string.
            return Err(ParseError::Corrupt {
                format: Format::Csv,
                cause: format!(
                    "line {line} holds a cell of {} bytes, over the {MAX_CELL_BYTES}-byte limit for one cell",
                    cell.len()
                ),
            });
        }
        lines.push(line);
        starts.push(byte.min(text.len()));
        out.push(record.iter().map(str::to_string).collect());
    }
    // A record ends where the next begins, less the line break (and any blank lines) between them.
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    let bytes = starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| {
            (
                start,
                start.max(text[..end].trim_end_matches(['\n', '\r']).len()),
            )
        })
        .collect();
    Ok((out, lines, bytes))
}

/// Records, the 1-based line each starts on, and the byte range each takes in the text.
type Records = (Vec<Vec<String>>, Vec<u32>, Vec<(usize, usize)>);

fn bytecount(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u32
}

/// The most common field count among records with more than one field (ties: the wider).
fn modal_width(widths: impl Iterator<Item = usize>) -> Option<usize> {
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for w in widths.filter(|&w| w > 1) {
        *counts.entry(w).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(w, n)| (n, w))
        .map(|(w, _)| w)
}

fn column_types(rows: &[Vec<String>], width: usize) -> Vec<ColumnType> {
    (0..width)
        .map(|c| {
            let mut t = ColumnType::Empty;
            for v in rows.iter().map(|r| r[c].as_str()).filter(|v| !v.is_empty()) {
                t = widen(t, value_type(v));
                if t == ColumnType::Text {
                    break;
                }
            }
            t
        })
        .collect()
}

pub(crate) fn widen(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::*;
    match (a, b) {
        (Empty, x) | (x, Empty) => x,
        (x, y) if x == y => x,
        (Integer, Float) | (Float, Integer) => Float,
        _ => Text,
    }
}

pub(crate) fn value_type(v: &str) -> ColumnType {
    let v = v.trim();
    // Thousands separators as in "6,718" still make a number.
    let plain = v.replace(',', "");
    let digits = v.trim_start_matches(['-', '+']);
    if digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit() {
        // "01", "007": codes (FIPS, ZIP), not numbers.
        return ColumnType::Text;
    }
    if plain.parse::<i64>().is_ok() {
        ColumnType::Integer
    } else if plain.parse::<f64>().is_ok()
        && plain.chars().any(|c| c.is_ascii_digit())
        && !plain.eq_ignore_ascii_case("nan")
        && !plain.to_ascii_lowercase().contains("inf")
    {
        ColumnType::Float
    } else if ["true", "false", "yes", "no"].contains(&v.to_ascii_lowercase().as_str()) {
        ColumnType::Boolean
    } else if is_date(v) {
        ColumnType::Date
    } else {
        ColumnType::Text
    }
}

/// ISO dates (2017-07-26, with an optional time) and US dates (5/19/2006, with an optional time).
fn is_date(v: &str) -> bool {
    let date = v.split([' ', 'T']).next().unwrap_or_default();
    let parts: Vec<&str> = date.split(['-', '/']).collect();
    if parts.len() != 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    let n: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    let (y, m, d) = if parts[0].len() == 4 {
        (n[0], n[1], n[2])
    } else {
        (n[2], n[0], n[1])
    };
    (1..=12).contains(&m) && (1..=31).contains(&d) && (1000..=9999).contains(&y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &[u8]) -> (ParsedDocument, Table) {
        let doc = parse(text, 1_000_000).unwrap();
        let t = doc.tables[0].clone();
        (doc, t)
    }

    #[test]
    fn separators_quotes_and_types() {
        let (_, t) = table(b"name;qty;price;when;ok\n\"Smith; J\";3;1.5;2024-01-02;yes\n\"multi\nline\";10;2;2024-02-03;no\n");
        assert_eq!(t.delimiter, Some(';'));
        assert_eq!(t.header, ["name", "qty", "price", "when", "ok"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0][0], "Smith; J");
        assert_eq!(t.rows[1][0], "multi\nline");
        let (doc, _) = table(b"name;qty;price;when;ok\n\"Smith; J\";3;1.5;2024-01-02;yes\n\"multi\nline\";10;2;2024-02-03;no\n");
        let text = doc.text.as_deref().unwrap();
        let rows: Vec<(&str, Option<(u32, u32)>)> = doc.sections[0]
            .blocks
            .iter()
            .map(|b| (b.origin.bytes.unwrap(), b.origin.row))
            .map(|((s, e), row)| (&text[s..e], row))
            .collect();
        assert_eq!(
            rows,
            [
                ("\"Smith; J\";3;1.5;2024-01-02;yes", Some((0, 0))),
                ("\"multi\nline\";10;2;2024-02-03;no", Some((0, 1)))
            ]
        );
        use ColumnType::*;
        assert_eq!(t.column_types, [Text, Integer, Float, Date, Boolean]);
        let (_, t) = table(b"a\tb\n1\tx\n2\ty\n");
        assert_eq!((t.delimiter, t.rows.len()), (Some('\t'), 2));
    }

    #[test]
    fn preamble_and_footnotes_are_text_not_rows() {
        let csv = b"Bureau of Statistics\n\n\"Counting, persons\"\nRegion,Code,Count\nNorth,1,3499,\nSouth,2,12,\n\n\"INFO\",\"Cells were adjusted\"\n(c) 2017\n";
        let (doc, t) = table(csv);
        assert_eq!(
            t.header,
            ["Region", "Code", "Count", "column 4"],
            "a header one field short of its rows"
        );
        assert_eq!(t.header_row, 3);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(doc.title.as_deref(), Some("Bureau of Statistics"));
        let intro: Vec<_> = doc.sections[0]
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(
            intro,
            [
                "Bureau of Statistics\nCounting, persons",
                "INFO Cells were adjusted\n(c) 2017"
            ]
        );
        assert_eq!(
            doc.sections[1].blocks[0].text,
            "Region: North; Code: 1; Count: 3499"
        );
    }

    #[test]
    fn latin1_and_numbers_with_thousands_separators() {
        let (_, t) = table(b"Ort;Stra\xdfe\nWien;Testgasse 1\nGraz;Teststra\xdfe 3\n");
        assert_eq!(t.header[1], "Stra\u{df}e");
        assert_eq!(value_type("6,718"), ColumnType::Integer);
        assert_eq!(
            value_type("01"),
            ColumnType::Text,
            "leading zeros are codes, not numbers"
        );
        assert_eq!(value_type("5/19/2006 0:00:00"), ColumnType::Date);
        assert_eq!(value_type("nan"), ColumnType::Text);
    }

    #[test]
    fn ragged_rows_are_padded_and_empty_files_refused() {
        let (_, t) = table(b"a,b,c\n1,2,3\n4,5\n6,7,8\n");
        assert_eq!(t.rows[1], ["4", "5", ""]);
        assert!(parse(b"\n\n", 10).is_err());
    }

    #[test]
    fn a_runaway_cell_is_refused_with_its_line() {
        let mut csv = b"name,value\nok,1\n".to_vec();
        csv.extend(std::iter::repeat_n(b'x', MAX_CELL_BYTES + 1));
        csv.extend(b",2\n");
        let err = parse(&csv, 10).unwrap_err().to_string();
        assert!(
            err.contains("line 3 holds a cell of 1048577 bytes"),
            "{err}"
        );
    }
}
