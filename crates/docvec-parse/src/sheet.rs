//! Workbooks through calamine: XLSX, XLSM, XLSB, XLS and ODS, every sheet. Dates become ISO 8601 (the
//! 1904 date system included); rows above a sheet's header (titles) and below its table (notes) are kept
//! as text. Zip-based files are checked against a decompressed-size limit before they are opened, so a
//! zip bomb is refused instead of exhausting memory.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

use docvec_types::{Block, BlockKind, ColumnType, Format, ParsedDocument, Section, Table};

use crate::csv::{table_section, value_type, widen};
use crate::{ParseError, ParseOptions};

pub(crate) fn parse(bytes: &[u8], options: &ParseOptions) -> Result<ParsedDocument, ParseError> {
    let corrupt = |cause: String| ParseError::Corrupt {
        format: Format::Spreadsheet,
        cause,
    };
    if bytes.starts_with(b"PK") {
        check_zip_size(bytes, options.max_decompressed_bytes)?;
    }
    let mut book =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| corrupt(e.to_string()))?;
    let mut doc = ParsedDocument::new(Format::Spreadsheet);
    let names = book.sheet_names();
    doc.metadata.insert("sheets".into(), names.len().into());
    let mut repaired = None;
    for name in names {
        let range = match book.worksheet_range(&name) {
            Ok(r) => r,
            // Some writers (R's writexl, here readxl's own sample) pad numbers: `<v> 41</v>`. Excel
            // reads them; calamine refuses, so the sheet is read again from a copy with them trimmed.
            Err(e) if bytes.starts_with(b"PK") && e.to_string().contains("float") => {
                if repaired.is_none() {
                    repaired = Some(trim_padded_values(bytes).and_then(|b| {
                        open_workbook_auto_from_rs(Cursor::new(b)).map_err(|e| e.to_string())
                    }));
                }
                match repaired.as_mut().map(|r| r.as_mut()) {
                    Some(Ok(fixed)) => match fixed.worksheet_range(&name) {
                        Ok(r) => r,
                        Err(e) => {
                            doc.warnings.push(format!("sheet {name}: {e}"));
                            continue;
                        }
                    },
                    _ => {
                        doc.warnings.push(format!("sheet {name}: {e}"));
                        continue;
                    }
                }
            }
            Err(e) => {
                doc.warnings.push(format!("sheet {name}: {e}"));
                continue;
            }
        };
        let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
        let cells: Vec<Vec<(String, ColumnType)>> = range
            .rows()
            .take(options.max_table_rows)
            .map(|row| row.iter().map(cell).collect())
            .collect();
        if range.height() > options.max_table_rows {
            doc.warnings.push(format!(
                "sheet {name}: only the first {} rows were read (raise max_table_rows)",
                options.max_table_rows
            ));
        }
        if let Some((table, notes)) = sheet_table(&name, first_row, &cells) {
            if !notes.is_empty() {
                let mut s = Section::untitled();
                s.heading = Some(name.clone());
                s.level = 1;
                s.heading_path = vec![name.clone()];
                s.blocks.push(Block {
                    text: notes,
                    kind: BlockKind::Paragraph,
                    page: None,
                    origin: Default::default(),
                });
                doc.sections.push(s);
            }
            doc.sections
                .push(table_section(&table, doc.tables.len() as u32, Some(&name)));
            doc.tables.push(table);
        }
    }
    if doc.tables.is_empty() && doc.warnings.is_empty() {
        return Err(ParseError::NoText("every sheet is empty".into()));
    }
    Ok(doc)
}

