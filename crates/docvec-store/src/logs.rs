//! Structured rows of log files: `log_entries`.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use docvec_types::LogEntry;

use crate::{Store, StoreError};

/// Which log entries to list; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Canonical level (any case): TRACE DEBUG INFO NOTICE WARN ERROR FATAL.
    pub level: Option<String>,
    /// ISO 8601 bounds, inclusive; entries without a timestamp never match a bound.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Component equal to this, or starting with it followed by `.` or `$` (a package and its classes).
    pub component: Option<String>,
    /// Text the message contains (case-insensitive for ASCII).
    pub grep: Option<String>,
    /// Document id or path.
    pub document: Option<String>,
    pub limit: Option<i64>,
    /// Rows skipped before the first one returned (with `limit`, for paging).
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogRow {
    pub document_id: String,
    pub document_path: String,
    #[serde(flatten)]
    pub entry: LogEntry,
}

pub(crate) async fn insert_log_entries(
    tx: &mut sqlx::SqliteConnection,
    document_id: &str,
    entries: &[LogEntry],
) -> Result<(), StoreError> {
    for (ordinal, e) in entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO log_entries (document_id, ordinal, line, end_line, ts, level, component, host, pid, message, raw)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(document_id)
        .bind(ordinal as i64)
        .bind(e.line as i64)
        .bind(e.end_line as i64)
        .bind(&e.timestamp)
        .bind(&e.level)
        .bind(&e.component)
        .bind(&e.host)
        .bind(&e.pid)
        .bind(&e.message)
        .bind(&e.raw)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Entries (first and last ordinal) each chunk of a log holds, found by where each entry's first line
/// stands in the chunk texts. Entries and chunks follow the file's order, so one forward walk does it. A
/// chunk holding only the tail of a long entry (a stack trace) belongs to that entry.
pub(crate) fn chunk_log_spans<'a>(
    chunks: impl Iterator<Item = &'a str>,
    entries: &[LogEntry],
) -> Vec<Option<(usize, usize)>> {
    /// Entries looked at past one that cannot be found (its text was reshaped by the parser).
    const LOOKAHEAD: usize = 64;
    let key = |e: &LogEntry| -> String {
        let first = e.raw.lines().next().unwrap_or("").trim();
        let first = if first.is_empty() {
            e.message.trim()
        } else {
            first
        };
        first.chars().take(80).collect()
    };
    let mut next = 0;
    chunks
        .map(|text| {
            if entries.is_empty() {
                return None;
            }
            let mut span: Option<(usize, usize)> = None;
            let mut probe = next;
            while probe < entries.len() && probe < next + LOOKAHEAD {
                if text.contains(key(&entries[probe]).as_str()) {
                    span = Some((span.map_or(probe, |s| s.0), probe));
                    next = probe + 1;
                    probe = next;
                } else if span.is_some() {
                    break;
                } else {
                    probe += 1;
                }
            }
            span.or_else(|| next.checked_sub(1).map(|p| (p, p)))
        })
        .collect()
}

/// Check a time bound of a log filter: an ISO 8601 date or date-time as the stored timestamps are
/// written (`2024-05-01`, `2024-05-01T10:00`, `2024-05-01T10:00:00.5Z`, `...+02:00`); a prefix is a
/// coarser bound. Bounds are compared as text, so anything else would match by accident (`'` sorts
/// before every digit) instead of failing.
pub fn check_time_bound(value: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "`{value}` is not an ISO 8601 date or time (like 2024-05-01 or 2024-05-01T10:00:00Z)"
        )
    };
    let (main, zone) = match value.find(['Z', '+']).or_else(|| {
        // A `-` after the time part starts an offset; the date's own dashes come before any `T`.
        let t = value.find('T')?;
        value[t..].find('-').map(|i| t + i)
    }) {
        Some(i) => value.split_at(i),
        None => (value, ""),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = match main.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (main, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let date_ok = match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m] => digits(y, 4) && digits(m, 2),
        [y, m, d] => digits(y, 4) && digits(m, 2) && digits(d, 2),
        _ => false,
    };
    if !date_ok || (time.is_some() && parts.len() != 3) {
        return Err(bad());
    }
    if let Some(time) = time {
        let (hms, fraction) = match time.split_once('.') {
            Some((h, f)) => (h, Some(f)),
            None => (time, None),
        };
        let fields: Vec<&str> = hms.split(':').collect();
        let ok = !fields.is_empty()
            && fields.len() <= 3
            && fields.iter().all(|f| digits(f, 2))
            && fraction.is_none_or(|f| {
                fields.len() == 3 && !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())
            });
        if !ok {
            return Err(bad());
        }
    }
    let zone_ok = match zone.as_bytes() {
        [] => true,
        [b'Z'] => time.is_some(),
        [b'+' | b'-', rest @ ..] => {
            time.is_some() && {
                let rest = std::str::from_utf8(rest).unwrap_or("");
                matches!(rest.split_once(':'), Some((h, m)) if digits(h, 2) && digits(m, 2))
            }
        }
        _ => false,
    };
    if zone_ok { Ok(()) } else { Err(bad()) }
}

