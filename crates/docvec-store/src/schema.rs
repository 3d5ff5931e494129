//! Migrations, embedded in the binary so a data directory can be opened from anywhere.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "documents chunks embeddings",
        include_str!("../../../migrations/sqlite/0001_documents_chunks_embeddings.sql"),
    ),
    (
        2,
        "api endpoints",
        include_str!("../../../migrations/sqlite/0002_api_endpoints.sql"),
    ),
    (
        3,
        "log entries",
        include_str!("../../../migrations/sqlite/0003_log_entries.sql"),
    ),
    (
        4,
        "document tables",
        include_str!("../../../migrations/sqlite/0004_document_tables.sql"),
    ),
    (
        5,
        "artifacts tags facts evidence",
        include_str!("../../../migrations/sqlite/0005_artifacts_tags_facts.sql"),
    ),
    (
        6,
        "mirror outbox",
        include_str!("../../../migrations/sqlite/0006_mirror_outbox.sql"),
    ),
    (
        7,
        "jobs api keys chunk log spans",
        include_str!("../../../migrations/sqlite/0007_jobs_api_keys.sql"),
    ),
    (
        8,
        "staged embeddings",
        include_str!("../../../migrations/sqlite/0008_staged_embeddings.sql"),
    ),
];

pub(crate) fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}
