//! The HTTP search API (`docvec serve`): axum on tokio over one [`docvec_engine::Engine`].
//!
//! The server listens at once and loads the model and index in the background (`/readyz` answers 503
//! until then). Writes run as jobs, one at a time, persisted in the data directory's SQLite so they
//! outlive restarts; searches run concurrently, a bounded number embedding at once, with every CPU-heavy
//! step (embedding, HNSW, parsing) on blocking threads, never the runtime's. API keys carry a role;
//! with no key the API is open and bound to loopback only. Errors are JSON with a stable code.

pub mod auth;
mod config;
pub mod error;
mod extract;
mod jobs;
mod long_queries;
mod metrics;
pub mod openapi;
mod routes;
mod state;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use docvec_engine::{Access, Config, DataDir, Engine, EngineError, Store};

pub use auth::{NewKey, Role, create_key};
pub use config::ServerConfig;

use crate::state::{AppState, Phase};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A mistake in `[server]` or one of its `DOCVEC_*` variables; the message names it.
    #[error("{0}")]
    Config(String),
    #[error(
        "refusing to listen on {0} without an API key: anyone who can reach it could read and change \
         the data. Make a key first (`docvec keys create --role admin`), or bind 127.0.0.1"
    )]
    OpenNonLoopback(SocketAddr),
    #[error("`{0}` is not an address to listen on (expected HOST:PORT, e.g. 127.0.0.1:7700)")]
    BadAddress(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "the data directory {0} is not writable (a read-only mount, or its permissions): serve it \
         with `docvec serve --read-only` (searches and reads only), or give this user write access"
    )]
    NotWritable(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the server failed: {0}")]
    Serve(String),
}

/// A server that is listening. Stop it with [`RunningServer::stop`].
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    serve: JoinHandle<std::io::Result<()>>,
    runner: JoinHandle<()>,
    loader: JoinHandle<()>,
    /// `Some` once the engine has loaded (`Ok`) or failed to (`Err` with the cause).
    ready: watch::Receiver<Option<Result<(), String>>>,
}

