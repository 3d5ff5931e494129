//! Commands that look after the data directory as a whole: `check`, `export`, `stats`, `rebuild` and
//! `delete`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use docvec_engine::{Access, Config, Engine, RebuildEvent, RebuildOptions};

use super::{emit, with_engine};
use crate::output;

/// `docvec check`: exit status 1 when something is inconsistent.
pub(crate) async fn check(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    // As a writer, so the check sees what every start makes of the directory: the catch-up.
    // One this process cannot write (a bundle on read-only media) is checked as it is.
    let dir = &config.data_dir;
    let access = if dir.is_dir() && !docvec_engine::dir_writable(dir) {
        eprintln!("{} is not writable: checking it read-only", dir.display());
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let report = with_engine(config, access, async |e| Ok(e.check().await?)).await?;
    emit(json, &report, output::print_check)?;
    Ok(if report.consistent {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `docvec export OUT`: a bundle of the data directory.
pub(crate) async fn export(config: Config, out: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let report = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.export_bundle(out).await?)
    })
    .await?;
    emit(json, &report, output::print_export)?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec stats`.
pub(crate) async fn stats(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let engine = Engine::open(config, Access::ReadOnly).await?;
    let stats = engine.stats().await?;
    let index_len = engine.index_len();
    if json {
        let mut v = serde_json::to_value(&stats)?;
        v["index_vectors"] = index_len.into();
        v["model_id"] = engine.model_id().into();
        v["dimension"] = engine.dimension().into();
        v["data_dir"] = engine.data_dir().display().to_string().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        output::print_stats(&engine, &stats, index_len);
    }
    engine.close().await?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec rebuild`: fresh indexes, optionally every chunk embedded again (by another model).
pub(crate) async fn rebuild(
    config: Config,
    options: RebuildOptions,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let bar = output::progress_bar(std::io::stderr().is_terminal() && !json, "chunks");
    let on_event = |e: RebuildEvent| {
        bar.set_message(e.phase);
        bar.set_length(e.total);
        bar.set_position(e.done);
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let report = with_engine(config, Access::ReadWrite, async |e| {
        Ok(e.rebuild_index(&options, &on_event, &cancel).await?)
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    emit(json, &report, |r| {
        println!(
            "{} vectors of {} indexed; {} chunks embedded; {:.1}s{}",
            r.vectors,
            r.model,
            r.reembedded,
            r.elapsed_ms as f64 / 1000.0,
            match &r.mirror {
                Some(m) if m.error.is_some() => format!(
                    "; mirror: {} sent, {} waiting ({})",
                    m.pushed,
                    m.pending,
                    m.error.as_deref().unwrap_or_default()
                ),
                Some(m) => format!("; mirror: {} sent", m.pushed),
                None => String::new(),
            }
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec delete DOCUMENT`, by id or path.
pub(crate) async fn delete(config: Config, document: &str) -> anyhow::Result<ExitCode> {
    let removed = with_engine(config, Access::ReadWrite, async |e| {
        Ok(e.delete(document).await?)
    })
    .await?;
    match removed {
        Some((path, chunks)) => {
            println!("deleted {path} ({chunks} chunks)");
            Ok(ExitCode::SUCCESS)
        }
        None => Err(anyhow::anyhow!("no document with id or path `{document}`")).context("delete"),
    }
}
