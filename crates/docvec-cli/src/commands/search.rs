//! `docvec search`: by text, by the user's own vectors, or both, with filters and a per-document cap.

use std::process::ExitCode;

use docvec_engine::{Access, ChunkFilter, Config, DEFAULT_SNIPPET_CHARS, SearchRequest};

use super::{document_arg, with_engine};
use crate::args::Search;
use crate::request::request_error;
use crate::{output, vectors};

pub(crate) async fn run(config: Config, args: Search) -> anyhow::Result<ExitCode> {
    let hybrid = args.fusion.hybrid();
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
        meta,
        ..
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
        meta: crate::meta::conditions(&meta)?,
    };
    let vectors = vector.as_deref().map(vectors::read).transpose()?;
    let answers = with_engine(config, Access::ReadOnly, async |engine| {
        if let Some(vs) = &vectors {
            vectors::check_dimensions(vs, engine)?;
        }
        let queries: Vec<Option<Vec<f32>>> = match vectors {
            Some(vs) => vs.into_iter().map(Some).collect(),
            None => vec![None],
        };
        let mut answers = Vec::with_capacity(queries.len());
        for vector in queries {
            let request = SearchRequest {
                text: query.clone(),
                vector,
                k,
                mode,
                filter: filter.clone(),
                hybrid,
                max_per_document,
                snippet_chars: highlight.then_some(DEFAULT_SNIPPET_CHARS),
            };
            let answer = engine.search(&request).await.map_err(request_error)?;
            if let Some(w) = &answer.warning {
                eprintln!("warning: {w}");
            }
            answers.push(answer.hits);
        }
        Ok(answers)
    })
    .await?;
    output::print_answers(json, &answers)?;
    Ok(ExitCode::SUCCESS)
}
