//! Postman collections: v2.0 and v2.1 (`info` + nested `item` folders) and v1 (`requests` + `folders`).

use serde_json::Value;

use docvec_types::{
    ApiEndpoint, ApiParameter, Block, BlockKind, EndpointKind, Format, ParsedDocument, Section,
};

use super::text_of;
use crate::ParseError;

/// Folder nesting followed; deeper items are still read, under the folder path so far.
const MAX_FOLDER_DEPTH: usize = 64;

pub(super) fn parse(root: &Value) -> Result<ParsedDocument, ParseError> {
    let mut doc = ParsedDocument::new(Format::Postman);
    if let Some(items) = root.get("item").and_then(Value::as_array) {
        let info = root.get("info").cloned().unwrap_or(Value::Null);
        doc.title = info.get("name").and_then(text_of);
        let schema = info.get("schema").and_then(text_of).unwrap_or_default();
        let version = if schema.contains("v2.1") {
            "2.1"
        } else {
            "2.0"
        };
        doc.metadata
            .insert("spec_version".into(), format!("postman {version}").into());
        overview(&mut doc, info.get("description"));
        walk(items, &mut Vec::new(), &mut doc.endpoints, 0);
    } else if let Some(requests) = root.get("requests").and_then(Value::as_array) {
        doc.title = root.get("name").and_then(text_of);
        doc.metadata
            .insert("spec_version".into(), "postman 1".into());
        overview(&mut doc, root.get("description"));
        let folders: Vec<(String, String)> = root
            .get("folders")
            .and_then(Value::as_array)
            .map(|f| {
                f.iter()
                    .filter_map(|f| {
                        Some((
                            f.get("id").and_then(text_of)?,
                            f.get("name").and_then(text_of)?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for r in requests {
            let folder = r.get("folder").and_then(text_of).and_then(|id| {
                folders
                    .iter()
                    .find(|(fid, _)| *fid == id)
                    .map(|(_, n)| n.clone())
            });
            doc.endpoints
                .push(request(r, r, folder.into_iter().collect()));
        }
    } else {
        return Err(ParseError::Corrupt {
            format: Format::Postman,
            cause: "neither `item` (v2) nor `requests` (v1) found".into(),
        });
    }
    if doc.endpoints.is_empty() && doc.sections.is_empty() {
        return Err(ParseError::NoText("the collection has no requests".into()));
    }
    Ok(doc)
}

fn overview(doc: &mut ParsedDocument, description: Option<&Value>) {
    let intro: Vec<String> = [doc.title.clone(), description.and_then(text_of)]
        .into_iter()
        .flatten()
        .collect();
    if !intro.is_empty() {
        let mut s = Section::untitled();
        s.blocks.push(Block {
            text: intro.join("\n\n"),
            kind: BlockKind::Paragraph,
            page: None,
            origin: Default::default(),
        });
        doc.sections.push(s);
    }
}

fn walk(items: &[Value], folders: &mut Vec<String>, out: &mut Vec<ApiEndpoint>, depth: usize) {
    for item in items {
        match item.get("item").and_then(Value::as_array) {
            Some(children) if depth < MAX_FOLDER_DEPTH => {
                folders.push(item.get("name").and_then(text_of).unwrap_or_default());
                walk(children, folders, out, depth + 1);
                folders.pop();
            }
            Some(_) => {}
            None => {
                if let Some(req) = item.get("request") {
                    out.push(request(item, req, folders.clone()));
                }
            }
        }
    }
}

/// One request: `item` holds its name, `req` the request (a URL string or an object).
fn request(item: &Value, req: &Value, tags: Vec<String>) -> ApiEndpoint {
    let (method, url) = match req {
        Value::String(url) => ("GET".to_string(), Value::String(url.clone())),
        _ => (
            req.get("method")
                .and_then(text_of)
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase(),
            req.get("url").cloned().unwrap_or(Value::Null),
        ),
    };
    let (path, query) = url_path(&url);
    let mut parameters: Vec<ApiParameter> = query
        .into_iter()
        .map(|name| ApiParameter {
            name,
            location: "query".into(),
            required: false,
            schema: None,
        })
        .collect();
    if let Some(headers) = req
        .get("header")
        .or_else(|| req.get("headers"))
        .and_then(Value::as_array)
    {
        parameters.extend(headers.iter().filter_map(|h| {
            Some(ApiParameter {
                name: h.get("key").and_then(text_of)?,
                location: "header".into(),
                required: false,
                schema: None,
            })
        }));
    }
    let body_mode = req
        .get("body")
        .and_then(|b| b.get("mode"))
        .and_then(text_of)
        .or_else(|| req.get("dataMode").and_then(text_of));
    ApiEndpoint {
        method,
        path,
        kind: EndpointKind::Request,
        operation_id: None,
        summary: item.get("name").and_then(text_of),
        description: req
            .get("description")
            .and_then(text_of)
            .or_else(|| item.get("description").and_then(text_of)),
        parameters,
        request_schema: body_mode,
        responses: item
            .get("response")
            .or_else(|| item.get("responses"))
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|x| {
                        x.get("code")
                            .map(|c| (c.to_string().trim_matches('"').to_string(), None))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        tags,
    }
}

/// Path and query parameter names of a Postman URL (a string, or an object with `path`/`raw`/`query`).
fn url_path(url: &Value) -> (String, Vec<String>) {
    if let Some(segments) = url.get("path") {
        let path = match segments {
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| {
                    p.as_str()
                        .map(str::to_string)
                        .or_else(|| p.get("value").and_then(text_of))
                })
                .collect::<Vec<_>>()
                .join("/"),
            other => text_of(other).unwrap_or_default(),
        };
        let query = url
            .get("query")
            .and_then(Value::as_array)
            .map(|q| {
                q.iter()
                    .filter_map(|p| p.get("key").and_then(text_of))
                    .collect()
            })
            .unwrap_or_default();
        return (format!("/{}", path.trim_start_matches('/')), query);
    }
    let raw = text_of(url)
        .or_else(|| url.get("raw").and_then(text_of))
        .unwrap_or_default();
    // Drop the scheme and host (often a {{baseUrl}} variable), keep the path; split off the query.
    let without_scheme = raw.split_once("://").map(|(_, rest)| rest).unwrap_or(&raw);
    let (before_query, query) = without_scheme
        .split_once('?')
        .unwrap_or((without_scheme, ""));
    let path = before_query
        .find('/')
        .map(|i| &before_query[i..])
        .unwrap_or("/");
    let query = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    (path.to_string(), query)
}