/// The table of one sheet and its surrounding text. The header is the first row filled at least half as
/// much as the fullest row; the table runs to the last non-empty row below it.
fn sheet_table(
    name: &str,
    first_row: u32,
    cells: &[Vec<(String, ColumnType)>],
) -> Option<(Table, String)> {
    let filled = |r: &[(String, ColumnType)]| r.iter().filter(|(v, _)| !v.is_empty()).count();
    let most = cells.iter().map(|r| filled(r)).max().filter(|&m| m > 0)?;
    let candidates: Vec<usize> = (0..cells.len())
        .filter(|&i| filled(&cells[i]) * 2 >= most && filled(&cells[i]) >= most.min(2))
        .collect();
    // The header is the first such row of names (text only) above a row holding typed values (numbers,
    // dates, booleans): titles and notes above a table are text too, but the rows under them are not
    // data. Tables of text only fall back to the first well-filled row.
    let names_only = |r: &[(String, ColumnType)]| {
        r.iter()
            .all(|(v, t)| v.is_empty() || *t == ColumnType::Text)
    };
    let typed = |r: &[(String, ColumnType)]| {
        r.iter()
            .any(|(_, t)| !matches!(t, ColumnType::Text | ColumnType::Empty))
    };
    let header_at = candidates
        .iter()
        .copied()
        .find(|&i| {
            names_only(&cells[i])
                && cells[i + 1..]
                    .iter()
                    .find(|r| filled(r) > 0)
                    .is_some_and(|r| typed(r))
        })
        .or_else(|| candidates.first().copied())?;
    // The table ends at the last row filled more than half as much as the header; sparser rows below
    // (footnotes, sources) are notes. Sparse rows inside the table stay rows.
    let need = filled(&cells[header_at]) / 2;
    let last = cells
        .iter()
        .rposition(|r| filled(r) > need)
        .unwrap_or(header_at)
        .max(header_at);
    let width = cells[header_at..=last]
        .iter()
        .map(|r| {
            r.iter()
                .rposition(|(v, _)| !v.is_empty())
                .map_or(0, |i| i + 1)
        })
        .max()?;
    let header: Vec<String> = (0..width)
        .map(|i| {
            cells[header_at]
                .get(i)
                .map(|(v, _)| v.clone())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| format!("column {}", i + 1))
        })
        .collect();
    let mut rows = Vec::new();
    let mut source_rows = Vec::new();
    let mut types = vec![ColumnType::Empty; width];
    for (i, r) in cells.iter().enumerate().take(last + 1).skip(header_at + 1) {
        if filled(r) == 0 {
            continue;
        }
        source_rows.push(first_row + i as u32 + 1);
        let mut row = Vec::with_capacity(width);
        for (i, t) in types.iter_mut().enumerate() {
            let (v, ty) = r
                .get(i)
                .cloned()
                .unwrap_or((String::new(), ColumnType::Empty));
            *t = widen(*t, ty);
            row.push(v);
        }
        rows.push(row);
    }
    let text_of = |rs: &[Vec<(String, ColumnType)>]| {
        rs.iter()
            .map(|r| {
                r.iter()
                    .map(|(v, _)| v.as_str())
                    .filter(|v| !v.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let notes = [text_of(&cells[..header_at]), text_of(&cells[last + 1..])]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let table = Table {
        name: Some(name.to_string()),
        header,
        rows,
        column_types: types,
        header_row: first_row + header_at as u32 + 1,
        source_rows,
        delimiter: None,
    };
    Some((table, notes))
}

/// A cell as text, with the type its value has.
fn cell(c: &Data) -> (String, ColumnType) {
    match c {
        Data::Empty => (String::new(), ColumnType::Empty),
        Data::Int(i) => (i.to_string(), ColumnType::Integer),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
            (format!("{}", *f as i64), ColumnType::Integer)
        }
        Data::Float(f) => (f.to_string(), ColumnType::Float),
        Data::Bool(b) => (b.to_string(), ColumnType::Boolean),
        Data::String(s) => {
            let s = s.trim().to_string();
            let t = value_type(&s);
            (s, t)
        }
        Data::DateTime(d) if d.is_duration() => (format!("{}", d.as_f64()), ColumnType::Float),
        Data::DateTime(d) => {
            let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
            let text = if (h, mi, s, ms) == (0, 0, 0, 0) {
                format!("{y:04}-{mo:02}-{da:02}")
            } else if ms == 0 {
                format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}")
            } else {
                format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}.{ms:03}")
            };
            (text, ColumnType::Date)
        }
        Data::DateTimeIso(s) => (s.clone(), ColumnType::Date),
        Data::DurationIso(s) => (s.clone(), ColumnType::Text),
        Data::Error(e) => (format!("#{e:?}"), ColumnType::Text),
    }
}

