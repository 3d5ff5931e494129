//! The OpenAPI 3 document served at `/openapi.json`, generated from the handlers' annotations.

use docvec_engine::Format;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::routes::{data, documents, jobs, ops, search, source, ui};

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `docvec keys create` (also accepted as `X-API-Key`)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Describes the `format` search filter with the names in the format table: a doc comment on the field
/// cannot (utoipa takes field descriptions from literal doc comments only), and a list written out
/// there would go stale when a format is added.
struct FormatNames;

impl Modify for FormatNames {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let filters = api
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut("SearchFilters"));
        let Some(RefOr::T(Schema::Object(filters))) = filters else {
            return;
        };
        if let Some(RefOr::T(Schema::Array(format))) = filters.properties.get_mut("format") {
            format.description = Some(format!("Document formats, any of: {}.", Format::names()));
        }
    }
}

/// The search page's files (`routes/ui.rs`), listed from the same table that routes them, so each
/// one is in the document and the security test's role table must say who may fetch it.
struct Page;

impl Modify for Page {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
        use utoipa::openapi::{ContentBuilder, ResponseBuilder};
        for asset in ui::ASSETS {
            let ok = ResponseBuilder::new()
                .description(asset.summary)
                .content(asset.content_type, ContentBuilder::new().build())
                .build();
            let op = OperationBuilder::new()
                .tag("page")
                .summary(Some(asset.summary))
                .response("200", ok)
                .build();
            api.paths
                .paths
                .insert(asset.path.to_string(), PathItem::new(HttpMethod::Get, op));
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "docvec", description = "Document ingestion and vector search"),
    paths(
        search::post_search, search::get_search, search::post_batch,
        documents::upload, documents::list, documents::get_one, documents::delete,
        source::document, source::chunk,
        data::logs, data::apis, data::tags, data::facts, data::evidence,
        jobs::rebuild, jobs::snapshot, jobs::list, jobs::get_one, jobs::events, jobs::cancel,
        ops::healthz, ops::readyz, ops::config, ops::metrics, ops::create, ops::list_keys, ops::revoke,
    ),
    modifiers(&Security, &FormatNames, &Page),
    tags(
        (name = "search", description = "Semantic search"),
        (name = "documents", description = "Uploads and stored documents"),
        (name = "structured", description = "Log entries, API endpoints, tags, facts and evidence"),
        (name = "jobs", description = "Background jobs: ingests and rebuilds"),
        (name = "operations", description = "Health, readiness, configuration, metrics"),
        (name = "keys", description = "API keys (admin)"),
        (name = "page", description = "The search page for browsers (no key: it holds no data)"),
    )
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_filter_lists_every_format() {
        let doc = serde_json::to_value(document()).unwrap();
        let description =
            doc["components"]["schemas"]["SearchFilters"]["properties"]["format"]["description"]
                .as_str()
                .unwrap_or_else(|| panic!("no description: {doc}"));
        assert_eq!(
            description,
            "Document formats, any of: text, markdown, html, pdf, openapi, postman, log, csv, spreadsheet."
        );
    }
}
