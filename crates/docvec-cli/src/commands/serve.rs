//! `docvec serve` and `docvec keys`.

use std::process::ExitCode;

use clap::Subcommand;

use docvec_engine::{Config, DataDir, Store};
use docvec_server::store::{list_api_keys, revoke_api_key};
use docvec_server::{Role, ServerConfig, create_key};

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

/// `docvec serve`: `bind` and `read_only` (the flags) override `[server]` and its variables.
pub(crate) async fn serve(
    config: Config,
    mut settings: ServerConfig,
    bind: Option<String>,
    read_only: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(b) = bind {
        settings.bind = b;
    }
    if read_only {
        settings.read_only = true;
    }
    let read_only = settings.read_only;
    let server = docvec_server::start(config, settings).await?;
    eprintln!(
        "docvec serving on http://{} ({}Ctrl-C stops)",
        server.addr(),
        if read_only { "read-only; " } else { "" }
    );
    // Scripts and supervisors wait for this line rather than polling /readyz.
    server
        .run_until_signal(|| eprintln!("docvec ready"))
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// `docvec keys`.
pub(crate) async fn keys(config: Config, action: KeysAction) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::open(&DataDir::new(&config.data_dir).store()).await?;
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
            let keys = list_api_keys(&store).await?;
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
            if revoke_api_key(&store, &id).await? {
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
