//! The search page at `/`: plain HTML, CSS and JavaScript from `crates/docvec-server/ui/`, compiled
//! into the binary, so `docvec serve` needs no files beside it, no build step and no network.
//!
//! The page routes are public: the files hold no data, and every request the page makes goes to
//! the API with the key the user typed, checked there as any client's. Each answer carries a
//! Content-Security-Policy that allows this server's own scripts and styles only (no inline script,
//! nothing from elsewhere), so text from documents shown on the page can never run as code.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// One file of the page: where it is served, as what, and its bytes.
pub(crate) struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub summary: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file of the page; the routes and their OpenAPI entries are made from this one list.
pub(crate) const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: HTML,
        summary: "The search page: search, upload, documents and status in the browser",
        body: include_str!("../../ui/index.html"),
    },
    Asset {
        path: "/ui/style.css",
        content_type: CSS,
        summary: "The search page's styles",
        body: include_str!("../../ui/style.css"),
    },
    Asset {
        path: "/ui/app.js",
        content_type: JS,
        summary: "The search page's entry module",
        body: include_str!("../../ui/app.js"),
    },
    Asset {
        path: "/ui/api.js",
        content_type: JS,
        summary: "The search page's API client (keys, errors, event streams)",
        body: include_str!("../../ui/api.js"),
    },
    Asset {
        path: "/ui/search.js",
        content_type: JS,
        summary: "The search page's search box, results and source viewer",
        body: include_str!("../../ui/search.js"),
    },
    Asset {
        path: "/ui/library.js",
        content_type: JS,
        summary: "The search page's uploads, job progress and documents list",
        body: include_str!("../../ui/library.js"),
    },
    Asset {
        path: "/ui/status.js",
        content_type: JS,
        summary: "The search page's status panel",
        body: include_str!("../../ui/status.js"),
    },
    Asset {
        path: "/ui/icon.svg",
        content_type: "image/svg+xml",
        summary: "The search page's icon",
        body: include_str!("../../ui/icon.svg"),
    },
];

/// Own scripts, styles and images only; requests to this server only. `connect-src 'self'` is what
/// lets the page call the API; `frame-ancestors 'none'` keeps it out of other sites' frames.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

fn serve(asset: &'static Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // Revalidated each load, so a new docvec never runs with the old page's scripts.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        asset.body,
    )
        .into_response()
}

/// The page's routes, with no key check (see the module's comment).
pub(crate) fn routes() -> Router<AppState> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(asset.path, get(move || async move { serve(asset) }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_files_it_serves() {
        let html = ASSETS[0].body;
        for asset in &ASSETS[1..] {
            let name = asset.path.trim_start_matches("/ui/");
            let named = html.contains(asset.path)
                || ASSETS.iter().any(|a| a.body.contains(&format!("./{name}")));
            assert!(named, "{} is served but nothing loads it", asset.path);
        }
        // No inline script and no script from elsewhere: the policy would block them. Every
        // `<script` tag, whatever its attributes (`<script type="module">` is inline too) or case,
        // must load a file by `src=`.
        let lower = html.to_ascii_lowercase();
        let scripts: Vec<&str> = lower
            .match_indices("<script")
            .map(|(at, _)| {
                let tag = &lower[at..];
                &tag[..tag.find('>').map_or(tag.len(), |end| end + 1)]
            })
            .collect();
        assert!(!scripts.is_empty(), "index.html loads no script");
        for tag in scripts {
            let loads_file = tag
                .split_ascii_whitespace()
                .any(|attr| attr.starts_with("src="));
            assert!(loads_file, "inline script in index.html: {tag}");
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}
