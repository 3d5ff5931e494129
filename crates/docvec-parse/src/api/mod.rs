//! API descriptions: OpenAPI 3.x and Swagger 2.0 (JSON or YAML) and Postman collections (v1, v2.0,
//! v2.1). Each operation becomes an [`ApiEndpoint`] and a section of its own, so a search hit names one
//! endpoint.

mod locate;
mod openapi;
mod postman;

use serde_json::Value;

use docvec_types::{ApiEndpoint, Block, BlockKind, Format, Origin, ParsedDocument, Section};

use crate::ParseError;

/// Bytes of a JSON or YAML file sniffed before parsing; API descriptions say what they are up front.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// What a JSON or YAML file is, from its first bytes: an OpenAPI/Swagger spec, a Postman collection,
/// or something docvec does not read.
pub fn sniff(head: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(&head[..head.len().min(SNIFF_BYTES)]);
    let has = |needle: &str| text.contains(needle);
    if has("schema.getpostman.com")
        || has("\"_postman_id\"")
        || (has("\"requests\"") && has("\"order\""))
    {
        return Some(Format::Postman);
    }
    let yaml_key = |key: &str| {
        text.lines()
            .any(|l| l.starts_with(&format!("{key}:")) || l.starts_with(&format!("\"{key}\":")))
    };
    if has("\"openapi\"") || has("\"swagger\"") || yaml_key("openapi") || yaml_key("swagger") {
        return Some(Format::Openapi);
    }
    None
}

pub(crate) fn parse(
    format: Format,
    bytes: &[u8],
    max_depth: usize,
) -> Result<ParsedDocument, ParseError> {
    let (text, tree) = load_tree(format, bytes, max_depth)?;
    let mut doc = match format {
        Format::Postman => postman::parse(&tree)?,
        _ => openapi::parse(&tree)?,
    };
    let found = locate::operations(&text, &doc.endpoints);
    doc.sections.extend(
        doc.endpoints
            .iter()
            .zip(found)
            .enumerate()
            .map(|(i, (e, bytes))| endpoint_section(e, i as u32, bytes)),
    );
    doc.text = Some(text);
    Ok(doc)
}

/// JSON, else YAML, into one JSON tree (YAML keys such as `200:` become strings). Nesting deeper than
/// `max_depth` is refused before the tree is built.
fn load_tree(
    format: Format,
    bytes: &[u8],
    max_depth: usize,
) -> Result<(String, Value), ParseError> {
    let corrupt = |cause: String| ParseError::Corrupt { format, cause };
    let too_deep = || {
        corrupt(format!(
            "nested more than {max_depth} levels deep (raise max_nesting_depth to read it)"
        ))
    };
    let text = crate::decode_text(bytes, format)?;
    if bracket_depth(&text) > max_depth {
        return Err(too_deep());
    }
    if text.trim_start().starts_with(['{', '[']) {
        let tree =
            serde_json::from_str(&text).map_err(|e| corrupt(format!("invalid JSON: {e}")))?;
        return Ok((text, tree));
    }
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| corrupt(format!("invalid YAML: {e}")))?;
    let tree = yaml_to_json(yaml, 0, max_depth).ok_or_else(too_deep)?;
    Ok((text, tree))
}

/// The deepest nesting of `[` and `{` outside strings: a linear scan that sees a nesting bomb before a
/// recursive parser does.
fn bracket_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0;
    for (_, step) in brackets(text, 0) {
        depth = depth.saturating_add_signed(step);
        deepest = deepest.max(depth);
    }
    deepest
}

/// Each `[`/`{` (+1) and `]`/`}` (-1) outside JSON strings from byte `from` on, with its offset.
pub(crate) fn brackets(text: &str, from: usize) -> impl Iterator<Item = (usize, isize)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.bytes()
        .enumerate()
        .skip(from)
        .filter_map(move |(i, b)| {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                return None;
            }
            match b {
                b'"' => {
                    in_string = true;
                    None
                }
                b'[' | b'{' => Some((i, 1)),
                b']' | b'}' => Some((i, -1)),
                _ => None,
            }
        })
}

fn yaml_to_json(v: serde_yaml_ng::Value, depth: usize, max: usize) -> Option<Value> {
    use serde_yaml_ng::Value as Y;
    if depth > max {
        return None;
    }
    Some(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_u64().map(Value::from))
            .unwrap_or_else(|| n.as_f64().map(Value::from).unwrap_or(Value::Null)),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|i| yaml_to_json(i, depth + 1, max))
                .collect::<Option<_>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => serde_yaml_ng::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                out.insert(key, yaml_to_json(v, depth + 1, max)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value, depth + 1, max)?,
    })
}

/// The text an endpoint is found by: method and path, what it does, what it takes and returns.
pub fn endpoint_text(e: &ApiEndpoint) -> String {
    let mut lines = vec![format!("{} {}", e.method, e.path)];
    lines.extend(e.summary.iter().cloned());
    lines.extend(e.description.iter().map(|d| crate::tidy_whitespace(d)));
    if let Some(id) = &e.operation_id {
        lines.push(format!("Operation: {id}"));
    }
    if !e.parameters.is_empty() {
        let params: Vec<String> = e
            .parameters
            .iter()
            .map(|p| {
                let mut s = format!(
                    "{} ({}{}",
                    p.name,
                    p.location,
                    if p.required { ", required" } else { "" }
                );
                if let Some(t) = &p.schema {
                    s.push_str(&format!(", {t}"));
                }
                s.push(')');
                s
            })
            .collect();
        lines.push(format!("Parameters: {}", params.join("; ")));
    }
    if let Some(r) = &e.request_schema {
        lines.push(format!("Request body: {r}"));
    }
    if !e.responses.is_empty() {
        let responses: Vec<String> = e
            .responses
            .iter()
            .map(|(code, schema)| match schema {
                Some(s) => format!("{code} {s}"),
                None => code.clone(),
            })
            .collect();
        lines.push(format!("Responses: {}", responses.join("; ")));
    }
    lines.join("\n")
}

/// The section of endpoint number `index`, whose definition takes `bytes` of the file where found.
fn endpoint_section(e: &ApiEndpoint, index: u32, bytes: Option<(usize, usize)>) -> Section {
    let heading = format!("{} {}", e.method, e.path);
    let mut heading_path: Vec<String> = e.tags.iter().take(1).cloned().collect();
    heading_path.push(heading.clone());
    Section {
        heading: Some(heading),
        level: 2,
        heading_path,
        blocks: vec![Block {
            text: endpoint_text(e),
            kind: BlockKind::Paragraph,
            page: None,
            origin: Origin {
                bytes,
                endpoint: Some(index),
                ..Origin::default()
            },
        }],
    }
}

/// A string field, trimmed, if present and not empty.
pub(crate) fn text_of(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        // Postman descriptions may be {"content": "...", "type": "text/markdown"}.
        Value::Object(o) => o
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string(),
        _ => String::new(),
    };
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests;
