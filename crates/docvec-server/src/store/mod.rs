//! The server's own rows, kept in the data directory's SQLite beside the documents so they survive
//! restarts: API keys (hashes only, `keys.rs`) and jobs with their progress (`jobs.rs`).
//!
//! Only the server reads or writes these tables, so their queries and row types live here. The tables
//! themselves are made by docvec-store's migration `0007_jobs_api_keys.sql` and reached through
//! [`Store::pool`](docvec_engine::Store::pool): one database file, one ordered list of migrations.
//! Failures are [`StoreError`](docvec_engine::StoreError)s, so they map to API errors like every
//! other fault of the store.

mod jobs;
mod keys;

pub use jobs::{JobFilter, JobRow, fail_interrupted_jobs, get_job, job_counts, list_jobs, put_job};
pub use keys::{ApiKeyRow, check_api_key, create_api_key, list_api_keys, revoke_api_key};

/// Unix milliseconds, the unit of every timestamp in these tables.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
