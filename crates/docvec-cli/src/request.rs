//! Requests the user must correct, told apart from failures: exit status 2 instead of 1.

/// A request the user must correct (a vector of the wrong dimension, a mode that needs text): exit
/// status 2, as for clap's usage errors, where other failures exit 1.
#[derive(Debug)]
pub(crate) struct RequestError(pub(crate) String);

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

/// The engine's refusals of a request ([`EngineError::InvalidRequest`]) become [`RequestError`]s;
/// other errors stay as they are.
///
/// [`EngineError::InvalidRequest`]: docvec_engine::EngineError::InvalidRequest
pub(crate) fn request_error(e: docvec_engine::EngineError) -> anyhow::Error {
    match e {
        docvec_engine::EngineError::InvalidRequest(m) => RequestError(m).into(),
        other => other.into(),
    }
}
