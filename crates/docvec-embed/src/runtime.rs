//! The process-wide ONNX Runtime environment. `ort` with `load-dynamic` binds to one shared library per
//! process, so it is loaded once and every session is built from the same environment.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::{Device, EmbedError, providers};

/// The loaded library: its environment, and what every session built from it reports.
pub(crate) struct Loaded {
    pub env: Environment,
    pub library: PathBuf,
    /// ONNX Runtime's own version string, read once at load.
    pub version: String,
    /// [`available_providers`], asked once at load.
    pub available: Vec<String>,
}

static ENVIRONMENT: OnceLock<Result<Loaded, String>> = OnceLock::new();

pub(crate) fn environment(library: &Path) -> Result<&'static Loaded, EmbedError> {
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
        Ok(Loaded {
            env,
            library: library.to_path_buf(),
            version: version(library)?,
            available: available_providers(),
        })
    });
    match entry {
        Ok(loaded) if loaded.library == library => Ok(loaded),
        Ok(loaded) => Err(EmbedError::Setup(format!(
            "ONNX Runtime is already loaded from {} in this process; cannot also load {}",
            loaded.library.display(),
            library.display()
        ))),
        Err(e) => Err(EmbedError::Setup(e.clone())),
    }
}

/// What runs a loaded model: the ONNX Runtime library and the execution providers its session holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuntimeInfo {
    /// ONNX Runtime's own version string ("1.31.1").
    pub onnxruntime_version: String,
    pub library: PathBuf,
    pub device: Device,
    /// The GPU's ordinal, for CUDA and TensorRT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u32>,
    /// The providers registered in the session, in ONNX Runtime's order of preference; the CPU
    /// provider, last, takes the nodes the others do not. A provider that cannot be registered fails
    /// the load, so these are the ones that run.
    pub execution_providers: Vec<String>,
    /// Of the providers docvec knows (CPU, CUDA, TensorRT), those this library was built with.
    pub available_providers: Vec<String>,
    /// Sessions that run a call's batches side by side (`[model] sessions`; one on a GPU).
    #[serde(default)]
    pub sessions: usize,
    /// Intra-op threads of each session (0: ONNX Runtime's choice, one per core).
    #[serde(default)]
    pub threads_per_session: usize,
    /// The CPU's int8 dot-product instructions ([`crate::int8_dot_product`]), which decide whether
    /// the default model's int8 build is the default here.
    #[serde(default)]
    pub cpu_int8_dot_product: Option<String>,
}

/// The version string of the loaded ONNX Runtime library, from its `OrtGetApiBase`.
fn version(library: &Path) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| {
        format!("cannot read the version of {}: {e}", library.display())
    };
    // SAFETY: the library is already loaded by `environment` (dlopen only counts a reference), and
    // `OrtGetApiBase` takes no arguments and returns a pointer to a static table whose
    // `GetVersionString` returns a static NUL-terminated string.
    unsafe {
        let lib = libloading::Library::new(library).map_err(|e| fail(&e))?;
        let base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
            lib.get(b"OrtGetApiBase").map_err(|e| fail(&e))?;
        let base = base();
        if base.is_null() {
            return Err(fail(&"OrtGetApiBase returned nothing"));
        }
        let version = ((*base).GetVersionString)();
        Ok(std::ffi::CStr::from_ptr(version)
            .to_string_lossy()
            .into_owned())
    }
}

/// The providers of [`providers::provider_names`]'s set this library was built with.
fn available_providers() -> Vec<String> {
    use ort::ep::ExecutionProvider;
    [
        (providers::CPU, ort::ep::CPU::is_available()),
        (providers::CUDA, ort::ep::CUDA::is_available()),
        (providers::TENSORRT, ort::ep::TensorRT::is_available()),
    ]
    .into_iter()
    .filter(|(_, available)| matches!(available, Ok(true)))
    .map(|(name, _)| name.to_string())
    .collect()
}
