//! `docvec`: the command-line front of the engine. Parsing arguments, printing, exit codes and the
//! `eval` harness (eval/) live here; everything else is in `docvec-engine`.

mod args;
mod commands;
mod eval;
mod meta;
mod output;
mod request;
mod vectors;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
#[cfg(feature = "mirror")]
use commands::mirror;
#[cfg(feature = "server")]
use commands::serve;
use commands::{ingest, maintenance, read, search, status};
use docvec_engine::{Config, RebuildOptions};
use request::RequestError;

/// Exit status of a request the user must correct (as clap's usage errors).
const EXIT_BAD_REQUEST: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    quiet_caught_panics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            if e.downcast_ref::<RequestError>().is_some() {
                ExitCode::from(EXIT_BAD_REQUEST)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes, as `{:#}` writes them but without a cause that only repeats the text
/// before it (library errors often show their source in their own message too).
fn error_chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

/// Load the configuration and hand the command to its module in `commands/`.
async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    // `[server]` and its variables are checked by every command, not only `serve`: a mistake there is
    // reported when made, as for every other section. The slim build has no server to ask and takes
    // the table as it is.
    #[cfg(feature = "server")]
    let server = docvec_server::ServerConfig::load(&config)?;
    match cli.command {
        #[cfg(feature = "server")]
        Command::Serve { bind, read_only } => serve::serve(config, server, bind, read_only).await,
        #[cfg(feature = "server")]
        Command::Keys { action } => serve::keys(config, action).await,
        Command::Eval(args) => commands::eval::eval(config, args).await,
        Command::Ingest(args) => ingest::run(config, args).await,
        Command::Search(args) => search::run(config, args).await,
        Command::Check { json } => maintenance::check(config, json).await,
        Command::Export { out, json } => maintenance::export(config, &out, json).await,
        Command::Stats { json } => maintenance::stats(config, json).await,
        Command::Rebuild {
            reembed,
            model,
            resync_mirror,
            json,
        } => {
            let options = RebuildOptions {
                reembed,
                model,
                resync_mirror,
            };
            maintenance::rebuild(config, options, json).await
        }
        Command::Delete { document } => maintenance::delete(config, &document).await,
        Command::Documents { json } => read::documents(config, json).await,
        Command::Tables {
            document,
            rows,
            json,
        } => read::tables(config, document, rows, json).await,
        Command::Logs(args) => read::logs(config, args).await,
        Command::Endpoints {
            method,
            path_prefix,
            document,
            json,
        } => read::endpoints(config, method, path_prefix, document, json).await,
        Command::Tags {
            kind,
            document,
            prefix,
            limit,
            json,
        } => read::tags(config, kind, document, prefix, limit, json).await,
        Command::Facts(args) => read::facts(config, args).await,
        Command::Show {
            chunk,
            context,
            json,
        } => read::show(config, &chunk, context, json).await,
        #[cfg(feature = "mirror")]
        Command::Migrate => mirror::migrate(config).await,
        #[cfg(feature = "mirror")]
        Command::Sync { json } => mirror::sync(config, json).await,
        Command::Status { json } => status::status(config, json).await,
        #[cfg(feature = "mirror")]
        Command::Backfill {
            from_sqlite,
            dry_run,
            reset,
            json,
        } => mirror::backfill(config, &from_sqlite, dry_run, reset, json).await,
        #[cfg(feature = "mirror")]
        Command::Parity { sample, json } => mirror::parity(config, sample, json).await,
    }
}

/// Panics on parser threads are caught where they happen and reported as that file's error (or a
/// warning); the default hook would still print each one with a backtrace, as if docvec had crashed.
fn quiet_caught_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let parser = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("docvec-parse"));
        if parser {
            tracing::debug!("caught on a parser thread: {info}");
        } else {
            default(info);
        }
    }));
}

fn init_logging(verbose: u8) {
    // lopdf logs every font it has to guess at; those are not the user's problem.
    let default = match verbose {
        0 => "warn,lopdf=error",
        1 => "info,lopdf=error",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOCVEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
