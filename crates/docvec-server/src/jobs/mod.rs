//! Jobs: uploads (a parent with a child per file) and rebuilds (a parent with a child per phase), run
//! one at a time in the background so writes never race each other, with their state and progress kept
//! in SQLite (they outlive restarts) and every change broadcast to the clients following
//! `/jobs/{id}/events`. Uploads and rebuilds can be cancelled: a queued one never starts, a running one
//! stops at its next safe point (see `cancel.rs`).

mod cancel;
mod rebuild;

pub(crate) use cancel::CancelError;
pub(crate) use rebuild::{label as phase_label, phases as rebuild_phases};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use docvec_engine::{Engine, FileOutcome, IngestEvent, IngestOptions, RebuildOptions, Store};

use crate::state::AppState;
use crate::store::{JobRow, get_job, now_ms, put_job};

/// What a queued job does.
pub(crate) enum Work {
    Ingest {
        /// Folder the upload was written to; its files move into the uploads folder when the job runs.
        staging: PathBuf,
        /// Child job id and file name, per file.
        files: Vec<(String, String)>,
        /// Metadata sidecars (`NAME.meta.json`) moved into place with the files.
        sidecars: Vec<String>,
        tags: Vec<String>,
        meta: docvec_engine::Metadata,
        force: bool,
    },
    Rebuild {
        opts: RebuildOptions,
        /// Child job id and engine phase, per phase, in order.
        phases: Vec<(String, &'static str)>,
    },
    /// A bundle of the data directory written to this new folder (`docvec export`).
    Snapshot(PathBuf),
}

pub(crate) struct Queued {
    pub id: String,
    pub work: Work,
}

#[derive(Clone)]
pub(crate) struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    events: broadcast::Sender<JobRow>,
    queue: mpsc::UnboundedSender<Queued>,
    /// Set at shutdown: no new jobs, and the running one stops.
    shutdown: AtomicBool,
    /// The running job (one runs at a time) and the flag that stops it.
    running: Mutex<Option<(String, Arc<AtomicBool>)>>,
    /// Held while a job moves from queued to running or is cancelled, so the two never cross: a
    /// cancelled job never starts, and a started one is stopped by its flag.
    transition: tokio::sync::Mutex<()>,
    /// Rows whose last save failed (a full disk): what `/jobs` answers for them until a save goes
    /// through, so a job that finished is never reported running.
    unsaved: Mutex<HashMap<String, JobRow>>,
}

pub(crate) fn is_terminal(state: &str) -> bool {
    matches!(state, "succeeded" | "failed" | "cancelled")
}

impl Jobs {
    pub(crate) fn new(store: Store) -> (Self, mpsc::UnboundedReceiver<Queued>) {
        let (queue, rx) = mpsc::unbounded_channel();
        let jobs = Self {
            inner: Arc::new(Inner {
                store,
                events: broadcast::channel(1024).0,
                queue,
                shutdown: AtomicBool::new(false),
                running: Mutex::new(None),
                transition: tokio::sync::Mutex::new(()),
                unsaved: Mutex::new(HashMap::new()),
            }),
        };
        (jobs, rx)
    }

    /// A new job row, stored and announced.
    pub(crate) async fn create(
        &self,
        kind: &str,
        label: &str,
        params: serde_json::Value,
        parent: Option<&str>,
        total: i64,
    ) -> Result<JobRow, docvec_engine::EngineError> {
        let job = JobRow {
            id: format!("job_{}", crate::auth::random_hex(8)?),
            kind: kind.into(),
            state: "queued".into(),
            parent_id: parent.map(String::from),
            label: label.into(),
            done: 0,
            total,
            params,
            result: None,
            error: None,
            created_at: now_ms(),
            started_at: None,
            finished_at: None,
        };
        self.save(&job).await;
        Ok(job)
    }

    /// Store a job's new state and tell the followers. A store failure is logged: progress reporting
    /// must not fail the work it reports on.
    pub(crate) async fn save(&self, job: &JobRow) {
        match put_job(&self.inner.store, job).await {
            Ok(()) => {
                self.unsaved().remove(&job.id);
                self.save_unsaved().await;
            }
            Err(e) => {
                tracing::warn!("cannot record job {}: {e}", job.id);
                self.unsaved().insert(job.id.clone(), job.clone());
            }
        }
        let _ = self.inner.events.send(job.clone());
    }

