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
