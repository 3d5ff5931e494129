//! A full disk under a mirroring data directory (issue 24): in `dual_write` each document's outbox row
//! is written in its SQLite transaction, so an ingest that runs out of room part-way must leave every
//! stored document either queued for Postgres or already there, and no row for a document that was
//! not stored; once space is freed the same ingest completes and Postgres holds exactly what SQLite
//! holds.

use std::collections::BTreeSet;

use sqlx::Connection;

use super::disk_full::{SmallDisk, consistent_check, outcomes};
use super::{assert_success, json, stdout};

/// Document ids on the remote.
async fn remote_ids(url: &str) -> BTreeSet<String> {
    let mut pg = sqlx::PgConnection::connect(url).await.unwrap();
    let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM docvec.documents")
        .fetch_all(&mut pg)
        .await
        .unwrap();
    pg.close().await.unwrap();
    ids.into_iter().map(|(id,)| id).collect()
}

/// Stored document ids and the ids the outbox names, read from a copy of the data directory's
/// database (taken from outside the mount namespace, so the copy needs no room on the full disk).
async fn local_ids(disk: &SmallDisk) -> (BTreeSet<String>, BTreeSet<String>) {
    let copy = tempfile::tempdir().unwrap();
    for name in ["docvec.db", "docvec.db-wal"] {
        let from = disk.outside(&format!("data/{name}"));
        if from.exists() {
            std::fs::copy(&from, copy.path().join(name)).unwrap();
        }
    }
    let url = format!("sqlite://{}", copy.path().join("docvec.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let documents = ids(&mut db, "SELECT id FROM documents").await;
    let outbox = ids(
        &mut db,
        "SELECT document_id FROM mirror_outbox WHERE op = 'put'",
    )
    .await;
    db.close().await.unwrap();
    (documents, outbox)
}

async fn ids(db: &mut sqlx::SqliteConnection, sql: &'static str) -> BTreeSet<String> {
    let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(db).await.unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

#[test]
fn a_mirrored_ingest_on_a_full_disk_queues_exactly_the_stored_documents_and_drains_once_space_is_freed()
 {
    let Some(corpus) = docvec_testkit::corpus(&["docs/sqlite-html"]) else {
        return;
    };
    let Some(server) = docvec_testkit::require_database() else {
        return;
    };
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(docvec_testkit::fresh_database(&server, "docvec_full"));
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("DOCVEC_STORAGE_MODE", "dual_write"),
    ];
    let docvec = |args: &[&str]| disk.docvec_with(args, &env);
    let docs = corpus.join("docs/sqlite-html");
    let docs = docs.to_str().unwrap();

    // With room: the samples reach Postgres.
    assert_success(&docvec(&["migrate"]));
    let samples = docvec_testkit::samples_dir();
    assert_success(&docvec(&["ingest", samples.to_str().unwrap()]));
    assert_eq!(rt.block_on(remote_ids(&url)).len(), 4);

    // Filled part-way: each file stored whole (and queued or sent) or failed naming the cause.
    disk.fill();
    let out = docvec(&["ingest", docs, "--json"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    let files = outcomes(&report);
    let added: BTreeSet<String> = files
        .values()
        .filter(|o| o["status"] == "added")
        .map(|o| o["document_id"].as_str().unwrap().to_string())
        .collect();
    for (path, outcome) in &files {
        let cause = outcome["cause"].as_str().unwrap_or_default();
        assert!(
            outcome["status"] == "added" || cause.contains("no space left on device"),
            "{path}: {outcome}"
        );
    }
    assert!(!added.is_empty() && added.len() < files.len(), "{report:#}");
    let (documents, outbox) = rt.block_on(local_ids(&disk));
    let remote = rt.block_on(remote_ids(&url));
    assert_eq!(documents.len(), 4 + added.len(), "{report:#}");
    for id in &documents {
        assert!(
            outbox.contains(id) || remote.contains(id),
            "{id} is stored but neither queued nor on the remote: {report:#}"
        );
    }
    // No outbox row for a document that is not stored, and nothing on the remote that is not local.
    assert!(outbox.is_subset(&documents), "{outbox:?} vs {documents:?}");
    assert!(remote.is_subset(&documents), "{remote:?} vs {documents:?}");
    consistent_check(&disk);

    // Space freed: the same ingest completes, the outbox drains, and both sides agree.
    disk.sh(r#"rm "$0/filler""#);
    let out = docvec(&["ingest", docs, "--json"]);
    let report = json(&out);
    assert_success(&out);
    assert_eq!(report["mirror"]["pending"], 0, "{report:#}");
    assert_success(&docvec(&["sync"]));
    let (documents, outbox) = rt.block_on(local_ids(&disk));
    assert_eq!(documents.len(), 4 + files.len());
    assert!(outbox.is_empty(), "{outbox:?}");
    assert_eq!(rt.block_on(remote_ids(&url)), documents);
    let out = docvec(&["parity", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    consistent_check(&disk);
}
