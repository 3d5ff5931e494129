//! The server's rows in the store's SQLite, without a server: keys by hash with revocation, jobs with
//! their filters, pages, counts and the restart rule. No model needed.

use serde_json::json;

use docvec_engine::Store;
use docvec_server::store::{
    JobFilter, JobRow, check_api_key, create_api_key, fail_interrupted_jobs, get_job, job_counts,
    list_api_keys, list_jobs, put_job, revoke_api_key,
};

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("docvec.db")).await.unwrap();
    (dir, store)
}

fn job(id: &str, state: &str, parent: Option<&str>, created_at: i64) -> JobRow {
    JobRow {
        id: id.into(),
        kind: if parent.is_some() {
            "ingest_file"
        } else {
            "ingest"
        }
        .into(),
        state: state.into(),
        parent_id: parent.map(String::from),
        label: id.into(),
        done: 0,
        total: 1,
        params: json!({"tags": ["t"]}),
        result: None,
        error: None,
        created_at,
        started_at: None,
        finished_at: None,
    }
}

#[tokio::test]
async fn keys_are_found_by_hash_until_revoked() {
    let (_dir, store) = open().await;
    assert_eq!(check_api_key(&store, None).await.unwrap(), (0, None));
    create_api_key(&store, "key_a", "ops", "admin", "hash-a")
        .await
        .unwrap();
    create_api_key(&store, "key_r", "", "read", "hash-r")
        .await
        .unwrap();
    assert_eq!(
        check_api_key(&store, Some("hash-r")).await.unwrap(),
        (2, Some("read".into()))
    );
    assert_eq!(
        check_api_key(&store, Some("nope")).await.unwrap(),
        (2, None)
    );
    // A role the schema does not know is refused by its CHECK, and a hash is never stored twice.
    assert!(
        create_api_key(&store, "key_x", "", "root", "hash-x")
            .await
            .is_err()
    );
    assert!(
        create_api_key(&store, "key_y", "", "read", "hash-a")
            .await
            .is_err()
    );

    assert!(revoke_api_key(&store, "key_r").await.unwrap());
    assert!(
        !revoke_api_key(&store, "key_r").await.unwrap(),
        "already revoked"
    );
    assert!(!revoke_api_key(&store, "key_none").await.unwrap());
    assert_eq!(
        check_api_key(&store, Some("hash-r")).await.unwrap(),
        (1, None)
    );
    let listed = list_api_keys(&store).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, ["key_a", "key_r"], "revoked keys are still listed");
    assert!(listed[0].revoked_at.is_none() && listed[1].revoked_at.is_some());
    assert_eq!(
        (listed[0].name.as_str(), listed[0].role.as_str()),
        ("ops", "admin")
    );
}

#[tokio::test]
async fn jobs_round_trip_and_list_by_filter_a_page_at_a_time() {
    let (_dir, store) = open().await;
    for (i, id) in ["job_1", "job_2", "job_3"].iter().enumerate() {
        put_job(&store, &job(id, "succeeded", None, 10 + i as i64))
            .await
            .unwrap();
    }
    put_job(&store, &job("job_c1", "failed", Some("job_3"), 20))
        .await
        .unwrap();
    put_job(&store, &job("job_c2", "succeeded", Some("job_3"), 21))
        .await
        .unwrap();

    // An update changes the progress and outcome, never what was asked.
    let mut changed = job("job_2", "failed", None, 99);
    changed.params = json!({});
    changed.error = Some("broke".into());
    changed.result = Some(json!({"added": 0}));
    put_job(&store, &changed).await.unwrap();
    let stored = get_job(&store, "job_2").await.unwrap().unwrap();
    assert_eq!(stored.state, "failed");
    assert_eq!(stored.error.as_deref(), Some("broke"));
    assert_eq!(stored.result, Some(json!({"added": 0})));
    assert_eq!(
        (stored.created_at, stored.params.clone()),
        (11, json!({"tags": ["t"]}))
    );
    assert_eq!(get_job(&store, "job_none").await.unwrap(), None);

    let ids = |rows: Vec<JobRow>| rows.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let top = JobFilter {
        limit: 2,
        ..Default::default()
    };
    assert_eq!(
        ids(list_jobs(&store, &top).await.unwrap()),
        ["job_3", "job_2"]
    );
    let next = JobFilter {
        before: Some("job_2".into()),
        ..top.clone()
    };
    assert_eq!(ids(list_jobs(&store, &next).await.unwrap()), ["job_1"]);
    let children = JobFilter {
        parent: Some("job_3".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        ids(list_jobs(&store, &children).await.unwrap()),
        ["job_c2", "job_c1"]
    );
    let failed = JobFilter {
        state: Some("failed".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(ids(list_jobs(&store, &failed).await.unwrap()), ["job_2"]);
    let files = JobFilter {
        kind: Some("ingest_file".into()),
        limit: 10,
        ..Default::default()
    };
    assert!(
        list_jobs(&store, &files).await.unwrap().is_empty(),
        "top-level only"
    );

    let mut counts = job_counts(&store).await.unwrap();
    counts.sort();
    assert_eq!(counts, [("failed".into(), 2), ("succeeded".into(), 3)]);
}

#[tokio::test]
async fn only_unfinished_jobs_are_marked_failed_after_a_restart() {
    let (_dir, store) = open().await;
    put_job(&store, &job("job_q", "queued", None, 1))
        .await
        .unwrap();
    put_job(&store, &job("job_r", "running", None, 2))
        .await
        .unwrap();
    put_job(&store, &job("job_s", "succeeded", None, 3))
        .await
        .unwrap();
    assert_eq!(
        fail_interrupted_jobs(&store, "interrupted").await.unwrap(),
        2
    );
    for id in ["job_q", "job_r"] {
        let j = get_job(&store, id).await.unwrap().unwrap();
        assert_eq!(
            (j.state.as_str(), j.error.as_deref()),
            ("failed", Some("interrupted"))
        );
        assert!(j.finished_at.is_some());
    }
    let done = get_job(&store, "job_s").await.unwrap().unwrap();
    assert_eq!((done.state.as_str(), done.error), ("succeeded", None));
    assert_eq!(fail_interrupted_jobs(&store, "again").await.unwrap(), 0);
}
