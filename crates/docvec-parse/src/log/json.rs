//! JSON-lines logs (one JSON object per line: bunyan, pino, logstash/ECS, Rust tracing, Go slog ...).
//! Well-known keys give the fields; the message falls back to the whole line. A line that is not a
//! JSON object is kept as an entry of its own, with a warning.

use serde_json::{Map, Value};

use docvec_types::LogEntry;

use super::formats::canonical_level;

const TIME_KEYS: &[&str] = &[
    "timestamp",
    "@timestamp",
    "time",
    "ts",
    "datetime",
    "date",
    "t",
];
const LEVEL_KEYS: &[&str] = &[
    "level",
    "severity",
    "lvl",
    "loglevel",
    "log.level",
    "levelname",
    "severity_text",
];
const COMPONENT_KEYS: &[&str] = &[
    "logger",
    "logger_name",
    "log.logger",
    "component",
    "module",
    "target",
    "source",
    "name",
];
const MESSAGE_KEYS: &[&str] = &["message", "msg", "text", "event", "log"];
const HOST_KEYS: &[&str] = &["host", "hostname", "host.name"];
const PID_KEYS: &[&str] = &["pid", "thread", "thread_name", "process.pid"];

/// Whether the file reads as JSON lines: its first non-empty line is a JSON object.
pub(super) fn looks_like_json_lines(lines: &[&str]) -> bool {
    lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| {
            l.trim_start().starts_with('{')
                && serde_json::from_str::<Map<String, Value>>(l.trim()).is_ok()
        })
}

pub(super) fn entries(lines: &[&str], warnings: &mut Vec<String>) -> Vec<LogEntry> {
    let mut out = Vec::new();
    let mut bad = 0usize;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = i as u32 + 1;
        let object = match serde_json::from_str::<Map<String, Value>>(line.trim()) {
            Ok(o) => o,
            Err(_) => {
                bad += 1;
                out.push(LogEntry {
                    line: number,
                    end_line: number,
                    timestamp: None,
                    level: None,
                    component: None,
                    host: None,
                    pid: None,
                    message: line.trim_end().to_string(),
                    raw: line.to_string(),
                });
                continue;
            }
        };
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| lookup(&object, k))
                .and_then(scalar_text)
        };
        out.push(LogEntry {
            line: number,
            end_line: number,
            timestamp: TIME_KEYS
                .iter()
                .find_map(|k| lookup(&object, k))
                .and_then(timestamp),
            level: LEVEL_KEYS
                .iter()
                .find_map(|k| lookup(&object, k))
                .and_then(level),
            component: text(COMPONENT_KEYS),
            host: text(HOST_KEYS),
            pid: text(PID_KEYS),
            message: text(MESSAGE_KEYS).unwrap_or_else(|| line.trim().to_string()),
            raw: line.to_string(),
        });
    }
    if bad > 0 {
        warnings.push(format!(
            "{bad} lines are not JSON objects; kept as plain entries"
        ));
    }
    out
}

/// A key as written (`log.level`), or as a path through nested objects (`{"log": {"level": ..}}`).
fn lookup<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).or_else(|| {
        let (head, rest) = key.split_once('.')?;
        lookup(o.get(head)?.as_object()?, rest)
    })
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Numeric levels are bunyan/pino's (10 trace ... 60 fatal); words are mapped to canonical names.
fn level(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(
            match n.as_i64()? {
                ..=10 => "TRACE",
                11..=20 => "DEBUG",
                21..=30 => "INFO",
                31..=40 => "WARN",
                41..=50 => "ERROR",
                _ => "FATAL",
            }
            .to_string(),
        ),
        other => scalar_text(other).map(|s| canonical_level(&s)),
    }
}

/// ISO strings are kept (a space before the time becomes `T`); epoch numbers (seconds, or
/// milliseconds when large) become UTC.
fn timestamp(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => timestamp_text(s),
        Value::Number(n) => epoch_number(n.as_f64()?),
        _ => None,
    }
}

/// A timestamp written as text: ISO 8601 kept as it is (a space before the time becomes `T`), digits
/// read as an epoch number.
pub(super) fn timestamp_text(s: &str) -> Option<String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch_number(s.parse().ok()?);
    }
    let iso = s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    iso.then(|| {
        if s.as_bytes().get(10) == Some(&b' ') {
            s.replacen(' ', "T", 1)
        } else {
            s.to_string()
        }
    })
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds, as UTC.
fn epoch_number(secs: f64) -> Option<String> {
    if !secs.is_finite() || secs.abs() > 1e15 {
        return None;
    }
    let (secs, millis) = if secs > 1e11 {
        ((secs / 1000.0).floor(), (secs % 1000.0) as u32)
    } else {
        (secs.floor(), ((secs.fract()) * 1000.0) as u32)
    };
    Some(epoch_to_iso(secs as i64, millis))
}

/// Unix seconds to `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, Howard Hinnant's algorithm).
pub(super) fn epoch_to_iso(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_shapes() {
        let lines = [
            r#"{"time": 1700000000123, "level": 50, "name": "api", "hostname": "web1", "pid": 7, "msg": "db down"}"#,
            r#"{"@timestamp": "2024-03-01 12:00:03.5", "log": {"level": "warning", "logger": "app.db"}, "message": "slow query"}"#,
            r#"{"ts": 1700000000.25, "severity": "I", "event": "started"}"#,
            "not json at all",
        ];
        let mut warnings = Vec::new();
        let e = entries(&lines, &mut warnings);
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].timestamp.as_deref(), Some("2023-11-14T22:13:20.123Z"));
        assert_eq!(
            (
                e[0].level.as_deref(),
                e[0].component.as_deref(),
                e[0].host.as_deref(),
                e[0].pid.as_deref()
            ),
            (Some("ERROR"), Some("api"), Some("web1"), Some("7"))
        );
        assert_eq!(e[0].message, "db down");
        assert_eq!(e[1].timestamp.as_deref(), Some("2024-03-01T12:00:03.5"));
        assert_eq!(
            (e[1].level.as_deref(), e[1].component.as_deref()),
            (Some("WARN"), Some("app.db"))
        );
        assert_eq!(e[2].timestamp.as_deref(), Some("2023-11-14T22:13:20.250Z"));
        assert_eq!(
            (e[2].level.as_deref(), e[2].message.as_str()),
            (Some("INFO"), "started")
        );
        assert_eq!(
            (e[3].message.as_str(), e[3].level.as_ref()),
            ("not json at all", None)
        );
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn epoch_conversion() {
        assert_eq!(epoch_to_iso(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(epoch_to_iso(951_782_400, 0), "2000-02-29T00:00:00.000Z");
        assert_eq!(epoch_to_iso(-86_400, 5), "1969-12-31T00:00:00.005Z");
    }
}
