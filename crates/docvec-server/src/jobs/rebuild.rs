//! A rebuild as a job tree: the parent follows the whole rebuild, and each phase the engine reports
//! (embed, graph, full-text, mirror) is a child with its own progress and timings, as an upload has a
//! child per file. The phases a rebuild will run are known from its options when it is queued.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::mpsc;

use docvec_engine::{Engine, RebuildEvent, RebuildOptions};

use crate::jobs::{Jobs, is_terminal};
use crate::state::AppState;
use crate::store::{JobRow, get_job, now_ms};

/// The engine's phase names, in the order a rebuild runs them, with the label its child job carries.
const PHASES: [(&str, &str); 4] = [
    ("embed", "embed"),
    ("index", "graph"),
    ("text", "full-text"),
    ("mirror", "mirror"),
];

/// The engine phases a rebuild with `opts` runs: embedding only when it re-embeds or switches
/// models, the mirror only when it re-syncs or new vectors must reach a mirror.
pub(crate) fn phases(opts: &RebuildOptions, mirrors: bool) -> Vec<&'static str> {
    let embeds = opts.reembed || opts.model.is_some();
    PHASES
        .iter()
        .map(|(phase, _)| *phase)
        .filter(|phase| match *phase {
            "embed" => embeds,
            "mirror" => opts.resync_mirror || (embeds && mirrors),
            _ => true,
        })
        .collect()
}

/// The label of a phase's child job (`rebuild: graph`).
pub(crate) fn label(phase: &str) -> String {
    let name = PHASES
        .iter()
        .find(|(p, _)| *p == phase)
        .map_or(phase, |(_, l)| l);
    format!("rebuild: {name}")
}

pub(super) async fn run(
    state: &AppState,
    engine: &Engine,
    mut job: JobRow,
    opts: RebuildOptions,
    phases: Vec<(String, &'static str)>,
    stop: Arc<AtomicBool>,
) {
    let jobs = state.jobs();
    let mut children = Vec::new();
    for (id, phase) in &phases {
        if let Ok(Some(child)) = get_job(state.store(), id).await {
            children.push((*phase, child));
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<RebuildEvent>();
    let rebuild = async {
        let progress = move |e: RebuildEvent| {
            let _ = tx.send(e);
        };
        engine.rebuild_index(&opts, &progress, &stop).await
    };
    let follow = async {
        while let Some(e) = rx.recv().await {
            job.label = format!("rebuild: {}", e.phase);
            job.done = e.done as i64;
            job.total = e.total as i64;
            jobs.save(&job).await;
            enter_phase(jobs, &mut children, e).await;
        }
    };
    let (report, ()) = tokio::join!(rebuild, follow);
    let result = report
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .map_err(|e| e.to_string());
    close_children(jobs, &mut children, &result, &stop).await;
    jobs.finish(&mut job, result, &stop).await;
}

/// A phase's progress: the children before it are done, its own runs with the engine's counts.
async fn enter_phase(jobs: &Jobs, children: &mut [(&'static str, JobRow)], e: RebuildEvent) {
    let Some(at) = children.iter().position(|(p, _)| *p == e.phase) else {
        return;
    };
    for (_, earlier) in children[..at]
        .iter_mut()
        .filter(|(_, c)| !is_terminal(&c.state))
    {
        earlier.state = "succeeded".into();
        earlier.started_at.get_or_insert(now_ms());
        earlier.finished_at = Some(now_ms());
        jobs.save(earlier).await;
    }
    let child = &mut children[at].1;
    if child.state == "queued" {
        child.state = "running".into();
        child.started_at = Some(now_ms());
    }
    child.done = e.done as i64;
    child.total = e.total as i64;
    jobs.save(child).await;
}

/// At the end: on success every phase succeeded (one with nothing to do says so); otherwise the
/// running phase shares the parent's fate and the ones not reached were never started.
async fn close_children(
    jobs: &Jobs,
    children: &mut [(&'static str, JobRow)],
    result: &Result<serde_json::Value, String>,
    stop: &AtomicBool,
) {
    let cancelled = stop.load(std::sync::atomic::Ordering::Relaxed);
    for (_, child) in children.iter_mut().filter(|(_, c)| !is_terminal(&c.state)) {
        child.finished_at = Some(now_ms());
        match (result, child.state.as_str()) {
            (Ok(_), "running") => child.state = "succeeded".into(),
            (Ok(_), _) => {
                child.state = "succeeded".into();
                child.result = Some(serde_json::json!({"skipped": "nothing to do"}));
            }
            (Err(e), "running") => {
                child.state = if cancelled { "cancelled" } else { "failed" }.into();
                child.error = Some(e.clone());
            }
            (Err(_), _) => {
                child.state = "cancelled".into();
                child.error = Some("not started: the rebuild stopped before this phase".into());
            }
        }
        jobs.save(child).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuild_runs_the_phases_its_options_ask_for() {
        let plain = RebuildOptions::default();
        assert_eq!(phases(&plain, true), ["index", "text"]);
        let reembed = RebuildOptions {
            reembed: true,
            ..Default::default()
        };
        assert_eq!(phases(&reembed, false), ["embed", "index", "text"]);
        assert_eq!(phases(&reembed, true), ["embed", "index", "text", "mirror"]);
        let resync = RebuildOptions {
            resync_mirror: true,
            ..Default::default()
        };
        assert_eq!(phases(&resync, true), ["index", "text", "mirror"]);
        assert_eq!(label("index"), "rebuild: graph");
        assert_eq!(label("text"), "rebuild: full-text");
    }
}
