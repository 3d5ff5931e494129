//! XML logs: log4j 1.x / logback `XMLLayout` (`<log4j:event>`), log4j2 `XmlLayout` (`<Event>` with
//! `<Instant>`), java.util.logging's `XMLFormatter` (`<record>`) and Windows Event Log exports (`<Event>`
//! with `<System>`). Each record element becomes one entry; its fields come from well-known attribute and
//! child names, so other record-shaped layouts (`<entry level=".." time="..">`) read as well. Entities
//! are never expanded beyond XML's five predefined ones, so an entity bomb has nothing to grow from.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use docvec_types::LogEntry;

use super::formats::canonical_level;
use super::json::{epoch_to_iso, timestamp_text};

/// Local names (lower case) of the elements that hold one log record.
const RECORD_NAMES: &[&str] = &[
    "event",
    "record",
    "entry",
    "logentry",
    "logevent",
    "log_entry",
    "logrecord",
];
/// Words that show a record element is a log record rather than some other XML.
const LOG_MARKERS: &[&str] = &[
    "level",
    "severity",
    "timestamp",
    "millis",
    "timecreated",
    "instant",
    "logger",
];

/// Whether the first bytes of a file read as an XML log: a record element with a level, time or
/// logger field appears in them.
pub(crate) fn sniff(head: &str) -> bool {
    let trimmed = head.trim_start_matches('\u{feff}').trim_start();
    if !trimmed.starts_with('<') {
        return false;
    }
    let lower = head.to_ascii_lowercase();
    RECORD_NAMES.iter().any(|r| {
        lower.contains(&format!("<{r}"))
            || lower.contains(&format!(":{r} "))
            || lower.contains(&format!(":{r}>"))
    }) && LOG_MARKERS.iter().any(|m| lower.contains(m))
}

/// One record's fields: (path below the record, value). Attributes are `@name` on the record itself and
/// `child@name` below it; element text is the element's path (`system/level`).
type Fields = Vec<(String, String)>;

pub(crate) fn entries(text: &str, warnings: &mut Vec<String>) -> Result<Vec<LogEntry>, String> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |byte: usize| line_starts.partition_point(|&s| s <= byte) as u32;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    // Element names from the record down to the current element, while inside a record.
    let mut path: Vec<String> = Vec::new();
    let mut record: Option<(usize, Fields, Vec<String>)> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position() as usize;
                if out.is_empty() {
                    return Err(format!("line {}: {e}", line_of(at)));
                }
                // A log cut off mid-write still yields its complete records.
                warnings.push(format!(
                    "the XML breaks off at line {} ({e}); {} complete records were read",
                    line_of(at),
                    out.len()
                ));
                return Ok(out);
            }
        };
        match event {
            Event::Empty(e) if record.is_none() && is_record(&e) => {
                let mut fields = Fields::new();
                push_attributes(&e, "", &mut fields);
                let end = reader.buffer_position() as usize;
                out.push(entry(&fields, text, before, end, &line_of));
            }
            Event::Start(e) if record.is_none() && is_record(&e) => {
                let mut fields = Fields::new();
                push_attributes(&e, "", &mut fields);
                record = Some((before, fields, vec![String::new()]));
                path.clear();
            }
            Event::Start(e) => {
                if let Some((_, fields, texts)) = record.as_mut() {
                    path.push(local(&e));
                    push_attributes(&e, &path.join("/"), fields);
                    texts.push(String::new());
                }
            }
            Event::Empty(e) => {
                if let Some((_, fields, _)) = record.as_mut() {
                    path.push(local(&e));
                    push_attributes(&e, &path.join("/"), fields);
                    path.pop();
                }
            }
            Event::Text(t) => append(&mut record, &t.xml10_content()),
            Event::CData(t) => append(&mut record, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => resolve_predefined_entity(&r.xml10_content())
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("&{};", r.xml10_content())),
                };
                append(&mut record, &resolved);
            }
            Event::End(_) => {
                let Some((start, fields, texts)) = record.as_mut() else {
                    continue;
                };
                let text_here = texts.pop().unwrap_or_default();
                if path.is_empty() {
                    let (start, mut fields) = (*start, std::mem::take(fields));
                    if !text_here.trim().is_empty() {
                        fields.push((String::new(), text_here.trim().to_string()));
                    }
                    out.push(entry(
                        &fields,
                        text,
                        start,
                        reader.buffer_position() as usize,
                        &line_of,
                    ));
                    record = None;
                } else {
                    if !text_here.trim().is_empty() {
                        fields.push((path.join("/"), text_here.trim().to_string()));
                    }
                    path.pop();
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn local(e: &BytesStart<'_>) -> String {
    let name = e.local_name();
    name.as_ref().to_ascii_lowercase()
}

fn is_record(e: &BytesStart<'_>) -> bool {
    RECORD_NAMES.contains(&local(e).as_str())
}

fn push_attributes(e: &BytesStart<'_>, prefix: &str, fields: &mut Fields) {
    let data_name = e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref().eq_ignore_ascii_case("name")).then(|| a.value.to_string())
    });
    for a in e.attributes().flatten() {
        let key = a.key.local_name().as_ref().to_ascii_lowercase();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| a.value.to_string());
        // log4j's `<log4j:data name="log4jmachinename" value="host"/>` names its own field.
        if let Some(name) = data_name.as_ref().filter(|_| key == "value") {
            fields.push((name.to_ascii_lowercase(), value.clone()));
        }
        fields.push((format!("{prefix}@{key}"), value));
    }
}

