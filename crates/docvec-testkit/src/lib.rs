//! What docvec's test binaries share: where the repository, the shared corpus and the models are, the
//! test Postgres, and one rule for a prerequisite that is missing.
//!
//! With the `http` feature, [`http`] holds the requests the tests that drive a running server share.
//!
//! The rule: under CI (`CI` is `true`, any case, or `1`) a missing prerequisite fails the test, naming
//! it, so a CI run cannot go green by skipping; elsewhere the test says `SKIPPED: <test>: <what>` on
//! stderr and returns early, so a plain `cargo test` without `../shared` or Postgres still runs the rest.
//!
//! Environment the helpers read:
//! - `CI`: see above.
//! - `DOCVEC_TEST_SHARED`: the shared folder (default `../shared` beside the repository); pointing it
//!   at a folder that does not exist hides the corpus, to check what the tests do without it.
//! - `DOCVEC_CORPUS`: the corpus itself (default `<shared>/corpus`); wins over `DOCVEC_TEST_SHARED`.
//! - `DOCVEC_TEST_DATABASE_URL`: a Postgres with pgvector (`tools/pg.sh`; `tools/test.sh` exports it).

use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;

#[cfg(feature = "http")]
pub mod http;
pub mod private_pg;

/// The repository root (this crate lives in `crates/docvec-testkit`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared folder beside the checkout: `DOCVEC_TEST_SHARED`, else `../shared`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("DOCVEC_TEST_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"))
}

/// The shared corpus: `DOCVEC_CORPUS`, else `<shared>/corpus`. It may not exist; see [`corpus`].
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("DOCVEC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir().join("corpus"))
}

/// The models `tools/setup_models.py` fetches.
pub fn models_dir() -> PathBuf {
    repo_root().join("models")
}

/// The repository's own sample documents (always there: they are checked in).
pub fn samples_dir() -> PathBuf {
    repo_root().join("samples")
}

/// Whether a value of `CI` makes missing prerequisites fail: `true` (any case) or `1`, as CI services
/// set it; `false`, `0` or unset leave them skips.
pub fn strict(ci: Option<&str>) -> bool {
    ci.is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

/// `found`, or the rule for a missing prerequisite: under CI a panic naming `what`, else a loud skip and
/// `None`, on which the test returns.
pub fn require<T>(found: Option<T>, what: impl Display) -> Option<T> {
    let ci = std::env::var("CI").ok();
    require_under(ci.as_deref(), &current_test(), found, what)
}

/// [`require`] with the value of `CI` and the test's name given, so the decision can be tested without
/// touching the process environment (which the tests' threads share).
pub fn require_under<T>(
    ci: Option<&str>,
    test: &str,
    found: Option<T>,
    what: impl Display,
) -> Option<T> {
    if found.is_some() {
        return found;
    }
    if strict(ci) {
        panic!(
            "{test}: missing prerequisite: {what} (CI={}: under CI a missing prerequisite fails the run)",
            ci.unwrap_or_default()
        );
    }
    // Straight to stderr: the harness captures `eprintln!` of a passing test, and a skip that only
    // `--nocapture` shows is the silent pass this rule exists to end.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {what}");
    None
}

/// The running test's name: the test harness names each test's thread after it (a `#[tokio::test]`
/// body runs on that thread too).
fn current_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test off its own thread")
        .to_string()
}

/// The corpus folder, when every one of `subs` is a folder in it; else [`require`]'s rule.
pub fn corpus(subs: &[&str]) -> Option<PathBuf> {
    let dir = corpus_dir();
    // The corpus itself when it is absent, else each folder of it that is.
    let absent: Vec<String> = if dir.is_dir() {
        subs.iter()
            .map(|s| dir.join(s))
            .filter(|d| !d.is_dir())
            .map(|d| d.display().to_string())
            .collect()
    } else {
        vec![dir.display().to_string()]
    };
    require(
        absent.is_empty().then_some(dir),
        format_args!(
            "no corpus folder {} (set DOCVEC_CORPUS or check out ../shared)",
            absent.join(", ")
        ),
    )
}

/// `DOCVEC_TEST_DATABASE_URL` when set, for a test that can do without it (and says what it does then).
pub fn database_url() -> Option<String> {
    std::env::var("DOCVEC_TEST_DATABASE_URL").ok()
}

/// `DOCVEC_TEST_DATABASE_URL`, or [`require`]'s rule.
pub fn require_database() -> Option<String> {
    require(
        database_url(),
        "no DOCVEC_TEST_DATABASE_URL (run the tests through tools/test.sh)",
    )
}

/// A database of its own on the Postgres server at `server` (a URL naming some database there), named
/// `<prefix>_<pid>_<nanos>` so parallel tests and runs never share one; returns its URL.
#[cfg(feature = "postgres")]
pub async fn fresh_database(server: &str, prefix: &str) -> String {
    use sqlx::Connection;
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .expect("test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// The largest query `[search]`'s limits let through: `terms` distinct words (`words` first, then
/// "w0", "w1" ...) repeated in turn to exactly `bytes` bytes (the spare bytes as spaces between words,
/// which add no term). For checking the limits at their edge and for loading a server with the
/// costliest queries it accepts.
pub fn maximal_query(words: &[&str], bytes: usize, terms: usize) -> String {
    let vocabulary: Vec<String> = words
        .iter()
        .map(|w| w.to_string())
        .chain((0..).map(|i| format!("w{i}")))
        .take(terms)
        .collect();
    let mut query = String::new();
    for word in vocabulary.iter().cycle() {
        let sep = usize::from(!query.is_empty());
        if query.len() + sep + word.len() > bytes {
            break;
        }
        if sep == 1 {
            query.push(' ');
        }
        query.push_str(word);
    }
    let spare = bytes - query.len();
    if let Some(first_space) = query.find(' ') {
        query.insert_str(first_space, &" ".repeat(spare));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_counts_when_true_in_any_case_or_1() {
        for on in ["true", "TRUE", "True", "1", " true\n"] {
            assert!(strict(Some(on)), "{on:?}");
        }
        for off in [None, Some(""), Some("false"), Some("0"), Some("yes-please")] {
            assert!(!strict(off), "{off:?}");
        }
    }

    #[test]
    fn a_missing_prerequisite_under_ci_fails_naming_it() {
        for ci in ["true", "1"] {
            let panic = std::panic::catch_unwind(|| {
                require_under::<()>(Some(ci), "some::test", None, "no corpus folder /x/logs")
            })
            .expect_err("under CI a missing prerequisite panics");
            let msg = panic.downcast_ref::<String>().expect("a formatted message");
            assert!(msg.contains("no corpus folder /x/logs"), "{msg}");
            assert!(msg.contains("some::test"), "{msg}");
        }
    }

    #[test]
    fn a_missing_prerequisite_outside_ci_is_a_skip() {
        for ci in [None, Some("false"), Some("0")] {
            assert_eq!(require_under::<u8>(ci, "t", None, "no database"), None);
        }
    }

    #[test]
    fn a_present_prerequisite_is_handed_back_under_ci_or_not() {
        for ci in [None, Some("true")] {
            assert_eq!(require_under(ci, "t", Some(7), "unused"), Some(7));
        }
    }

    #[test]
    fn the_test_name_is_the_harness_thread_name() {
        assert_eq!(
            current_test(),
            "tests::the_test_name_is_the_harness_thread_name"
        );
    }
}
