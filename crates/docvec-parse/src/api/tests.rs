use docvec_types::{EndpointKind, Format};

use super::*;

const PETSTORE: &str = r##"
swagger: "2.0"
info: {title: Pets, version: "1.0"}
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, type: integer}
    get:
      operationId: findPet
      summary: Find a pet by id
      tags: [pets]
      responses:
        200: {description: ok, schema: {$ref: "#/definitions/Pet"}}
        default: {description: error}
    delete:
      operationId: deletePet
      responses: {204: {description: gone}}
definitions:
  Pet: {type: object}
"##;

#[test]
fn swagger2_yaml_with_path_level_parameters() {
    assert_eq!(sniff(PETSTORE.as_bytes()), Some(Format::Openapi));
    let doc = parse(Format::Openapi, PETSTORE.as_bytes(), 64).unwrap();
    assert_eq!(doc.title.as_deref(), Some("Pets"));
    assert_eq!(doc.endpoints.len(), 2);
    let get = &doc.endpoints[0];
    assert_eq!(
        (
            get.method.as_str(),
            get.path.as_str(),
            get.operation_id.as_deref()
        ),
        ("GET", "/pets/{id}", Some("findPet"))
    );
    assert_eq!(get.parameters[0].name, "id");
    assert!(get.parameters[0].required);
    assert_eq!(
        get.responses,
        [
            ("200".to_string(), Some("Pet".to_string())),
            ("default".to_string(), None)
        ]
    );
    assert_eq!(get.tags, ["pets"]);
    let section = doc
        .sections
        .iter()
        .find(|s| s.heading.as_deref() == Some("GET /pets/{id}"))
        .unwrap();
    assert_eq!(section.heading_path, ["pets", "GET /pets/{id}"]);
    assert!(section.blocks[0].text.contains("Find a pet by id"));
}

#[test]
fn openapi3_refs_request_bodies_and_webhooks() {
    let spec = r##"{"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
      "paths": {"/users": {"$ref": "#/components/pathItems/Users"}},
      "webhooks": {"newUser": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}, "responses": {"200": {"description": "ok"}}}}},
      "components": {
        "schemas": {"User": {"type": "object"}},
        "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}},
        "pathItems": {"Users": {"get": {"parameters": [{"$ref": "#/components/parameters/Limit"}],
          "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}}}}}}}}}"##;
    let doc = parse(Format::Openapi, spec.as_bytes(), 64).unwrap();
    assert_eq!(doc.endpoints.len(), 2);
    let list = &doc.endpoints[0];
    assert_eq!(
        (list.method.as_str(), list.kind),
        ("GET", EndpointKind::Operation)
    );
    assert_eq!(list.parameters[0].name, "limit");
    assert_eq!(list.parameters[0].schema.as_deref(), Some("integer"));
    assert_eq!(list.responses[0].1.as_deref(), Some("User[]"));
    let hook = &doc.endpoints[1];
    assert_eq!(
        (hook.path.as_str(), hook.kind),
        ("newUser", EndpointKind::Webhook)
    );
    assert_eq!(hook.request_schema.as_deref(), Some("User"));
}

#[test]
fn a_ref_cycle_does_not_hang() {
    let spec = r##"{"openapi": "3.0.0", "info": {"title": "T"}, "paths": {"/a": {"$ref": "#/x"}}, "x": {"$ref": "#/x"}}"##;
    let doc = parse(Format::Openapi, spec.as_bytes(), 64).unwrap();
    assert!(doc.endpoints.is_empty());
}

#[test]
fn postman_v2_folders_and_v1_requests() {
    let v2 = r#"{"info": {"name": "C", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
      "item": [{"name": "Users", "item": [{"name": "List users", "request": {"method": "get",
        "url": {"raw": "{{base}}/v1/users?page=2", "path": ["v1", "users"], "query": [{"key": "page"}]}}}]},
        {"name": "Ping", "request": "https://api.example.com/ping?x=1"}]}"#;
    assert_eq!(sniff(v2.as_bytes()), Some(Format::Postman));
    let doc = parse(Format::Postman, v2.as_bytes(), 64).unwrap();
    assert_eq!(doc.endpoints.len(), 2);
    let e = &doc.endpoints[0];
    assert_eq!(
        (e.method.as_str(), e.path.as_str(), e.summary.as_deref()),
        ("GET", "/v1/users", Some("List users"))
    );
    assert_eq!(e.tags, ["Users"]);
    assert_eq!(e.parameters[0].name, "page");
    assert_eq!(
        (
            doc.endpoints[1].path.as_str(),
            doc.endpoints[1].parameters[0].name.as_str()
        ),
        ("/ping", "x")
    );

    let v1 = r#"{"id": "1", "name": "Old", "order": [], "folders": [{"id": "f", "name": "Admin"}],
      "requests": [{"id": "r", "folder": "f", "name": "Delete it", "method": "DELETE", "url": "http://h/items/7"}]}"#;
    let doc = parse(Format::Postman, v1.as_bytes(), 64).unwrap();
    assert_eq!(doc.endpoints[0].method, "DELETE");
    assert_eq!(doc.endpoints[0].path, "/items/7");
    assert_eq!(doc.endpoints[0].tags, ["Admin"]);
}

#[test]
fn other_json_and_yaml_are_not_api_descriptions() {
    assert_eq!(sniff(br#"{"name": "package", "version": "1.0"}"#), None);
    assert_eq!(sniff(b"key: value\nlist: [1, 2]\n"), None);
    assert!(parse(Format::Openapi, b"{not json", 64).is_err());
}

#[test]
fn nesting_bombs_are_refused_with_the_limit_named() {
    let opts = crate::ParseOptions::default();
    let deep = format!(
        "{{\"openapi\": \"3.0.0\", \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = crate::parse(Format::Openapi, deep.as_bytes(), &opts).unwrap_err();
    assert!(err.to_string().contains("max_nesting_depth"), "{err}");
    // Just under the limit still reads.
    let ok = format!(
        "{{\"openapi\": \"3.0.0\", \"info\": {{\"title\": \"t\"}}, \"paths\": {{\"/a\": {{\"get\": {{\"summary\": \"s\"}}}}}}, \"x\": {}{}}}",
        "[".repeat(60),
        "]".repeat(60)
    );
    assert_eq!(
        crate::parse(Format::Openapi, ok.as_bytes(), &opts)
            .expect("reads")
            .endpoints
            .len(),
        1
    );
    // Block-style YAML nesting is bounded too.
    let mut yaml = String::from("openapi: 3.0.0\nx:\n");
    for i in 1..200 {
        yaml.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
    }
    let err = crate::parse(Format::Openapi, yaml.as_bytes(), &opts).unwrap_err();
    assert!(
        err.to_string().contains("nested") || err.to_string().contains("recursion"),
        "{err}"
    );
}

#[test]
fn yaml_billion_laughs_is_refused() {
    let mut yaml = String::from(
        "openapi: 3.0.0\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
    let mut prev = "a";
    for n in names {
        yaml.push_str(&format!(
            "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n;
    }
    let err = crate::parse(Format::Openapi, yaml.as_bytes(), &Default::default()).unwrap_err();
    assert!(err.to_string().contains("YAML"), "{err}");
}