    /// Rows a full disk kept from being saved, saved now that a write went through.
    async fn save_unsaved(&self) {
        let pending: Vec<JobRow> = self.unsaved().values().cloned().collect();
        for row in pending {
            if put_job(&self.inner.store, &row).await.is_ok() {
                self.unsaved().remove(&row.id);
            }
        }
    }

    fn unsaved(&self) -> std::sync::MutexGuard<'_, HashMap<String, JobRow>> {
        self.inner
            .unsaved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `row` as the server last knew it: the stored row, or a newer one a full disk kept unsaved.
    pub(crate) fn latest(&self, row: JobRow) -> JobRow {
        self.unsaved().get(&row.id).cloned().unwrap_or(row)
    }

    pub(crate) fn enqueue(&self, queued: Queued) -> Result<(), crate::error::ApiError> {
        if self.inner.shutdown.load(Ordering::Relaxed) {
            return Err(crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "docvec is shutting down and takes no new jobs",
            ));
        }
        self.inner
            .queue
            .send(queued)
            .map_err(|_| crate::error::ApiError::internal("the job runner has stopped"))
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<JobRow> {
        self.inner.events.subscribe()
    }

    /// Shutting down: take no new jobs and stop the running one.
    pub(crate) fn cancel(&self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        if let Some((_, flag)) = &*self.running() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Option<(String, Arc<AtomicBool>)>> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Move a queued job to running and hand back the flag that stops it; `None` when it is no
    /// longer queued (cancelled meanwhile) or gone.
    async fn start(&self, id: &str) -> Option<(JobRow, Arc<AtomicBool>)> {
        let _one = self.inner.transition.lock().await;
        let mut job = get_job(&self.inner.store, id).await.ok().flatten()?;
        if job.state != "queued" {
            return None;
        }
        job.state = "running".into();
        job.started_at = Some(now_ms());
        self.save(&job).await;
        let flag = Arc::new(AtomicBool::new(self.inner.shutdown.load(Ordering::SeqCst)));
        *self.running() = Some((id.to_string(), flag.clone()));
        Some((job, flag))
    }

    /// Record a job's end: `cancelled` when its flag was set and it did not succeed.
    async fn finish(
        &self,
        job: &mut JobRow,
        result: Result<serde_json::Value, String>,
        cancelled: &AtomicBool,
    ) {
        job.finished_at = Some(now_ms());
        match result {
            Ok(v) => {
                job.state = "succeeded".into();
                job.result = Some(v);
            }
            Err(e) => {
                job.state = if cancelled.load(Ordering::Relaxed) {
                    "cancelled".into()
                } else {
                    "failed".into()
                };
                job.error = Some(e);
            }
        }
        self.save(job).await;
        let mut running = self.running();
        if running.as_ref().is_some_and(|(id, _)| *id == job.id) {
            *running = None;
        }
    }
}

/// Run queued jobs one after another until shutdown; jobs still queued then are marked cancelled.
pub(crate) async fn run(state: AppState, mut rx: mpsc::UnboundedReceiver<Queued>) {
    let mut stop = state.shutting_down();
    loop {
        let queued = tokio::select! {
            q = rx.recv() => match q { Some(q) => q, None => break },
            _ = stop.wait_for(|s| *s) => break,
        };
        let Ok(engine) = state.engine() else { break };
        let Some((mut job, stop)) = state.jobs().start(&queued.id).await else {
            // Cancelled while queued: `cancel.rs` recorded it and its children.
            if let Work::Ingest { staging, .. } = &queued.work {
                let _ = std::fs::remove_dir_all(staging);
            }
            continue;
        };
        match queued.work {
            Work::Ingest {
                staging,
                files,
                sidecars,
                tags,
                meta,
                force,
            } => {
                let opts = IngestOptions {
                    tags,
                    meta,
                    force,
                    cancel: Some(stop.clone()),
                    ..Default::default()
                };
                run_ingest(&state, &engine, job, &staging, files, &sidecars, opts).await
            }
            Work::Rebuild { opts, phases } => {
                rebuild::run(&state, &engine, job, opts, phases, stop).await
            }
            Work::Snapshot(out) => {
                let result = engine
                    .export_bundle(&out)
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default())
                    .map_err(|e| e.to_string());
                state.jobs().finish(&mut job, result, &stop).await;
            }
        }
    }
    rx.close();
    while let Ok(q) = rx.try_recv() {
        for id in std::iter::once(q.id.clone()).chain(children(&q.work)) {
            if let Ok(Some(mut job)) = get_job(state.store(), &id).await {
                job.state = "cancelled".into();
                job.error = Some("not started: docvec shut down first".into());
                job.finished_at = Some(now_ms());
                state.jobs().save(&job).await;
            }
        }
    }
}

