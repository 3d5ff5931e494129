//! Where each operation of an OpenAPI/Swagger description stands in its file, so a hit on an operation
//! points at the lines that define it: the method's key under its path, through the end of its value.
//!
//! serde does not keep positions, so this finds the keys in the text: the path's key, then the first
//! method key after it, then the method's value (a bracket-matched object in JSON, the more-indented
//! lines below the key in YAML). An operation whose keys are not found keeps no byte range; its hit
//! still names its method and path.

use docvec_types::{ApiEndpoint, EndpointKind};

/// Byte range of each endpoint's definition in `text`, in the order of `endpoints`.
pub(crate) fn operations(text: &str, endpoints: &[ApiEndpoint]) -> Vec<Option<(usize, usize)>> {
    let json = text.trim_start().starts_with('{');
    endpoints
        .iter()
        .map(|e| {
            if e.kind == EndpointKind::Request {
                return None;
            }
            let value_end = |key: usize| {
                if json {
                    json_value_end(text, key)
                } else {
                    Some(yaml_block_end(text, key))
                }
            };
            let path = key_start(text, 0, &e.path)?;
            let path_end = value_end(path)?;
            let method = key_start(text, path + e.path.len(), &e.method.to_ascii_lowercase())?;
            if method >= path_end {
                return None;
            }
            let start = if json {
                method
            } else {
                line_start(text, method)
            };
            Some((start, value_end(method)?))
        })
        .collect()
}

/// Where the first `key:` at or after `from` starts (its quote included).
fn key_start(text: &str, from: usize, key: &str) -> Option<usize> {
    for quote in ["\"", "'", ""] {
        let needle = format!("{quote}{key}{quote}");
        let mut at = from;
        while let Some(found) = text.get(at..)?.find(&needle) {
            let start = at + found;
            let end = start + needle.len();
            let before = text[..start].chars().next_back();
            let colon = text[end..].trim_start_matches([' ', '\t']).starts_with(':');
            // A key stands after indentation, `{` or `,`; a bare one must not be part of a longer word.
            let boundary = matches!(before, None | Some(' ' | '\t' | '\n' | '{' | ','));
            if colon && boundary {
                return Some(start);
            }
            at = end;
        }
    }
    None
}

/// End of the JSON value that follows the key at `key`: the matching bracket of its object.
fn json_value_end(text: &str, key: usize) -> Option<usize> {
    let open = key + text[key..].find('{')?;
    let mut depth = 0isize;
    super::brackets(text, open).find_map(|(i, step)| {
        depth += step;
        (depth == 0).then_some(i + 1)
    })
}

/// End of the YAML block under the key at `key`: the last following line indented deeper than it.
fn yaml_block_end(text: &str, key: usize) -> usize {
    let line = line_start(text, key);
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let own = indent(&text[line..]);
    let mut end = text[key..].find('\n').map_or(text.len(), |n| key + n);
    let mut at = end + 1;
    while at < text.len() {
        let next = text[at..].find('\n').map_or(text.len(), |n| at + n);
        let l = &text[at..next];
        if !l.trim().is_empty() {
            if indent(l) <= own {
                break;
            }
            end = next;
        }
        at = next + 1;
    }
    end
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, path: &str) -> ApiEndpoint {
        ApiEndpoint {
            method: method.into(),
            path: path.into(),
            kind: EndpointKind::Operation,
            operation_id: None,
            summary: None,
            description: None,
            parameters: vec![],
            request_schema: None,
            responses: vec![],
            tags: vec![],
        }
    }

    #[test]
    fn finds_yaml_and_json_operations() {
        let yaml = "paths:\n  /pets:\n    get:\n      summary: List\n\n      tags: [a]\n    post:\n      summary: Add\n  /pets/{id}:\n    get:\n      summary: One\n";
        let found = operations(
            yaml,
            &[
                op("GET", "/pets"),
                op("POST", "/pets"),
                op("GET", "/pets/{id}"),
            ],
        );
        let texts: Vec<&str> = found
            .iter()
            .map(|r| &yaml[r.unwrap().0..r.unwrap().1])
            .collect();
        assert_eq!(
            texts,
            [
                "    get:\n      summary: List\n\n      tags: [a]",
                "    post:\n      summary: Add",
                "    get:\n      summary: One"
            ]
        );
        let json = r#"{"paths": {"/pets": {"get": {"summary": "{x}"}, "post": {}}}}"#;
        let found = operations(
            json,
            &[op("GET", "/pets"), op("POST", "/pets"), op("PUT", "/none")],
        );
        assert_eq!(
            &json[found[0].unwrap().0..found[0].unwrap().1],
            r#""get": {"summary": "{x}"}"#
        );
        assert_eq!(found[2], None);
    }
}
