//! Cancelling a job (`POST /jobs/{id}/cancel`): a queued upload or rebuild is marked cancelled with its
//! children and never starts; a running one has its flag set and stops at the engine's next safe point
//! (an ingest between files, a rebuild between pages, leaving the serving index in place), and its job
//! ends `cancelled`. Snapshots are not cancellable, and a child is cancelled through its parent.

use std::sync::atomic::Ordering;

use crate::jobs::{Jobs, is_terminal};
use crate::store::{JobFilter, JobRow, get_job, list_jobs, now_ms};

#[derive(Debug, thiserror::Error)]
pub(crate) enum CancelError {
    #[error("no job `{0}`")]
    NotFound(String),
    /// Finished already, or not a kind that can be cancelled: said why.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Store(#[from] docvec_engine::StoreError),
}

impl Jobs {
    /// Cancel job `id`: the job as it stands after the request (`cancelled` when it was queued,
    /// still `running` when its work is stopping).
    pub(crate) async fn cancel_job(&self, id: &str) -> Result<JobRow, CancelError> {
        let _one = self.inner.transition.lock().await;
        let mut job = get_job(&self.inner.store, id)
            .await?
            .ok_or_else(|| CancelError::NotFound(id.to_string()))?;
        if let Some(parent) = &job.parent_id {
            return Err(CancelError::Refused(format!(
                "job `{id}` is part of job `{parent}`; cancel that one"
            )));
        }
        if !matches!(job.kind.as_str(), "ingest" | "rebuild") {
            return Err(CancelError::Refused(format!(
                "a {} job cannot be cancelled; only uploads and rebuilds can",
                job.kind
            )));
        }
        if is_terminal(&job.state) {
            return Err(CancelError::Refused(format!(
                "job `{id}` has already finished ({})",
                job.state
            )));
        }
        if job.state == "queued" {
            let reason = "cancelled before it started";
            for mut child in self.children(id).await? {
                mark_cancelled(&mut child, reason);
                self.save(&child).await;
            }
            mark_cancelled(&mut job, reason);
            self.save(&job).await;
            return Ok(job);
        }
        if let Some((running, flag)) = &*self.running()
            && running == id
        {
            flag.store(true, Ordering::SeqCst);
        }
        Ok(job)
    }

    async fn children(&self, id: &str) -> Result<Vec<JobRow>, CancelError> {
        Ok(list_jobs(
            &self.inner.store,
            &JobFilter {
                parent: Some(id.to_string()),
                limit: 10_000,
                ..Default::default()
            },
        )
        .await?)
    }
}

fn mark_cancelled(job: &mut JobRow, reason: &str) {
    job.state = "cancelled".into();
    job.error = Some(reason.into());
    job.finished_at = Some(now_ms());
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    async fn jobs() -> (tempfile::TempDir, Jobs) {
        let dir = tempfile::tempdir().unwrap();
        let store = docvec_engine::Store::open(&dir.path().join("docvec.db"))
            .await
            .unwrap();
        (dir, Jobs::new(store).0)
    }

    async fn rebuild_with_phases(jobs: &Jobs) -> (JobRow, Vec<JobRow>) {
        let parent = jobs
            .create("rebuild", "rebuild", serde_json::json!({}), None, 0)
            .await
            .unwrap();
        let mut children = Vec::new();
        for phase in ["index", "text"] {
            let label = crate::jobs::phase_label(phase);
            let child = jobs
                .create(
                    "rebuild_phase",
                    &label,
                    serde_json::json!({}),
                    Some(&parent.id),
                    0,
                )
                .await
                .unwrap();
            children.push(child);
        }
        (parent, children)
    }

    #[tokio::test]
    async fn a_queued_rebuild_is_cancelled_with_its_phases_and_never_starts() {
        let (_dir, jobs) = jobs().await;
        let (parent, children) = rebuild_with_phases(&jobs).await;
        let job = jobs.cancel_job(&parent.id).await.unwrap();
        assert_eq!(job.state, "cancelled");
        assert!(job.finished_at.is_some());
        for child in &children {
            let now = get_job(&jobs.inner.store, &child.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(now.state, "cancelled", "{now:?}");
        }
        assert!(
            jobs.start(&parent.id).await.is_none(),
            "a cancelled job never runs"
        );
        // Cancelling again is refused: it has finished.
        assert!(matches!(
            jobs.cancel_job(&parent.id).await,
            Err(CancelError::Refused(_))
        ));
    }

    #[tokio::test]
    async fn a_running_upload_is_told_to_stop_and_ends_cancelled() {
        let (_dir, jobs) = jobs().await;
        let upload = jobs
            .create("ingest", "upload", serde_json::json!({}), None, 1)
            .await
            .unwrap();
        let (mut job, stop) = jobs.start(&upload.id).await.unwrap();
        assert!(!stop.load(Ordering::SeqCst));
        let answered = jobs.cancel_job(&upload.id).await.unwrap();
        assert_eq!(answered.state, "running", "it stops at its next safe point");
        assert!(stop.load(Ordering::SeqCst));
        jobs.finish(&mut job, Err("stopped".into()), &stop).await;
        let now = get_job(&jobs.inner.store, &upload.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.state, "cancelled");
        // Another job's flag is untouched by it.
        let other = jobs
            .create("ingest", "upload", serde_json::json!({}), None, 1)
            .await
            .unwrap();
        let (mut other_job, other_stop) = jobs.start(&other.id).await.unwrap();
        assert!(!other_stop.load(Ordering::SeqCst));
        jobs.finish(
            &mut other_job,
            Err("broken".into()),
            &AtomicBool::new(false),
        )
        .await;
        let now = get_job(&jobs.inner.store, &other.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.state, "failed");
    }

    #[tokio::test]
    async fn what_cannot_be_cancelled_is_refused_with_the_reason() {
        let (_dir, jobs) = jobs().await;
        assert!(matches!(
            jobs.cancel_job("job_nope").await,
            Err(CancelError::NotFound(_))
        ));
        let snapshot = jobs
            .create("snapshot", "snapshot", serde_json::json!({}), None, 0)
            .await
            .unwrap();
        let why = jobs.cancel_job(&snapshot.id).await.unwrap_err().to_string();
        assert!(why.contains("snapshot job cannot be cancelled"), "{why}");
        let (parent, children) = rebuild_with_phases(&jobs).await;
        let why = jobs
            .cancel_job(&children[0].id)
            .await
            .unwrap_err()
            .to_string();
        assert!(why.contains(&parent.id), "{why}");
    }
}
