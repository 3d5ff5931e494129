//! The sha256 that names the vectors a model file makes, as `docvec check` records it for a data
//! directory and a bundle's manifest carries it: a replaced or damaged model file loads and embeds
//! without a word, into vectors that match nothing stored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::Builtin;
use docvec_embed::Int8Support;

/// The sha256 of the model file at `path`, except for the per-row build's unsigned twin, which stands
/// for the per-row file's pinned sha256 when it matches its own pin in `models/SHA256SUMS`. The twin
/// holds the per-row file's integers on a kernel that cannot saturate (`Builtin::file_on`), so it
/// embeds exactly as that file does: a directory or bundle made on a CPU with AMX checks clean on an
/// x86-64 CPU without int8 dot products, which runs the twin. A twin off its pin names itself, and
/// the check reports it.
pub(crate) fn vectors_sha256(path: &Path) -> Option<String> {
    let own = sha256_file(path)?;
    let (rows, twin) = (
        Builtin::Int8Rows.file(),
        Builtin::Int8Rows.file_on(Int8Support::None),
    );
    if rows == twin || !path.ends_with(twin) {
        return Some(own);
    }
    let pins = models_dir(path, twin)
        .map(|d| pins(&d.join("SHA256SUMS")))
        .unwrap_or_default();
    match (pins.get(twin), pins.get(rows)) {
        (Some(pinned_twin), Some(pinned_rows)) if *pinned_twin == own => Some(pinned_rows.clone()),
        _ => Some(own),
    }
}

/// The `models/` folder that holds `path` as `rel`.
fn models_dir(path: &Path, rel: &str) -> Option<PathBuf> {
    let depth = Path::new(rel).components().count();
    path.ancestors().nth(depth).map(Path::to_path_buf)
}

/// `models/SHA256SUMS`: relative path -> pinned sha256 (`sha256sum` lines; `#` comments skipped).
fn pins(file: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once("  "))
        .map(|(sha, rel)| (rel.trim().to_string(), sha.trim().to_string()))
        .collect()
}

pub(crate) fn sha256_file(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf).ok()? {
            0 => break,
            n => hasher.update(&buf[..n]),
        }
    }
    Some(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `models/` with the per-row file and its twin, `twin_bytes` in the twin, and SHA256SUMS
    /// pinning both as setup_models.py does.
    fn models(twin_bytes: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (rows_rel, twin_rel) = (
            Builtin::Int8Rows.file(),
            "all-MiniLM-L6-v2/model-int8-rows-u8.onnx",
        );
        let (rows, twin) = (dir.path().join(rows_rel), dir.path().join(twin_rel));
        std::fs::create_dir_all(rows.parent().unwrap()).unwrap();
        std::fs::write(&rows, b"int8 weights").unwrap();
        std::fs::write(&twin, b"uint8 weights").unwrap();
        let pinned_twin = sha256_file(&twin).unwrap();
        std::fs::write(&twin, twin_bytes).unwrap();
        let sums = format!(
            "# the per-row build\n{}  {rows_rel}\n# its twin\n{pinned_twin}  {twin_rel}\n",
            sha256_file(&rows).unwrap()
        );
        std::fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
        (dir, rows, twin)
    }

    #[test]
    fn the_twin_on_its_pin_stands_for_the_per_row_file() {
        let (_dir, rows, twin) = models(b"uint8 weights");
        let want = sha256_file(&rows);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(vectors_sha256(&twin), want);
        } else {
            // No twin off x86-64: every file names itself.
            assert_eq!(vectors_sha256(&twin), sha256_file(&twin));
        }
        assert_eq!(vectors_sha256(&rows), want);
    }

    #[test]
    fn a_twin_off_its_pin_names_itself() {
        let (_dir, rows, twin) = models(b"damaged");
        let got = vectors_sha256(&twin);
        assert_eq!(got, sha256_file(&twin));
        assert_ne!(got, sha256_file(&rows));
    }

    #[test]
    fn a_missing_file_has_no_sha() {
        let (dir, _, _) = models(b"uint8 weights");
        assert_eq!(vectors_sha256(&dir.path().join("gone.onnx")), None);
    }
}
