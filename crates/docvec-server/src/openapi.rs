//! The OpenAPI 3 document served at `/openapi.json`, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{data, documents, jobs, ops, search};

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

#[derive(OpenApi)]
#[openapi(
    info(title = "docvec", description = "Document ingestion and vector search"),
    paths(
        search::post_search, search::get_search, search::post_batch,
        documents::upload, documents::list, documents::get_one, documents::delete,
        data::logs, data::apis, data::tags, data::facts, data::evidence,
        jobs::rebuild, jobs::snapshot, jobs::list, jobs::get_one, jobs::events,
        ops::healthz, ops::readyz, ops::config, ops::metrics, ops::create, ops::list_keys, ops::revoke,
    ),
    modifiers(&Security),
    tags(
        (name = "search", description = "Semantic search"),
        (name = "documents", description = "Uploads and stored documents"),
        (name = "structured", description = "Log entries, API endpoints, tags, facts and evidence"),
        (name = "jobs", description = "Background jobs: ingests and rebuilds"),
        (name = "operations", description = "Health, readiness, configuration, metrics"),
        (name = "keys", description = "API keys (admin)"),
    )
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
