//! `docvec ingest`: files and folders into the data directory, with a progress bar and per-file
//! events.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use docvec_engine::{Access, Config, Engine, IngestEvent, IngestOptions, StorageMode};

use super::emit;
use crate::args::Ingest;
use crate::output;

/// Exit status when a run finished but some files could not be ingested.
const EXIT_SOME_FAILED: u8 = 2;

pub(crate) async fn run(config: Config, args: Ingest) -> anyhow::Result<ExitCode> {
    let Ingest {
        paths,
        include,
        exclude,
        tags,
        meta,
        force,
        json,
        events,
    } = args;
    let meta = crate::meta::metadata(&meta)?;
    let engine = Engine::open(config, Access::ReadWrite).await?;
    let engine_mode = engine.storage_mode();
    let opts = IngestOptions {
        include,
        exclude,
        tags,
        meta,
        force,
        cancel: None,
    };
    let bar = output::progress_bar(std::io::stderr().is_terminal() && !json, "files");
    let on_event = |event: IngestEvent<'_>| match event {
        IngestEvent::Discovered { files } => bar.set_length(files as u64),
        IngestEvent::FileDone { path, outcome } => {
            bar.inc(1);
            bar.set_message(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            if let docvec_engine::FileOutcome::Failed { cause } = outcome {
                bar.suspend(|| eprintln!("error: {}: {cause}", path.display()));
            }
            if events {
                let mut line = serde_json::to_value(outcome).unwrap_or_default();
                line["path"] = path.display().to_string().into();
                let mut out = std::io::stdout().lock();
                // A reader that went away is no reason to stop the ingest.
                let _ = writeln!(out, "{line}").and_then(|_| out.flush());
            }
        }
    };
    let report = engine
        .ingest(&paths, &opts, &on_event)
        .await
        .map_err(|e| e.naming_store(&engine.layout().store()))?;
    bar.finish_and_clear();
    engine.close().await?;
    emit(json, &report, output::print_ingest_summary)?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let failed = report.failures().count();
    let mirror_failed = report.mirror.as_ref().and_then(|m| m.error.as_ref());
    if let (Some(e), StorageMode::Supabase) = (mirror_failed, engine_mode) {
        anyhow::bail!(
            "Postgres did not take the documents ({e}); they wait in the outbox and are sent on the next run"
        );
    }
    Ok(if failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
