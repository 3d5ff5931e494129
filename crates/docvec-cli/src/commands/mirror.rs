//! The Supabase mirror's commands: `migrate`, `sync`, `backfill` and `parity` (`status` is
//! `status.rs`: it also reports the model).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use docvec_engine::{Access, BackfillEvent, BackfillOptions, Config};

use super::{emit, with_engine};
use crate::output;

/// `docvec migrate`: create or update the Postgres schema.
pub(crate) async fn migrate(config: Config) -> anyhow::Result<ExitCode> {
    let version = with_engine(config, Access::ReadWrite, async |e| {
        Ok(e.migrate_remote().await?)
    })
    .await?;
    println!("remote schema at version {version}");
    Ok(ExitCode::SUCCESS)
}

/// `docvec sync`: send the outbox now; exit status 1 when Postgres did not take it all.
pub(crate) async fn sync(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let report = with_engine(config, Access::ReadWrite, async |e| {
        Ok(e.drain_outbox().await?)
    })
    .await?;
    emit(json, &report, |r| {
        println!("{} changes sent, {} waiting", r.pushed, r.pending);
        if let Some(e) = &r.error {
            println!("error: {e}");
        }
    })?;
    Ok(if report.error.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `docvec backfill`: every document of a local store to Postgres, with a progress bar.
pub(crate) async fn backfill(
    config: Config,
    from_sqlite: &Path,
    dry_run: bool,
    reset: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let options = BackfillOptions {
        dry_run,
        reset,
        index_memory: None,
    };
    let bar = output::progress_bar(std::io::stderr().is_terminal() && !json, "documents");
    let on_event = |e: BackfillEvent| match e {
        BackfillEvent::Started { documents } => bar.set_length(documents),
        BackfillEvent::Document { .. } => bar.inc(1),
        BackfillEvent::BuildingIndex => bar.set_message("building the HNSW index"),
    };
    let report = with_engine(config, Access::ReadWrite, async |e| {
        Ok(e.backfill(from_sqlite, &options, &on_event).await?)
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    emit(json, &report, |r| {
        println!(
            "{} documents: {} {}, {} already there; {} chunks; {:.1}s{}",
            r.documents,
            r.copied,
            if r.dry_run { "to copy" } else { "copied" },
            r.skipped,
            r.chunks,
            r.elapsed_secs,
            if r.rebuilt_index {
                "; HNSW index rebuilt"
            } else {
                ""
            }
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec parity`: compare the local store with Postgres; exit status 1 when they differ.
pub(crate) async fn parity(config: Config, sample: i64, json: bool) -> anyhow::Result<ExitCode> {
    let report = with_engine(config, Access::ReadOnly, async |e| {
        Ok(e.parity(sample).await?)
    })
    .await?;
    emit(json, &report, output::print_parity)?;
    Ok(if report.differences() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
