//! The data directory's format (the store's last applied migration): an older store is migrated in
//! place by a read-write open, keeping its rows; a newer one is refused, read-write or read-only, with
//! both versions named and the file left as it was.

use std::path::Path;

use docvec_store::{FORMAT_VERSION, Store, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// A plain connection to the database, as another tool (or a newer docvec) would make.
async fn raw(path: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

async fn recorded(path: &Path) -> i64 {
    let pool = raw(path).await;
    let v: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    v
}

#[tokio::test]
async fn a_store_of_an_older_format_is_migrated_in_place_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docvec.db");
    let store = Store::open(&path).await.unwrap();
    store.set_meta("model_id", "m").await.unwrap();
    store.close().await;
    assert_eq!(recorded(&path).await, FORMAT_VERSION);

    // As the docvec before the last migration left it: without that migration's index or its row.
    let pool = raw(&path).await;
    sqlx::query("DROP INDEX search_chunks_input_hash")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ?")
        .bind(FORMAT_VERSION)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(recorded(&path).await, FORMAT_VERSION - 1);

    let store = Store::open(&path).await.unwrap();
    assert_eq!(
        store.get_meta("model_id").await.unwrap().as_deref(),
        Some("m")
    );
    let indexes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'search_chunks_input_hash'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(indexes, 1, "the migrated index is there");
    store.close().await;
    assert_eq!(recorded(&path).await, FORMAT_VERSION);
    // Read-only, it is now this docvec's format.
    Store::open_read_only(&path).await.unwrap().close().await;
}

#[tokio::test]
async fn a_store_of_a_newer_format_is_refused_read_write_and_read_only_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docvec.db");
    let store = Store::open(&path).await.unwrap();
    store.set_meta("model_id", "m").await.unwrap();
    store.close().await;
    let newer = FORMAT_VERSION + 1;
    let pool = raw(&path).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (?, 'from a newer docvec', 1, x'00', 0)",
    )
    .bind(newer)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let before = std::fs::read(&path).unwrap();

    for read_only in [false, true] {
        let opened = if read_only {
            Store::open_read_only(&path).await
        } else {
            Store::open(&path).await
        };
        let err = opened.err().expect("a newer format is refused");
        match &err {
            StoreError::SchemaNewer { found, current, .. } => {
                assert_eq!((*found, *current), (newer, FORMAT_VERSION));
            }
            other => panic!("read_only={read_only}: {other:?}"),
        }
        let message = err.to_string();
        for part in [
            format!("format {newer}"),
            format!("up to format {FORMAT_VERSION}"),
            "upgrade docvec".to_string(),
            path.display().to_string(),
        ] {
            assert!(message.contains(&part), "{part:?} missing: {message}");
        }
        assert!(
            std::fs::read(&path).unwrap() == before,
            "read_only={read_only}: the refused store changed"
        );
    }
    assert_eq!(recorded(&path).await, newer);
}
