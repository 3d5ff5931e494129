//! `docvec status`: the model and the ONNX Runtime that runs it, and (with the mirror) the storage
//! mode, a probe of Postgres and the outbox backlog.

use std::process::ExitCode;

use docvec_engine::{Access, Config, ModelStatus};

use super::{emit, with_engine};
use crate::output;

/// What `docvec status --json` prints: `model`, then the mirror's fields at the top level.
#[derive(serde::Serialize)]
pub(crate) struct StatusReport {
    pub model: ModelStatus,
    #[cfg(feature = "mirror")]
    #[serde(flatten)]
    pub mirror: docvec_engine::MirrorStatus,
}

/// Loads the model, so the execution providers shown are the ones that run. A model that cannot be
/// loaded is reported, not fatal: the rest of the status still matters then.
pub(crate) async fn status(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let report = with_engine(config, Access::ReadOnly, async |e| {
        Ok(StatusReport {
            model: e.model_status(true).await,
            #[cfg(feature = "mirror")]
            mirror: e.mirror_status(std::time::Duration::from_secs(5)).await?,
        })
    })
    .await?;
    emit(json, &report, |r| {
        output::print_model_status(&r.model);
        #[cfg(feature = "mirror")]
        output::print_status(&r.mirror);
    })?;
    Ok(ExitCode::SUCCESS)
}