/// A copy of an XLSX whose worksheet values have no padding around them (`<v> 41</v>` becomes
/// `<v>41</v>`). Only called after the size check, so the inflated sheets are bounded.
fn trim_padded_values(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let padded = regex::Regex::new(r"<v>\s+|\s+</v>").map_err(|e| e.to_string())?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().map_err(|e| e.to_string())?.to_string();
        if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            let mut xml = String::new();
            entry.read_to_string(&mut xml).map_err(|e| e.to_string())?;
            let fixed =
                padded.replace_all(
                    &xml,
                    |c: &regex::Captures| {
                        if c[0].starts_with('<') { "<v>" } else { "</v>" }
                    },
                );
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            out.start_file(name, options).map_err(|e| e.to_string())?;
            out.write_all(fixed.as_bytes()).map_err(|e| e.to_string())?;
        } else {
            drop(entry);
            let raw = zip.by_index_raw(i).map_err(|e| e.to_string())?;
            out.raw_copy_file(raw).map_err(|e| e.to_string())?;
        }
    }
    Ok(out.finish().map_err(|e| e.to_string())?.into_inner())
}

/// Refuse a zip whose entries would decompress to more than `limit` bytes (sizes from the central
/// directory; entries that lie about their size are caught by the reader's own checks).
fn check_zip_size(bytes: &[u8], limit: u64) -> Result<(), ParseError> {
    let corrupt = |cause: String| ParseError::Corrupt {
        format: Format::Spreadsheet,
        cause,
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| corrupt(format!("not a readable zip container: {e}")))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| corrupt(e.to_string()))?;
        total = total.saturating_add(entry.size());
        if total > limit {
            return Err(ParseError::TooLarge { size: total, limit });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> (String, ColumnType) {
        (v.to_string(), value_type(v))
    }

    #[test]
    fn titles_and_notes_around_a_sheet_table() {
        let e = || (String::new(), ColumnType::Empty);
        let cells = vec![
            vec![s("Lots of people"), e(), e()],
            vec![e(), e(), e()],
            vec![s("Name"), s("Age"), s("Born")],
            vec![
                s("Ann"),
                (String::from("52"), ColumnType::Integer),
                (String::from("1970-01-02"), ColumnType::Date),
            ],
            vec![s("Bo"), (String::from("7.5"), ColumnType::Float), e()],
            vec![e(), e(), e()],
            vec![s("Source: a note"), e(), e()],
        ];
        let (t, notes) = sheet_table("arts", 0, &cells).unwrap();
        assert_eq!(t.header, ["Name", "Age", "Born"]);
        assert_eq!(t.header_row, 3);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.column_types,
            [ColumnType::Text, ColumnType::Float, ColumnType::Date]
        );
        assert_eq!(notes, "Lots of people\n\nSource: a note");
        assert_eq!(t.name.as_deref(), Some("arts"));
    }

    #[test]
    fn excel_cells_become_text_and_types() {
        assert_eq!(
            cell(&Data::Float(31001.0)),
            ("31001".to_string(), ColumnType::Integer)
        );
        assert_eq!(
            cell(&Data::Float(1.5)),
            ("1.5".to_string(), ColumnType::Float)
        );
        assert_eq!(cell(&Data::Bool(true)).1, ColumnType::Boolean);
        let d = calamine::ExcelDateTime::new(45943.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell(&Data::DateTime(d)).0, "2025-10-13T12:00:00");
        let d1904 = calamine::ExcelDateTime::new(0.0, calamine::ExcelDateTimeType::DateTime, true);
        assert_eq!(cell(&Data::DateTime(d1904)).0, "1904-01-01");
    }

    #[test]
    fn garbage_and_zip_bombs_are_refused() {
        assert!(parse(b"not a workbook", &ParseOptions::default()).is_err());
        // A zip whose one entry claims to inflate past the limit.
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            w.start_file(
                "xl/worksheets/sheet1.xml",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            std::io::Write::write_all(&mut w, &vec![b'a'; 4096]).unwrap();
            w.finish().unwrap();
        }
        let opts = ParseOptions {
            max_decompressed_bytes: 1024,
            ..Default::default()
        };
        assert!(matches!(
            parse(buf.get_ref(), &opts),
            Err(ParseError::TooLarge { .. })
        ));
    }
}