/// The upper bound an inclusive `until` compares below: `until` followed by a character above every
/// one an ISO 8601 timestamp holds, so a bound that names a day, a month or a minute
/// (`2008-11-09`, `2008-11`, `2008-11-09T10:00`) takes in all of it, as a user means it. Every surface
/// (CLI, HTTP, search filters) reads `until` through here, so it means the same everywhere.
pub(crate) fn until_inclusive(until: &str) -> String {
    format!("{until}~")
}

/// `AND` the level and inclusive ISO 8601 time bounds of entries `l`, where set.
pub(crate) fn push_entry_bounds(
    q: &mut QueryBuilder<Sqlite>,
    level: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) {
    if let Some(level) = level {
        q.push(" AND l.level = ")
            .push_bind(level.to_ascii_uppercase());
    }
    if let Some(since) = since {
        q.push(" AND l.ts >= ").push_bind(since.to_string());
    }
    if let Some(until) = until {
        q.push(" AND l.ts < ").push_bind(until_inclusive(until));
    }
}

impl Store {
    /// Log entries matching `filter`, by timestamp (entries without one last), then file and line.
    pub async fn log_entries(&self, filter: &LogFilter) -> Result<Vec<LogRow>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT l.*, d.path AS document_path FROM log_entries l JOIN documents d ON d.id = l.document_id WHERE 1 = 1",
        );
        push_entry_bounds(
            &mut q,
            filter.level.as_deref(),
            filter.since.as_deref(),
            filter.until.as_deref(),
        );
        if let Some(c) = &filter.component {
            q.push(" AND (l.component = ").push_bind(c.clone());
            for sep in [".", "$"] {
                q.push(" OR substr(l.component, 1, length(")
                    .push_bind(c.clone())
                    .push(") + 1) = ")
                    .push_bind(format!("{c}{sep}"));
            }
            q.push(")");
        }
        if let Some(g) = &filter.grep {
            q.push(" AND instr(lower(l.message), lower(")
                .push_bind(g.clone())
                .push(")) > 0");
        }
        crate::filter::push_document(&mut q, filter.document.as_deref());
        q.push(" ORDER BY l.ts IS NULL, l.ts, d.path, l.line");
        if let Some(limit) = filter.limit {
            q.push(" LIMIT ").push_bind(limit);
            if let Some(offset) = filter.offset {
                q.push(" OFFSET ").push_bind(offset.max(0));
            }
        }
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(LogRow {
                    document_id: r.try_get("document_id")?,
                    document_path: r.try_get("document_path")?,
                    entry: LogEntry {
                        line: r.try_get::<i64, _>("line")? as u32,
                        end_line: r.try_get::<i64, _>("end_line")? as u32,
                        timestamp: r.try_get("ts")?,
                        level: r.try_get("level")?,
                        component: r.try_get("component")?,
                        host: r.try_get("host")?,
                        pid: r.try_get("pid")?,
                        message: r.try_get("message")?,
                        raw: r.try_get("raw")?,
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::check_time_bound;

    #[test]
    fn time_bounds_are_iso_8601_or_refused() {
        for ok in [
            "2024",
            "2024-05",
            "2024-05-01",
            "2024-05-01T10",
            "2024-05-01T10:00",
            "2024-05-01T10:00:00",
            "2024-05-01T10:00:00.123",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T10:00-05:30",
        ] {
            assert!(check_time_bound(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "'; DROP TABLE documents; --",
            "yesterday",
            "2024-5-1",
            "2024-05-01 10:00",
            "2024-05-01T",
            "2024-05-01T10:00:00.",
            "2024-05-01T10:00:00+0200",
            "2024-05-01Z",
            "2024-05-01T10:00:00Zjunk",
            "20240501",
        ] {
            let err = check_time_bound(bad).unwrap_err();
            assert!(err.contains("ISO 8601"), "{bad}: {err}");
        }
    }
}