/// Bind `server.bind`, start serving, and load the engine of `config` in the background. With
/// `[server] read_only` (`--read-only`) nothing is written to the data directory: it is not created,
/// the store is opened read-only, jobs and uploads left by an earlier run stay as they are, and every
/// route that changes data answers 403 `read_only`.
pub async fn start(config: Config, server: ServerConfig) -> Result<RunningServer, ServerError> {
    let bind = server.bind.clone();
    let addr: SocketAddr = tokio::net::lookup_host(&bind)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ServerError::BadAddress(bind.clone()))?;
    let data_dir = config.data_dir.clone();
    let read_only = server.read_only;
    let store = if read_only {
        Store::open_read_only(&DataDir::new(&data_dir).store())
            .await
            .map_err(|e| EngineError::opening(&data_dir, e))?
    } else {
        // An existing directory this process cannot write would fail later, less clearly.
        if data_dir.is_dir() && !docvec_engine::dir_writable(&data_dir) {
            return Err(ServerError::NotWritable(data_dir.display().to_string()));
        }
        std::fs::create_dir_all(&data_dir).map_err(|e| EngineError::Io {
            path: data_dir.display().to_string(),
            source: e,
        })?;
        Store::open(&DataDir::new(&data_dir).store())
            .await
            .map_err(|e| EngineError::opening(&data_dir, e))?
    };
    let keys_required = !addr.ip().is_loopback();
    let (live_keys, _) = store::check_api_key(&store, None)
        .await
        .map_err(EngineError::from)?;
    if keys_required && live_keys == 0 {
        return Err(ServerError::OpenNonLoopback(addr));
    }
    if !read_only {
        let interrupted = store::fail_interrupted_jobs(
            &store,
            "interrupted: docvec stopped before the job finished; start it again",
        )
        .await
        .map_err(EngineError::from)?;
        if interrupted > 0 {
            tracing::warn!(
                "{interrupted} job(s) left unfinished by the last run are marked failed"
            );
        }
        // Uploads of interrupted jobs were never ingested.
        let _ = std::fs::remove_dir_all(DataDir::new(&data_dir).staging());
    }

    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: bind.clone(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr: bind, source })?;
    let (jobs, queue) = jobs::Jobs::new(store.clone());
    let state = AppState::new(
        server,
        config.search.query_batch_size,
        store,
        jobs,
        keys_required,
    );
    if live_keys == 0 {
        tracing::warn!(
            "no API keys exist: the API is open to every user of this machine, so docvec listens on loopback only ({addr})"
        );
    }

    let (ready_tx, ready) = watch::channel(None);
    let loader = {
        let state = state.clone();
        tokio::spawn(async move {
            // Ready means ready to embed: the model is loaded before the first request needs it.
            let access = if read_only {
                Access::ReadOnly
            } else {
                Access::ReadWrite
            };
            let opened = match Engine::open(config, access).await {
                Ok(engine) => engine.warm_model().await.map(|()| engine),
                Err(e) => Err(e),
            };
            match opened {
                Ok(engine) => {
                    let line = format!(
                        "ready: {} vectors of {} ({}-d)",
                        engine.index_len(),
                        engine.model_id(),
                        engine.dimension()
                    );
                    state.set_phase(Phase::Ready(Arc::new(engine)));
                    // Logged once requests are served, so a supervisor may take the line as the signal.
                    tracing::info!("{line}");
                    ready_tx.send_replace(Some(Ok(())));
                }
                Err(e) => {
                    let msg = e.to_string();
                    tracing::error!("cannot open the engine: {msg}");
                    state.set_phase(Phase::Failed(msg.clone()));
                    ready_tx.send_replace(Some(Err(msg)));
                }
            }
        })
    };
    let runner = tokio::spawn(jobs::run(state.clone(), queue));
    let app = routes::router(state.clone());
    let mut stop = state.shutting_down();
    let serve = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    if read_only {
        tracing::info!(
            "docvec listening on http://{addr}, read-only: {} is not written to",
            data_dir.display()
        );
    } else {
        tracing::info!("docvec listening on http://{addr}");
    }
    Ok(RunningServer {
        addr,
        state,
        serve,
        runner,
        loader,
        ready,
    })
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Wait until the model and index are loaded (what `/readyz` reports), or say why they could not be.
    pub async fn wait_ready(&mut self) -> Result<(), ServerError> {
        let outcome = self
            .ready
            .wait_for(Option::is_some)
            .await
            .map_err(|_| ServerError::Serve("the engine loader stopped".into()))?
            .clone();
        match outcome {
            Some(Err(msg)) => Err(ServerError::Serve(format!("cannot open the engine: {msg}"))),
            _ => Ok(()),
        }
    }

    /// Serve until SIGINT/SIGTERM (or until the engine fails to load), then stop gracefully.
    /// `on_ready` runs once the model and index are loaded and requests are served.
    pub async fn run_until_signal(mut self, on_ready: impl FnOnce()) -> Result<(), ServerError> {
        let load_failed = tokio::select! {
            _ = shutdown_signal() => None,
            r = self.wait_ready() => match r {
                Ok(()) => { on_ready(); shutdown_signal().await; None }
                Err(e) => Some(e.to_string()),
            },
        };
        self.stop().await?;
        match load_failed {
            Some(msg) => Err(ServerError::Serve(msg)),
            None => Ok(()),
        }
    }

    /// Stop taking requests, let in-flight ones finish, stop jobs at a safe point, save the index and
    /// release the data directory.
    pub async fn stop(self) -> Result<(), ServerError> {
        tracing::info!("shutting down");
        self.state.begin_shutdown();
        let served = self.serve.await;
        let _ = self.runner.await;
        if !self.loader.is_finished() {
            // Still loading: let it finish, so the data directory is left whole.
            let _ = self.loader.await;
        }
        if let Some(engine) = self.state.take_engine() {
            // Requests finished with the graceful shutdown; anything else holding the engine lets go
            // within moments (a blocking task finishing its step).
            let mut engine = engine;
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let engine = loop {
                match Arc::try_unwrap(engine) {
                    Ok(e) => break Some(e),
                    Err(shared) if std::time::Instant::now() < deadline => {
                        engine = shared;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => {
                        // The store is the truth: the index catches up from it on the next start.
                        tracing::warn!(
                            "the engine is still in use; stopping without saving the index"
                        );
                        break None;
                    }
                }
            };
            if let Some(engine) = engine {
                engine.close().await?;
            }
        }
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServerError::Serve(e.to_string())),
            Err(e) => Err(ServerError::Serve(e.to_string())),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
