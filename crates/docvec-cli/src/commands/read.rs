//! Commands that list what the store holds: `documents`, `tables`, `logs`, `endpoints`, `tags` and
//! `facts`.

use std::process::ExitCode;

use docvec_engine::{
    Access, Config, EndpointFilter, FactFilter, FactKind, LogFilter, TagFilter, TagKind,
};

use super::{document_arg, emit, with_engine};
use crate::args::{Facts, Logs};
use crate::output;

/// `docvec documents`.
pub(crate) async fn documents(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let docs = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.documents().await?)
    })
    .await?;
    emit(json, &docs, |docs| {
        for d in docs {
            println!(
                "{}  {:8}  {:5} chunks  {}",
                d.id, d.format, d.chunk_count, d.path
            );
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec tables`: each table with its first `rows` rows.
pub(crate) async fn tables(
    config: Config,
    document: Option<String>,
    rows: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let document = document.map(document_arg);
    let tables = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.tables(document.as_deref()).await?)
    })
    .await?;
    emit(json, &tables, |v| output::print_tables(v, rows))?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec logs`: entries of the stored log files.
pub(crate) async fn logs(config: Config, args: Logs) -> anyhow::Result<ExitCode> {
    let Logs {
        level,
        since,
        until,
        component,
        grep,
        document,
        limit,
        json,
    } = args;
    let document = document.map(document_arg);
    let filter = LogFilter {
        level,
        since,
        until,
        component,
        grep,
        document,
        limit: Some(limit),
        ..Default::default()
    };
    let rows = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.log_entries(&filter).await?)
    })
    .await?;
    emit(json, &rows, |v| output::print_log_entries(v))?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec endpoints`: operations of the stored API descriptions.
pub(crate) async fn endpoints(
    config: Config,
    method: Option<String>,
    path_prefix: Option<String>,
    document: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let filter = EndpointFilter {
        method,
        path_prefix,
        document: document.map(document_arg),
        limit: None,
        ..Default::default()
    };
    let rows = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.endpoints(&filter).await?)
    })
    .await?;
    emit(json, &rows, |v| output::print_endpoints(v))?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec tags`: tags with how many documents and chunks carry them.
pub(crate) async fn tags(
    config: Config,
    kind: Option<String>,
    document: Option<String>,
    prefix: Option<String>,
    limit: i64,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let kind = kind
        .map(|k| {
            TagKind::parse(&k)
                .ok_or_else(|| anyhow::anyhow!("--kind {k}: expected format, user or keyphrase"))
        })
        .transpose()?;
    let filter = TagFilter {
        kind,
        document: document.map(document_arg),
        prefix,
        limit: Some(limit),
        ..Default::default()
    };
    let rows = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.tags(&filter).await?)
    })
    .await?;
    emit(json, &rows, |v| output::print_tags(v))?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec facts`: facts with their evidence.
pub(crate) async fn facts(config: Config, args: Facts) -> anyhow::Result<ExitCode> {
    let Facts {
        document,
        key,
        subject,
        kind,
        limit,
        json,
    } = args;
    let kind = match kind.as_deref() {
        None => None,
        Some("table_cell") => Some(FactKind::TableCell),
        Some("label_value") => Some(FactKind::LabelValue),
        Some(other) => {
            anyhow::bail!("--kind {other}: expected table_cell or label_value")
        }
    };
    let filter = FactFilter {
        document: document.map(document_arg),
        key,
        subject,
        kind,
        limit: Some(limit),
        ..Default::default()
    };
    let rows = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.facts(&filter).await?)
    })
    .await?;
    emit(json, &rows, |v| output::print_facts(v))?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec show`: the source span of one hit.
pub(crate) async fn show(
    config: Config,
    chunk: &str,
    context: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let view = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.show_chunk(chunk, Some(context)).await?)
    })
    .await?;
    emit(json, &view, output::print_source)?;
    Ok(ExitCode::SUCCESS)
}
