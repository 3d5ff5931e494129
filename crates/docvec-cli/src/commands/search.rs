//! `docvec search`: by text, by the user's own vectors, or both, with filters and a per-document cap.

use std::process::ExitCode;

use docvec_engine::{Access, ChunkFilter, Config, Engine};

use super::document_arg;
use crate::args::Search;
use crate::request::request_error;
use crate::{output, vectors};

/// Longest `--highlight` snippet, in characters.
const SNIPPET_CHARS: usize = 240;

pub(crate) async fn run(config: Config, args: Search) -> anyhow::Result<ExitCode> {
    let Search {
        query,
        vector,
        k,
        tags,
        formats,
        document,
        path_prefix,
        mode,
        log_level,
        since,
        until,
        max_per_document,
        highlight,
        json,
    } = args;
    for f in &formats {
        f.parse::<docvec_engine::Format>()
            .map_err(|e| anyhow::anyhow!("--format {f}: {e}"))?;
    }
    let filter = ChunkFilter {
        tags,
        formats,
        document: document.map(document_arg),
        path_prefix: path_prefix.map(|p| {
            std::fs::canonicalize(&p)
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or(p)
        }),
        log_level,
        since,
        until,
    };
    let vectors = vector.as_deref().map(vectors::read).transpose()?;
    let engine = Engine::open(config, Access::ReadOnly).await?;
    if let Some(vs) = &vectors {
        vectors::check_dimensions(vs, &engine)?;
    }
    let hybrid = docvec_engine::HybridOptions::default();
    let queries: Vec<Option<Vec<f32>>> = match vectors {
        Some(vs) => vs.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let mut answers = Vec::with_capacity(queries.len());
    for v in queries {
        let mut results = docvec_engine::capped(k, max_per_document, |n| {
            engine.search_input(query.as_deref(), v.clone(), n, &filter, mode, &hybrid)
        })
        .await
        .map_err(request_error)?;
        if let (true, Some(q)) = (highlight, query.as_deref()) {
            engine
                .add_snippets(q, &mut results.hits, SNIPPET_CHARS)
                .await?;
        }
        if let Some(w) = &results.warning {
            eprintln!("warning: {w}");
        }
        answers.push(results.hits);
    }
    engine.close().await?;
    output::print_answers(json, &answers)?;
    Ok(ExitCode::SUCCESS)
}
