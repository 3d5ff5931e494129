//! `docvec serve`, `docvec keys` and `docvec eval`.

use std::process::ExitCode;

use clap::Subcommand;
use std::path::{Path, PathBuf};

use docvec_engine::{Access, Collection, Config, Engine, SearchMode, Store};
use docvec_server::{Role, create_key};

#[derive(Subcommand)]
pub enum KeysAction {
    /// Make a key and print it; it is shown this once (only its hash is stored).
    Create {
        /// read (search and read), write (also ingest and delete), admin (also rebuild and manage keys).
        #[arg(long)]
        role: Role,
        /// A name to recognise the key by.
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List keys (ids, roles, names, when made, last used, revoked).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id.
    Revoke { id: String },
}

pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let server = docvec_server::start(config).await?;
    eprintln!("docvec serving on http://{} (Ctrl-C stops)", server.addr());
    // Scripts and supervisors wait for this line rather than polling /readyz.
    server
        .run_until_signal(|| eprintln!("docvec ready"))
        .await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn keys(config: Config, action: KeysAction) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::open(&config.data_dir.join("docvec.db")).await?;
    let code = match action {
        KeysAction::Create { role, name, json } => {
            let key = create_key(&store, role, &name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&key)?);
            } else {
                println!("{}", key.key);
                eprintln!(
                    "made {} key {} - keep it now, it is not shown again",
                    role.as_str(),
                    key.id
                );
            }
            ExitCode::SUCCESS
        }
        KeysAction::List { json } => {
            let keys = store.list_api_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                for k in &keys {
                    println!(
                        "{}  {:<5}  {}{}",
                        k.id,
                        k.role,
                        if k.name.is_empty() { "-" } else { &k.name },
                        if k.revoked_at.is_some() {
                            "  (revoked)"
                        } else {
                            ""
                        }
                    );
                }
                if keys.is_empty() {
                    eprintln!(
                        "no API keys: `docvec serve` is open to local users and binds loopback only"
                    );
                }
            }
            ExitCode::SUCCESS
        }
        KeysAction::Revoke { id } => {
            if store.revoke_api_key(&id).await? {
                eprintln!("revoked {id}");
                ExitCode::SUCCESS
            } else {
                eprintln!("error: no live key `{id}`");
                ExitCode::FAILURE
            }
        }
    };
    store.close().await;
    Ok(code)
}

pub async fn eval(
    mut config: Config,
    corpus: &Path,
    queries: &Path,
    qrels: &Path,
    modes: Vec<SearchMode>,
    keep: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let collection = Collection::load(corpus, queries, qrels)?;
    let dir = match &keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("docvec-eval-{}", std::process::id())),
    };
    if dir.exists() && keep.is_none() {
        std::fs::remove_dir_all(&dir)?;
    }
    config.data_dir = dir.join("data");
    let modes = if modes.is_empty() {
        vec![SearchMode::Hybrid]
    } else {
        modes
    };
    eprintln!(
        "ingesting {} documents into {} ...",
        collection.documents.len(),
        config.data_dir.display()
    );
    let engine = Engine::open(config, Access::ReadWrite).await?;
    let mut reports = Vec::new();
    for (i, mode) in modes.iter().enumerate() {
        // The first evaluation ingests; later ones find every file unchanged.
        let report = engine
            .evaluate(&collection, &dir.join("corpus"), *mode)
            .await?;
        if i == 0 {
            eprintln!("ingested in {:.1}s", report.ingest_seconds);
        }
        reports.push(report);
    }
    engine.close().await?;
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if json {
        if reports.len() == 1 {
            println!("{}", serde_json::to_string_pretty(&reports[0])?);
        } else {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        }
    } else {
        println!(
            "mode     nDCG@10  recall@100  MRR@10  p50 ms  p95 ms  p99 ms  ({} queries, {} documents)",
            reports[0].queries, reports[0].documents
        );
        for r in &reports {
            println!(
                "{:<8} {:>7.4}  {:>10.4}  {:>6.4}  {:>6.1}  {:>6.1}  {:>6.1}",
                format!("{:?}", r.mode).to_lowercase(),
                r.ndcg_10,
                r.recall_100,
                r.mrr_10,
                r.latency_ms_p50,
                r.latency_ms_p95,
                r.latency_ms_p99
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