fn children(work: &Work) -> Vec<String> {
    match work {
        Work::Ingest { files, .. } => files.iter().map(|(id, _)| id.clone()).collect(),
        Work::Rebuild { phases, .. } => phases.iter().map(|(id, _)| id.clone()).collect(),
        Work::Snapshot(_) => Vec::new(),
    }
}

async fn run_ingest(
    state: &AppState,
    engine: &Engine,
    mut parent: JobRow,
    staging: &Path,
    files: Vec<(String, String)>,
    sidecars: &[String],
    opts: IngestOptions,
) {
    let jobs = state.jobs();
    let uploads = engine.layout().uploads();
    // Sidecars first, so each file finds its own when it is read.
    for name in sidecars {
        if let Err(e) = std::fs::rename(staging.join(name), uploads.join(name)) {
            tracing::warn!("{name}: cannot move the metadata sidecar into place: {e}");
        }
    }
    let mut by_name: HashMap<String, JobRow> = HashMap::new();
    let mut paths = Vec::new();
    for (child_id, name) in &files {
        let Ok(Some(mut child)) = get_job(state.store(), child_id).await else {
            continue;
        };
        let target = uploads.join(name);
        match std::fs::rename(staging.join(name), &target) {
            Ok(()) => {
                child.state = "running".into();
                child.started_at = Some(now_ms());
                paths.push(target);
            }
            Err(e) => {
                child.state = "failed".into();
                child.error = Some(format!("{name}: cannot move the upload into place: {e}"));
                child.finished_at = Some(now_ms());
                parent.done += 1;
            }
        }
        jobs.save(&child).await;
        by_name.insert(name.clone(), child);
    }
    let _ = std::fs::remove_dir_all(staging);

    let (tx, mut rx) = mpsc::unbounded_channel::<(PathBuf, FileOutcome)>();
    let ingest = async {
        let progress = move |e: IngestEvent<'_>| {
            if let IngestEvent::FileDone { path, outcome } = e {
                let _ = tx.send((path.to_path_buf(), outcome.clone()));
            }
        };
        engine.ingest(&paths, &opts, &progress).await
    };
    let follow = async {
        let mut failed = 0;
        while let Some((path, outcome)) = rx.recv().await {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(child) = by_name.get_mut(&name) else {
                continue;
            };
            child.done = 1;
            child.finished_at = Some(now_ms());
            match &outcome {
                FileOutcome::Failed { cause } => {
                    failed += 1;
                    child.state = if cause.starts_with("not ingested: stopped") {
                        "cancelled".into()
                    } else {
                        "failed".into()
                    };
                    child.error = Some(format!("{name}: {cause}"));
                }
                _ => child.state = "succeeded".into(),
            }
            child.result = serde_json::to_value(&outcome).ok();
            jobs.save(child).await;
            parent.done += 1;
            jobs.save(&parent).await;
        }
        failed
    };
    let (report, failed) = tokio::join!(ingest, follow);
    let result = match report {
        Ok(r) => {
            let summary = serde_json::json!({
                "added": r.count(|o| matches!(o, FileOutcome::Added { .. })),
                "updated": r.count(|o| matches!(o, FileOutcome::Updated { .. })),
                "unchanged": r.count(|o| matches!(o, FileOutcome::Unchanged { .. })),
                "failed": failed,
                "chunks_embedded": r.chunks_embedded,
                "elapsed_ms": r.elapsed.as_millis() as u64,
                "mirror": r.mirror,
            });
            if failed == 0 {
                Ok(summary)
            } else {
                parent.result = Some(summary);
                Err(format!(
                    "{failed} of {} files were not ingested; see the child jobs",
                    files.len()
                ))
            }
        }
        Err(e) => Err(e.to_string()),
    };
    // Children the ingest never reported on share the parent's fate.
    for child in by_name
        .values_mut()
        .filter(|c| !crate::jobs::is_terminal(&c.state))
    {
        child.state = "failed".into();
        child.error = Some(match &result {
            Err(e) => e.clone(),
            Ok(_) => "the ingest did not report on this file".into(),
        });
        child.finished_at = Some(now_ms());
        jobs.save(child).await;
    }
    let stop = opts.cancel.clone().unwrap_or_default();
    jobs.finish(&mut parent, result, &stop).await;
}
