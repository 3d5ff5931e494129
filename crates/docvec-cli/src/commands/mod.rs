//! One module per command (or per family of commands); `main::run` only dispatches to them.

pub(crate) mod eval;
pub(crate) mod ingest;
pub(crate) mod maintenance;
#[cfg(feature = "mirror")]
pub(crate) mod mirror;
pub(crate) mod read;
pub(crate) mod search;
#[cfg(feature = "server")]
pub(crate) mod serve;
pub(crate) mod status;

use docvec_engine::{Access, Config, Engine, EngineError};

/// Open the engine, run `work` on it, and close it whatever `work` returns, so a failed command still
/// releases what it opened. `work`'s error comes first when both fail.
pub(crate) async fn with_engine<T>(
    config: Config,
    access: Access,
    work: impl AsyncFnOnce(&Engine) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let engine = Engine::open(config, access).await?;
    let db = engine.layout().store();
    // A query that met a damaged database file does not know which file it read: name it here.
    let out = work(&engine)
        .await
        .map_err(|e| match e.downcast::<EngineError>() {
            Ok(e) => e.naming_store(&db).into(),
            Err(e) => e,
        });
    let closed = engine.close().await;
    let out = out?;
    closed?;
    Ok(out)
}

/// Print `value` as pretty JSON, or for people through `human`.
pub(crate) fn emit<T: serde::Serialize + ?Sized>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T),
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        human(value);
    }
    Ok(())
}

/// A document argument as stored: the canonical path of an existing file, else the text (an id).
pub(crate) fn document_arg(d: String) -> String {
    std::fs::canonicalize(&d)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or(d)
}
