//! OpenAPI 3.0/3.1 and Swagger 2.0. Local `$ref`s (`#/components/...`, `#/definitions/...`) are followed
//! for path items, parameters, request bodies and responses; schemas are named, not expanded.

use serde_json::Value;

use docvec_types::{
    ApiEndpoint, ApiParameter, Block, BlockKind, EndpointKind, Format, ParsedDocument, Section,
};

use super::text_of;
use crate::ParseError;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// `$ref` hops followed before giving up (a cycle or a very long chain).
const MAX_REF_HOPS: usize = 32;

pub(super) fn parse(root: &Value) -> Result<ParsedDocument, ParseError> {
    let corrupt = |cause: &str| ParseError::Corrupt {
        format: Format::Openapi,
        cause: cause.to_string(),
    };
    let version = root
        .get("openapi")
        .or_else(|| root.get("swagger"))
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_f64().map(|f| f.to_string()))
        })
        .ok_or_else(|| corrupt("no `openapi` or `swagger` version field"))?;
    let swagger2 = root.get("swagger").is_some();
    let mut doc = ParsedDocument::new(Format::Openapi);
    let info = root.get("info").cloned().unwrap_or(Value::Null);
    doc.title = info.get("title").and_then(text_of);
    doc.metadata
        .insert("spec_version".into(), version.clone().into());
    if let Some(v) = info.get("version").and_then(text_of) {
        doc.metadata.insert("api_version".into(), v.into());
    }
    // The API's own description is the document's overview section.
    let mut overview = Section::untitled();
    let intro: Vec<String> = [doc.title.clone(), info.get("description").and_then(text_of)]
        .into_iter()
        .flatten()
        .collect();
    if !intro.is_empty() {
        overview.blocks.push(Block {
            text: intro.join("\n\n"),
            kind: BlockKind::Paragraph,
            page: None,
            origin: Default::default(),
        });
        doc.sections.push(overview);
    }

    for (group, kind) in [
        ("paths", EndpointKind::Operation),
        ("webhooks", EndpointKind::Webhook),
    ] {
        let Some(items) = root.get(group).and_then(Value::as_object) else {
            continue;
        };
        for (path, item) in items {
            let item = resolve(root, item);
            let shared = params(root, item.get("parameters"), swagger2);
            for method in METHODS {
                let Some(op) = item.get(*method).map(|o| resolve(root, o)) else {
                    continue;
                };
                doc.endpoints
                    .push(endpoint(root, path, method, op, &shared, kind, swagger2));
            }
        }
    }
    if doc.endpoints.is_empty() && doc.sections.is_empty() {
        return Err(ParseError::NoText(
            "the API description has no operations".into(),
        ));
    }
    Ok(doc)
}

fn endpoint(
    root: &Value,
    path: &str,
    method: &str,
    op: &Value,
    shared: &[ApiParameter],
    kind: EndpointKind,
    swagger2: bool,
) -> ApiEndpoint {
    // Operation parameters override path-level ones with the same name and location.
    let own = params(root, op.get("parameters"), swagger2);
    let mut parameters: Vec<ApiParameter> = shared
        .iter()
        .filter(|p| {
            !own.iter()
                .any(|o| o.name == p.name && o.location == p.location)
        })
        .cloned()
        .collect();
    parameters.extend(own);
    let mut request_schema = None;
    if swagger2 {
        if let Some(body) = parameters.iter().find(|p| p.location == "body") {
            request_schema = body.schema.clone();
        }
    } else if let Some(body) = op.get("requestBody").map(|b| resolve(root, b)) {
        request_schema = content_schema(root, body);
    }
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|r| {
            r.iter()
                .map(|(code, resp)| {
                    let resp = resolve(root, resp);
                    let schema = if swagger2 {
                        resp.get("schema").and_then(|s| schema_name(root, s))
                    } else {
                        content_schema(root, resp)
                    };
                    (code.clone(), schema)
                })
                .collect()
        })
        .unwrap_or_default();
    ApiEndpoint {
        method: method.to_ascii_uppercase(),
        path: path.to_string(),
        kind,
        operation_id: op.get("operationId").and_then(text_of),
        summary: op.get("summary").and_then(text_of),
        description: op.get("description").and_then(text_of),
        parameters,
        request_schema,
        responses,
        tags: op
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(text_of).collect())
            .unwrap_or_default(),
    }
}

fn params(root: &Value, list: Option<&Value>, swagger2: bool) -> Vec<ApiParameter> {
    let Some(list) = list.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|p| resolve(root, p))
        .filter_map(|p| {
            let name = p.get("name").and_then(text_of)?;
            let location = p
                .get("in")
                .and_then(text_of)
                .unwrap_or_else(|| "query".into());
            let schema = match (swagger2, location.as_str()) {
                (true, "body") => p.get("schema").and_then(|s| schema_name(root, s)),
                (true, _) => p.get("type").and_then(text_of),
                (false, _) => p.get("schema").and_then(|s| schema_name(root, s)),
            };
            Some(ApiParameter {
                name,
                required: p
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(location == "path"),
                location,
                schema,
            })
        })
        .collect()
}

/// The schema of the first media type of an OpenAPI 3 request body or response.
fn content_schema(root: &Value, holder: &Value) -> Option<String> {
    let content = holder.get("content")?.as_object()?;
    content
        .values()
        .find_map(|media| media.get("schema").and_then(|s| schema_name(root, s)))
}

/// A schema's name: its `$ref` target, `Item[]` for arrays, else its type.
fn schema_name(root: &Value, schema: &Value) -> Option<String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().map(str::to_string);
    }
    let schema = resolve(root, schema);
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => schema
            .get("items")
            .and_then(|i| schema_name(root, i))
            .map(|i| format!("{i}[]")),
        Some(t) => Some(t.to_string()),
        None => schema.get("title").and_then(text_of),
    }
}

/// Follow local `$ref`s (JSON pointers into this document); anything else is returned as it is.
fn resolve<'a>(root: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_HOPS {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return v;
        };
        let Some(pointer) = r.strip_prefix('#') else {
            return v;
        };
        // JSON pointer escapes: ~1 is '/', ~0 is '~' (pointer() handles them); percent-encoding too.
        let pointer = pointer.replace("%7B", "{").replace("%7D", "}");
        match root.pointer(&pointer) {
            Some(target) => v = target,
            None => return v,
        }
    }
    v
}
