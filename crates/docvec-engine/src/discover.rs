//! Finding the files an ingest names: files as given, folders walked recursively, filtered by globs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::EngineError;

#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub files: Vec<PathBuf>,
    /// Paths that could not be walked or read (missing, symlink loop, permission), with the cause.
    pub problems: Vec<(PathBuf, String)>,
    /// Files inside folders skipped because docvec does not read their type.
    pub unsupported: Vec<PathBuf>,
}

pub(crate) fn globset(patterns: &[String]) -> Result<Option<GlobSet>, EngineError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(
            Glob::new(p)
                .map_err(|e| EngineError::InvalidRequest(format!("bad glob `{p}`: {e}")))?,
        );
    }
    b.build()
        .map(Some)
        .map_err(|e| EngineError::InvalidRequest(e.to_string()))
}

/// Walk `inputs`. Files named directly are always taken (a wrong type is reported by the parser);
/// files found in folders are taken when docvec reads their type, they match `include` (if any) and
/// not `exclude`. Hidden files and folders (`.git`, `.cache`) inside folders are skipped.
pub(crate) fn discover(
    inputs: &[PathBuf],
    include: Option<&GlobSet>,
    exclude: Option<&GlobSet>,
    follow_symlinks: bool,
) -> Discovered {
    let mut out = Discovered::default();
    let mut seen = HashSet::new();
    let matches = |set: Option<&GlobSet>, root: &Path, path: &Path| {
        set.is_some_and(|s| {
            s.is_match(path) || path.strip_prefix(root).is_ok_and(|rel| s.is_match(rel))
        })
    };
    for input in inputs {
        let meta = match std::fs::metadata(input) {
            Ok(m) => m,
            Err(e) => {
                out.problems.push((input.clone(), e.to_string()));
                continue;
            }
        };
        if meta.is_file() {
            if is_sidecar(input) {
                continue;
            }
            if seen.insert(crate::canonical(input)) {
                out.files.push(input.clone());
            }
            continue;
        }
        let walker = WalkDir::new(input)
            .follow_links(follow_symlinks)
            .sort_by_file_name();
        let walker = walker
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| input.clone());
                    let cause = if e.loop_ancestor().is_some() {
                        "symbolic link loop".to_string()
                    } else {
                        e.to_string()
                    };
                    out.problems.push((path, cause));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            if matches(exclude, input, path) || is_sidecar(path) {
                continue;
            }
            let wanted = match include {
                Some(_) => matches(include, input, path),
                None => docvec_parse::is_readable(path),
            };
            if !wanted {
                out.unsupported.push(path.to_path_buf());
                continue;
            }
            if seen.insert(crate::canonical(path)) {
                out.files.push(path.to_path_buf());
            }
        }
    }
    out
}

/// The metadata file beside a document (`report.pdf.meta.json`): read with it, never a document.
pub(crate) fn is_sidecar(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(SIDECAR_SUFFIX))
}

/// What a document's metadata sidecar adds to its name.
pub const SIDECAR_SUFFIX: &str = ".meta.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_folders_filters_and_reports_problems() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for f in [
            "a/one.md",
            "a/b/two.txt",
            "a/b/skip.md",
            "a/data.bin",
            ".git/x.md",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a"), root.join("a/b/loop")).unwrap();
        let exclude = globset(&["**/skip.md".into()]).unwrap();
        let found = discover(
            &[root.to_path_buf(), root.join("missing")],
            None,
            exclude.as_ref(),
            true,
        );
        let names: Vec<_> = found
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a/b/two.txt", "a/one.md"]);
        assert_eq!(found.unsupported.len(), 1);
        assert!(found.problems.iter().any(|(p, _)| p.ends_with("missing")));
        #[cfg(unix)]
        assert!(
            found
                .problems
                .iter()
                .any(|(_, cause)| cause.contains("loop")),
            "{:?}",
            found.problems
        );
    }

    #[test]
    fn include_globs_select_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.md"), "x").unwrap();
        std::fs::write(dir.path().join("b.txt"), "x").unwrap();
        let include = globset(&["*.md".into()]).unwrap();
        let found = discover(&[dir.path().to_path_buf()], include.as_ref(), None, true);
        assert_eq!(found.files.len(), 1);
        assert!(found.files[0].ends_with("a.md"));
        assert!(globset(&["[".into()]).is_err());
    }
}
