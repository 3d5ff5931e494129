//! The process-wide ONNX Runtime environment. `ort` with `load-dynamic` binds to one shared library per
//! process, so it is loaded once and every session is built from the same environment.

use std::path::Path;
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::EmbedError;

static ENVIRONMENT: OnceLock<Result<(Environment, std::path::PathBuf), String>> = OnceLock::new();

pub(crate) fn environment(library: &Path) -> Result<&'static Environment, EmbedError> {
    let entry = ENVIRONMENT.get_or_init(|| {
        if !library.exists() {
            return Err(format!(
                "ONNX Runtime library not found at {} (run `python3 tools/setup_models.py`, or point \
                 DOCVEC_ORT_LIBRARY at a libonnxruntime.so of version 1.{} or newer)",
                library.display(),
                ort::MINOR_VERSION
            ));
        }
        let builder = ort::init_from(library)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", library.display()))?;
        let env = builder
            .with_name("docvec")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", library.display()))?;
        Ok((env, library.to_path_buf()))
    });
    match entry {
        Ok((env, loaded)) if loaded == library => Ok(env),
        Ok((_, loaded)) => Err(EmbedError::Setup(format!(
            "ONNX Runtime is already loaded from {} in this process; cannot also load {}",
            loaded.display(),
            library.display()
        ))),
        Err(e) => Err(EmbedError::Setup(e.clone())),
    }
}