fn append(record: &mut Option<(usize, Fields, Vec<String>)>, s: &str) {
    if let Some(t) = record.as_mut().and_then(|(_, _, texts)| texts.last_mut()) {
        t.push_str(s);
    }
}

fn field<'a>(fields: &'a Fields, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| {
        fields
            .iter()
            .find(|(f, v)| f == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    })
}

fn entry(
    fields: &Fields,
    text: &str,
    start: usize,
    end: usize,
    line_of: &dyn Fn(usize) -> u32,
) -> LogEntry {
    let raw = text[start..end].to_string();
    let windows = field(fields, &["system/eventid"]).is_some();
    let level = field(
        fields,
        &["@level", "level", "system/level", "severity", "@severity"],
    )
    .map(|l| match (windows, l) {
        // Windows event levels: 1 critical, 2 error, 3 warning, 4 (or 0) information, 5 verbose.
        (true, "1") => "FATAL".to_string(),
        (true, "2") => "ERROR".to_string(),
        (true, "3") => "WARN".to_string(),
        (true, "0" | "4") => "INFO".to_string(),
        (true, "5") => "DEBUG".to_string(),
        (_, other) => canonical_level(other),
    });
    let timestamp = if let Some(secs) = field(fields, &["instant@epochsecond"]) {
        let nanos: u64 = field(fields, &["instant@nanoofsecond"])
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        secs.parse::<i64>()
            .ok()
            .map(|s| epoch_to_iso(s, (nanos / 1_000_000) as u32))
    } else {
        field(
            fields,
            &[
                "@timestamp",
                "millis",
                "@timemillis",
                "date",
                "@time",
                "timestamp",
                "time",
                "@date",
                "system/timecreated@systemtime",
            ],
        )
        .and_then(timestamp_text)
    };
    let component = field(
        fields,
        &[
            "@logger",
            "@loggername",
            "logger",
            "system/provider@name",
            "@source",
            "source",
            "@category",
            "@component",
            "component",
            "class",
        ],
    );
    let pid = field(
        fields,
        &[
            "@thread",
            "thread",
            "system/execution@processid",
            "@pid",
            "pid",
            "@threadname",
        ],
    );
    let host = field(
        fields,
        &[
            "log4jmachinename",
            "system/computer",
            "@host",
            "host",
            "hostname",
        ],
    );
    let mut message = field(
        fields,
        &[
            "message",
            "msg",
            "renderinginfo/message",
            "@message",
            "text",
            "",
        ],
    )
    .map(str::to_string)
    .unwrap_or_else(|| {
        // Windows events carry their payload as named `<Data>` items.
        fields
            .iter()
            .filter(|(k, _)| k.starts_with("eventdata/") || k.starts_with("userdata/"))
            .filter(|(k, _)| !k.contains('@'))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    });
    // Stack traces stay with their entry: log4j's throwable, log4j2's thrown, JUL's exception frames.
    let thrown: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| {
            let top = k.split('/').next().unwrap_or("");
            matches!(top, "throwable" | "thrown" | "exception")
        })
        .map(|(_, v)| v.as_str())
        .collect();
    if !thrown.is_empty() {
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(&thrown.join("\n"));
    }
    if message.is_empty() {
        message = raw.trim().to_string();
    }
    LogEntry {
        line: line_of(start),
        end_line: line_of(end.saturating_sub(1).max(start)),
        timestamp,
        level,
        component: component.map(str::to_string),
        host: host.map(str::to_string),
        pid: pid.map(str::to_string),
        message,
        raw,
    }
}
